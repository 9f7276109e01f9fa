"""The record schema after each operator: pure functions from input schemas to the output schema.

Field order is part of a schema (sinks write fields in that order): a `map` overwrites a field in its
place and appends new ones, `rename` renames in place, `explode` replaces the list field by its element
(under the `as:` name when given) and appends the `index` field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct, Type

ERROR_TYPE = Struct((("step", t.STRING), ("code", t.STRING), ("message", t.STRING)))
SOURCE_TYPE = Struct((("name", t.STRING), ("position", t.STRING)))


def with_field(schema: Struct, target: tuple[str, ...], type_: Type) -> Struct:
    """`schema` with the (dotted) `target` set to `type_`: in place when present, else appended; a dotted
    target inside a missing or non-struct field makes that field a struct."""
    head, rest = target[0], target[1:]
    if rest:
        inner = schema.field(head)
        type_ = with_field(inner if isinstance(inner, Struct) else Struct(()), rest, type_)
    if schema.field(head) is None:
        return Struct((*schema.fields, (head, type_)))
    return Struct(tuple((n, type_ if n == head else ft) for n, ft in schema.fields))


def assigned(schema: Struct, targets: Mapping[tuple[str, ...], Type]) -> Struct:
    for target, type_ in targets.items():
        schema = with_field(schema, target, type_)
    return schema


def selected(schema: Struct, fields: tuple[str, ...]) -> Struct:
    return Struct(tuple((n, schema.field(n) or t.NULL) for n in fields))


def dropped(schema: Struct, fields: tuple[str, ...]) -> Struct:
    return Struct(tuple((n, ft) for n, ft in schema.fields if n not in fields))


def renamed(schema: Struct, pairs: tuple[tuple[str, str], ...]) -> Struct:
    names = dict(pairs)
    return Struct(tuple((names.get(n, n), ft) for n, ft in schema.fields))


def exploded(schema: Struct, field: str, as_: str | None, index: str | None) -> Struct:
    listed = schema.field(field)
    item = listed.item if isinstance(listed, ListOf) else t.NULL
    fields = tuple(((as_ or n), item) if n == field else (n, ft) for n, ft in schema.fields)
    if index is not None:
        fields = (*tuple(f for f in fields if f[0] != index), (index, t.INT))
    return Struct(fields)


def united(schemas: tuple[Struct, ...]) -> Struct | None:
    """Fields aligned by name, in order of first appearance, each of the common supertype (None when
    two inputs disagree beyond repair: the checks report that before a plan is built)."""
    merged: dict[str, Type] = {}
    for schema in schemas:
        for name, type_ in schema.fields:
            if name not in merged:
                merged[name] = type_
                continue
            common = t.common_supertype(merged[name], type_)
            if common is None:
                return None
            merged[name] = common
    return Struct(tuple(merged.items()))


def queried(schema: Struct, query: str) -> Struct | None:
    """The schema a row-wise SQL query gives, found by running it on an empty frame (no data is read)."""
    return query_schema(schema, query)[0]


def query_schema(schema: Struct, query: str) -> tuple[Struct | None, str | None]:
    """`queried`'s schema, or None and the first line of Polars' reason for refusing the query (an
    unknown column, types an operator does not take, two output columns of one name)."""
    import polars as pl  # here, not at the top: only a spec with a `sql` step needs Polars to validate

    from flowc.compiler.lower_sql import queried
    from flowc.compiler.polars_types import from_polars, to_polars

    empty = pl.DataFrame(schema={n: to_polars(ft) for n, ft in schema.fields})
    try:
        out = queried(empty.lazy(), query).collect_schema()
        return Struct(tuple((name, from_polars(dtype)) for name, dtype in out.items())), None
    except Exception as error:  # any refusal of Polars' is the query's problem
        text = str(error).strip()
        return None, (_first_sentence(text.splitlines()[0]) if text else type(error).__name__)


def _first_sentence(line: str) -> str:
    """Polars' reason without the hints it appends ("It's possible that ... try renaming the columns
    with `.alias(...)`": Python API advice that a SQL query cannot follow)."""
    return re.split(r"\.\s+(?=[A-Z])", line, maxsplit=1)[0]


def enveloped(schema: Struct) -> Struct:
    """The schema of an `.errors` record: the record, then `_error` and `_source` (SPEC §6)."""
    return Struct((*dropped(schema, ("_error", "_source")).fields, ("_error", ERROR_TYPE),
                   ("_source", SOURCE_TYPE)))
