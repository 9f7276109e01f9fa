"""Records a feed decoded itself (JSON objects, CSV rows, text lines) made into the frame `poll` returns.

Feeds hand the `Scan` lowering what the bounded readers hand it: scalar fields as text (so `"42"` and
`42` both convert with `to_int`, and a value that does not fit is a record error quoting it), nested
fields as their declared Polars type, `ROW` numbering records, and `RAW_ERROR` holding the message of
a record that could not be decoded at all (every field null then).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from flowc.compiler.lower_plan import READER_ERROR, ROW
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.base import built_dtypes, inferred, is_scalar, nested_fitted
from flowc.runtime.sources.feed import RAW_ERROR

EXCERPT = 200  # characters of raw text quoted in an error message


@dataclass(frozen=True, slots=True)
class Item:
    """One decoded record (`record`), or one that could not be decoded (`error`), and where it was."""

    record: Mapping[str, Any] | None
    error: str | None
    where: str  # its `_source.position` text


def bad(message: str, raw: str | bytes, where: str) -> Item:
    return Item(None, f"{message}: {excerpt(raw)}", where)


def excerpt(raw: str | bytes, limit: int = EXCERPT) -> str:
    """`raw` shortened and made printable: control characters escaped, so no message carries a terminal
    escape sequence (docs/security.md promise 4)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    short = text[:limit]
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in short)
    return shown + ("…" if len(text) > limit else "")


def as_text(value: Any) -> str | None:
    """A JSON value as the text a file would hold; nested values as JSON (a scalar field holding an
    object is then a conversion error that quotes it)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def infer_schema(items: Sequence[Item], infer_rows: int) -> Struct:
    """The schema of the first `infer_rows` decoded records (SPEC §3: an unbounded source without
    `schema` is inferred from its first batch). Fields whose values disagree in type are strings."""
    sample = [dict(i.record) for i in items if i.record is not None][:infer_rows]
    if not sample:
        return Struct(())
    try:
        return inferred(pl.from_dicts(sample, infer_schema_length=None, strict=False).schema)
    except (pl.exceptions.PolarsError, TypeError, ValueError):  # some field's values have no common type
        names = dict.fromkeys(k for r in sample for k in r)
        return Struct(tuple((name, _field_type(name, [r[name] for r in sample if name in r])) for name in names))


def _field_type(name: str, values: list[Any]) -> t.Type:
    """One field's type from its sampled values; a string when they have no common type (only that
    field: the others keep theirs)."""
    try:
        return inferred(pl.from_dicts([{name: v} for v in values], infer_schema_length=None, strict=False).schema
                        ).fields[0][1]
    except (pl.exceptions.PolarsError, TypeError, ValueError, IndexError):
        return t.STRING


def frame_of(items: Sequence[Item], schema: Struct, first_row: int) -> pl.DataFrame:
    """The frame `poll` returns for `items`, numbered from `first_row`; a nested value that does not
    fit the schema is a record error in `READER_ERROR` (`base.nested_fitted`), a column present only
    when one does not."""
    nested, misfits = nested_fitted([i.record for i in items], schema)
    columns: dict[str, list[Any]] = {}
    for name, type_ in schema.fields:
        columns[name] = nested[name] if not is_scalar(type_) else [
            None if i.record is None else as_text(i.record.get(name)) for i in items]
    columns[ROW] = list(range(first_row, first_row + len(items)))
    columns[RAW_ERROR] = [i.error for i in items]
    dtypes = {**built_dtypes(schema), ROW: pl.Int64, RAW_ERROR: pl.String}
    if any(misfits):  # the column only then, as for inline records (the Scan reads it when present)
        columns[READER_ERROR], dtypes[READER_ERROR] = misfits, pl.String()
    return pl.DataFrame(columns, schema=dtypes, strict=False)


def positions_of(rows: pl.Expr, first_row: int, items: Sequence[Item]) -> pl.Expr:
    """Each row's position text, for the rows of the most recent batch (null for any other row)."""
    return rows.replace_strict(range(first_row, first_row + len(items)), [i.where for i in items],
                               default=None, return_dtype=pl.String)
