"""Normalising the steps of SPEC §4: each operator's YAML form into its typed `flowc.compiler.spec` form.

One `normalize_<operator>` per operator, each given a cursor on the operator's value and the list to
append expression syntax errors to. Shapes are guaranteed by the JSON Schema (E4xx), which runs first;
these functions still never raise on odd values, they read them as empty.
"""

from __future__ import annotations

from collections.abc import Callable

from flowc.compiler import spec as s
from flowc.compiler.spec_reader import At, read_expression, struct_from_yaml
from flowc.dsl import codes
from flowc.dsl.ast import Call
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.units import parse_duration

Problems = list[Diagnostic]


def normalize_filter(at: At, problems: Problems) -> s.Filter:
    return s.Filter(_predicate(at, problems))


def _predicate(at: At, problems: Problems) -> s.Expression:
    """A predicate left empty (`- filter:` with nothing after it) is E211, not the YAML null it
    loads as: a null predicate would drop (or reject) every record without a word."""
    span = at.span
    if at.value is None and span is not None and (span.line, span.col) == (span.end_line, span.end_col):
        problems.append(codes.diagnostic("E211", span))
    return read_expression(at, problems)


def normalize_map(at: At, problems: Problems) -> s.Map:
    return s.Map(_assignments(at, problems))


def _assignments(at: At, problems: Problems) -> tuple[s.Assignment, ...]:
    return tuple(
        s.Assignment(tuple(key.split(".")), read_expression(value, problems), value.key_span)
        for key, value in at.items()
    )


def normalize_select(at: At, problems: Problems) -> s.Select:
    if isinstance(at.value, dict):
        return s.Select(assignments=_assignments(at, problems))
    return s.Select(fields=at.names())


def normalize_drop(at: At, problems: Problems) -> s.Drop:
    return s.Drop(at.names())


def normalize_rename(at: At, problems: Problems) -> s.Rename:
    return s.Rename(tuple((value.key_name(), value.name()) for _, value in at.items()))


def normalize_explode(at: At, problems: Problems) -> s.Explode:
    if not isinstance(at.value, dict):
        return s.Explode(at.name())
    return s.Explode(
        field=(at / "field").name(),
        as_=_optional_str(at.get("as")),
        index=_optional_str(at.get("index")),
        keep_empty=at.get("keep_empty") is True,
        as_span=(at / "as").span if at.has("as") else None,
        index_span=(at / "index").span if at.has("index") else None,
    )


def normalize_validate(at: At, problems: Problems) -> s.Validate:
    return s.Validate(tuple(s.Rule(key, _predicate(value, problems)) for key, value in at.items()))


def normalize_aggregate(at: At, problems: Problems) -> s.Aggregate:
    window = normalize_window(at / "window") if at.has("window") else None
    compute = tuple(_computation(key, value, problems) for key, value in (at / "compute").items())
    return s.Aggregate(by=(at / "by").names(), window=window, compute=compute)


def _computation(name: str, at: At, problems: Problems) -> s.Computation:
    expression = read_expression(at, problems)
    expr = expression.expr
    if isinstance(expr, Call):
        return s.Computation(name, expr.name, expr.args, expression)
    return s.Computation(name, None, (), expression)


def normalize_window(at: At) -> s.Window:
    return s.Window(
        type=str(at.get("type", "tumbling")),
        size=_duration(at.get("size")),
        every=_duration(at.get("every")),
        gap=_duration(at.get("gap")),
        allowed_lateness=_duration(at.get("allowed_lateness")) or 0,
        time=(at / "time").name() if at.get("time") is not None else None,
        max_out_of_orderness=_duration(at.get("max_out_of_orderness")) or 0,
        span=at.key_span or at.span,  # the `window:` key: a block mapping's value starts a line below
        key_spans=at.value_spans(),
    )


def normalize_enrich(at: At, problems: Problems) -> s.Enrich:
    from flowc.compiler.normalize_io import file_format

    table = at / "table"
    config = {k: v for k, v in (table.value or {}).items() if k not in ("type", "format", "schema")}
    path = str(table.get("path", ""))
    schema = struct_from_yaml(table / "schema") if table.has("schema") else None
    on = at / "on"
    left, right = (on / "left", on / "right") if isinstance(on.value, dict) else (on, on)
    return s.Enrich(
        table=s.Table(str(table.get("type", "file")), path, file_format(table.get("format"), path), schema,
                      s.Config(config), table.span, table.value_spans(), table.written()),
        left_on=left.name(),
        right_on=right.name(),
        fields=(at / "fields").names(),
        how=str(at.get("how", "left")),
        reload=at.get("reload") is True,
    )


def normalize_dedupe(at: At, problems: Problems) -> s.Dedupe:
    return s.Dedupe(key=(at / "key").names(), within=_duration(at.get("within")))


def normalize_union(at: At, problems: Problems) -> s.Union:
    return s.Union()


def normalize_sql(at: At, problems: Problems) -> s.Sql:
    return s.Sql(str(at.value or ""), at.span, at.doc.scalar_maps.get(at.path))


OPERATORS: dict[str, Callable[[At, Problems], s.Operator]] = {
    "filter": normalize_filter,
    "map": normalize_map,
    "select": normalize_select,
    "drop": normalize_drop,
    "rename": normalize_rename,
    "explode": normalize_explode,
    "validate": normalize_validate,
    "aggregate": normalize_aggregate,
    "enrich": normalize_enrich,
    "dedupe": normalize_dedupe,
    "union": normalize_union,
    "sql": normalize_sql,
}


def _duration(value: object) -> int | None:
    return parse_duration(value) if isinstance(value, str) else None


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)
