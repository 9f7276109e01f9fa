"""Each operator's output schema from its input schema (SPEC §4), checking its fields on the way.

`output_schema(step, scope)` returns the schema of the step's main output, or None when it cannot be
known (an unknown input, a `sql` step, an `enrich` table of unknown fields). A field whose expression
has a problem keeps its name with an open type, so one mistake gives one diagnostic downstream.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flowc.compiler import spec as s
from flowc.compiler.checks.aggregate_types import computation_type
from flowc.compiler.checks.enrich_table import check_table
from flowc.compiler.checks.output_names import (
    aggregate_collisions,
    explode_collisions,
    overlapping_targets,
    repeated_names,
)
from flowc.compiler.checks.scope import Scope
from flowc.compiler.checks.source_schemas import ANY
from flowc.compiler.checks.sql import sql_problems
from flowc.compiler.plan_schema import dropped, exploded, query_schema, renamed
from flowc.dsl import codes
from flowc.dsl import types as t
from flowc.dsl.span import TextRange
from flowc.dsl.types import ListOf, Struct, Type


def output_schema(step: s.Step, scope: Scope) -> Struct | None:
    rule = _RULES.get(type(step.config))
    return rule(step.config, scope) if rule is not None else None


def _filter(config: s.Filter, scope: Scope) -> Struct | None:
    scope.predicate(config.predicate, "filter")
    return scope.schema


def _validate(config: s.Validate, scope: Scope) -> Struct | None:
    for rule in config.rules:
        scope.predicate(rule.predicate, f"validate rule '{rule.name}'")
    return scope.schema


def _map(config: s.Map, scope: Scope) -> Struct | None:
    return _assign(scope.schema, config.assignments, scope, "map")


def _assign(base: Struct | None, assignments: tuple[s.Assignment, ...], scope: Scope, where: str) -> Struct | None:
    # Every expression reads the input record (SPEC §4), so all are typed against `scope`, not `base`.
    typed = [(a, scope.value(a.value, where)) for a in assignments]
    overlaps = overlapping_targets(assignments, where)
    for i, problem in overlaps.items():
        scope.report("E310", assignments[i].span, problem=problem)
    if base is None:
        return None
    for i, (assignment, type_) in enumerate(typed):
        if i in overlaps:
            continue
        updated = set_path(base, assignment.target, ANY if type_ is None else type_)
        if isinstance(updated, str):
            scope.report("E310", assignment.span, problem=updated)
        else:
            base = updated
    return base


def set_path(struct: Struct, path: tuple[str, ...], type_: Type, outer: tuple[str, ...] = ()) -> Struct | str:
    """`struct` with the (nested) field at `path` set to `type_`, or why it cannot be. `outer` is the
    path of `struct` itself inside the record, so that the reason names full paths."""
    head, rest = path[0], path[1:]
    current = struct.field(head)
    if rest:
        inner_struct = Struct(()) if current is None or current == t.NULL else current
        if not isinstance(inner_struct, Struct):
            return f"cannot set '{'.'.join((*outer, *path))}': '{'.'.join((*outer, head))}' is {current}, not a struct"
        inner = set_path(inner_struct, rest, type_, (*outer, head))
        if isinstance(inner, str):
            return inner
        type_ = inner
    if current is None:
        return Struct((*struct.fields, (head, type_)))
    return Struct(tuple((n, type_ if n == head else ft) for n, ft in struct.fields))


def _select(config: s.Select, scope: Scope) -> Struct | None:
    if config.assignments:
        return _assign(Struct(()), config.assignments, scope, "select")
    for span, problem in repeated_names(config.fields, "select"):
        scope.report("E310", span, problem=problem)
    types = [(name.name, scope.field(name, "select")) for name in config.fields]
    return None if scope.schema is None else Struct(tuple((n, ft) for n, ft in types if ft is not None))


def _drop(config: s.Drop, scope: Scope) -> Struct | None:
    scope.fields(config.fields, "drop")
    return None if scope.schema is None else dropped(scope.schema, tuple(f.name for f in config.fields))


def _rename(config: s.Rename, scope: Scope) -> Struct | None:
    scope.fields(tuple(old for old, _ in config.pairs), "rename")
    if scope.schema is None:
        return None
    result = renamed(scope.schema, tuple((old.name, new.name) for old, new in config.pairs))
    names = [n for n, _ in result.fields]
    reported: set[str] = set()
    for _, new in config.pairs:
        if names.count(new.name) > 1 and new.name not in reported:
            reported.add(new.name)
            scope.report("E310", new.span, problem=f"rename gives two fields the name '{new.name}'")
    return Struct(tuple(dict(result.fields).items()))


def _explode(config: s.Explode, scope: Scope) -> Struct | None:
    found = scope.field(config.field, "explode")
    for span, problem in explode_collisions(config, scope.schema):
        scope.report("E310", span, problem=problem)
    if found is not None and found != t.NULL and not isinstance(found, ListOf):
        scope.report("E313", config.field.span, name=config.field.name, got=found)
        return None
    if scope.schema is None or found is None:
        return None
    return exploded(scope.schema, config.field.name, config.as_, config.index)


def _aggregate(config: s.Aggregate, scope: Scope) -> Struct | None:
    for span, problem in aggregate_collisions(config):
        scope.report("E310", span, problem=problem)
    by = [(name.name, scope.field(name, "aggregate 'by'")) for name in config.by]
    window = config.window
    if window is not None and window.time is not None:
        found = scope.field(window.time, "window time")
        if found is not None and found not in (t.DATETIME, t.NULL):
            scope.report("E312", window.time.span, where="window time", name=window.time.name, got=found)
    computed = [(c.name, computation_type(c, scope)) for c in config.compute]
    if scope.schema is None:
        return None
    fields = [(n, ft) for n, ft in by if ft is not None]
    if window is not None:
        fields += [("window_start", t.DATETIME), ("window_end", t.DATETIME)]
    fields += [(n, ANY if ft is None else ft) for n, ft in computed]
    return Struct(tuple(dict(fields).items()))


def _enrich(config: s.Enrich, scope: Scope) -> Struct | None:
    check_table(config, scope, scope.field(config.left_on, "enrich 'on'"))
    if scope.schema is None:
        return None
    if config.table.schema is not None:
        # in `fields` order when listed (as the plan and the engine add them; a listed key too), else the
        # table's order without the key
        key = config.right_on.name
        names = [f.name for f in config.fields] or [n for n, _ in config.table.schema.fields if n != key]
        added = tuple((n, config.table.schema.field(n) or ANY) for n in names)
    elif config.fields:
        added = tuple((f.name, ANY) for f in config.fields)  # names known, types only once the table is read
    else:
        return None
    return Struct(tuple(dict((*scope.schema.fields, *added)).items()))


def _dedupe(config: s.Dedupe, scope: Scope) -> Struct | None:
    scope.fields(config.key, "dedupe key")
    return scope.schema


def _sql(config: s.Sql, scope: Scope) -> Struct | None:
    # Polars plans the query over an empty frame of the input's schema, but only a query that passed
    # E307: a table function such as read_csv would make Polars open a file.
    if scope.schema is None or sql_problems(config.query):
        return None
    schema, problem = query_schema(scope.schema, config.query)
    if problem is not None:  # an unknown column, a type an operator refuses, a name twice: caught here, not mid-run
        column = _UNKNOWN_COLUMN.match(problem)
        at = _word_in(config.query, column[1]) if column else None
        if column and at is not None:  # at the column's name, with a suggestion, like an expression's field
            problem = f"unknown column '{column[1]}' in the query{codes.did_you_mean(column[1], [n for n, _ in scope.schema.fields])}"
        scope.report("E307", config.locate(at or TextRange(0, len(config.query))),
                     problem=f"the query cannot run on its input: {problem}")
    return schema


_UNKNOWN_COLUMN = re.compile(r'unable to find column "([^"]+)"')


def _word_in(query: str, name: str) -> TextRange | None:
    """Where `name` first stands as a whole word in `query`, outside quotes."""
    for match in re.finditer(rf"(?<![\w.'\"]){re.escape(name)}(?![\w'\"])", query):
        if query.count("'", 0, match.start()) % 2 == 0:
            return TextRange(match.start(), match.end())
    return None


_RULES: dict[type, Callable[..., Struct | None]] = {
    s.Filter: _filter, s.Validate: _validate, s.Map: _map, s.Select: _select, s.Drop: _drop,
    s.Rename: _rename, s.Explode: _explode, s.Aggregate: _aggregate, s.Enrich: _enrich, s.Dedupe: _dedupe,
    s.Sql: _sql,
}
