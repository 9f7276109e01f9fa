"""Message values of a Kafka source as raw records (SPEC §3: formats `json`, `csv`, `text`).

Raw means what a file reader of the same format gives the `Scan` lowering: scalar fields as strings
(converted to the schema there, so `"42"` reads exactly as `to_int("42")`), nested fields as declared.

- `json`: one JSON object per message. A batch is parsed by Polars in one go (the messages joined as
  JSON lines); only when that fails are the messages looked at one by one, so a bad one costs its
  batch a slower path, never its records.
- `csv`: one row per message, no header, fields in the order of the declared schema (required).
  Empty fields are null, as in CSV files.
- `text`: one record `{line}` per message.

A message that does not decode (bad JSON, not an object, bad UTF-8, a wrong number of CSV fields, a
value that does not fit a nested field) is a record with every field null and `RAW_ERROR` set to
`"<format>: <reason>: <excerpt>"`; the excerpt is the value as text (bytes that are not UTF-8 shown
as `\\xNN`), cut at `EXCERPT` characters. A null value (a tombstone) is a record with null fields.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import polars as pl

from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.base import inferred, raw_dtypes
from flowc.runtime.sources.feed import RAW_ERROR

EXCERPT = 1000  # characters of a bad message kept in its error


def excerpt(value: bytes) -> str:
    text = value[: EXCERPT * 4].decode("utf-8", errors="backslashreplace")
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def decode(values: Sequence[bytes | None], format: str, schema: Struct | None) -> tuple[pl.DataFrame, Struct]:
    """The raw records of `values` with a `RAW_ERROR` column, and the schema they were read with (for
    json without a declared schema: inferred from these values; the caller freezes it)."""
    if format == "text":
        return _text(values), Struct((("line", t.STRING),))
    if format == "csv":
        if schema is None:
            raise ValueError("a kafka source with format csv needs a `schema` (its messages have no header)")
        return _csv(values, schema), schema
    if format == "json":
        if schema is None:
            schema = _infer(values)
        return _json(values, schema), schema
    raise ValueError(f"unknown kafka source format {format!r} (json, csv or text)")


def _text(values: Sequence[bytes | None]) -> pl.DataFrame:
    lines: list[str | None] = []
    errors: list[str | None] = []
    for value in values:
        try:
            lines.append(None if value is None else value.decode("utf-8"))
            errors.append(None)
        except UnicodeDecodeError as error:
            lines.append(None)
            errors.append(f"text: not UTF-8 ({error.reason} at byte {error.start}): {excerpt(value)}")
    return pl.DataFrame({"line": lines, RAW_ERROR: errors}, schema={"line": pl.String, RAW_ERROR: pl.String})


def _csv(values: Sequence[bytes | None], schema: Struct) -> pl.DataFrame:
    names = [name for name, _ in schema.fields]
    columns: list[list[str | None]] = [[] for _ in names]
    errors: list[str | None] = []
    for value in values:
        row, error = _csv_row(value, len(names))
        errors.append(error)
        for column, field in zip(columns, row or [None] * len(names), strict=True):
            column.append(field if field != "" else None)
    data = {name: column for name, column in zip(names, columns, strict=True)}
    return pl.DataFrame({**data, RAW_ERROR: errors}, schema={**dict.fromkeys(names, pl.String), RAW_ERROR: pl.String})


def _csv_row(value: bytes | None, width: int) -> tuple[list[str] | None, str | None]:
    if value is None:
        return None, None
    try:
        rows = list(csv.reader(io.StringIO(value.decode("utf-8"), newline="")))
    except UnicodeDecodeError as error:
        return None, f"csv: not UTF-8 ({error.reason} at byte {error.start}): {excerpt(value)}"
    except csv.Error as error:
        return None, f"csv: {error}: {excerpt(value)}"
    if len(rows) != 1 or len(rows[0]) != width:
        found = f"{len(rows)} rows" if len(rows) != 1 else f"{len(rows[0])} fields"
        return None, f"csv: expected one row of {width} fields, found {found}: {excerpt(value)}"
    return rows[0], None


def _infer(values: Sequence[bytes | None]) -> Struct:
    """The schema of the first batch (SPEC §3: an unbounded source without `schema` is inferred from it)."""
    good = [v for v in values if v is not None and _object(v) is not None]
    if not good:
        return Struct(())
    sample = pl.read_ndjson(io.BytesIO(b"\n".join(_compact(v) for v in good)), infer_schema_length=None)
    return inferred(sample.schema)


def _json(values: Sequence[bytes | None], schema: Struct) -> pl.DataFrame:
    dtypes = raw_dtypes(schema)
    if not dtypes:  # nothing to read: Polars takes any text for an empty schema, so each value is checked
        return pl.DataFrame({RAW_ERROR: [None if v is None else _json_error(v) for v in values]},
                            schema={RAW_ERROR: pl.String})
    fast = _json_batch(values, dtypes)
    if fast is not None:
        return fast.with_columns(pl.lit(None, dtype=pl.String).alias(RAW_ERROR))
    return _json_one_by_one(values, dtypes)


def _json_batch(values: Sequence[bytes | None], dtypes: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """All of `values` parsed at once, or None when any of them needs a closer look."""
    if any(v is None or b"\n" in v or b"\r" in v or not v.strip() for v in values):
        return None
    try:
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(values)), schema=dtypes)  # type: ignore[arg-type]
    except (pl.exceptions.PolarsError, ValueError):
        return None
    return frame if frame.height == len(values) else None


def _json_one_by_one(values: Sequence[bytes | None], dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    lines: list[bytes] = []
    errors: list[str | None] = []
    for value in values:
        error = None
        if value is not None:
            error = _json_error(value)
        lines.append(b"{}" if value is None or error else _compact(value))
        errors.append(error)
    frame = _json_batch(lines, dtypes)
    if frame is None:  # some object does not fit a nested field of the schema: find which
        frames = []
        for index, line in enumerate(lines):
            one = _json_batch([line], dtypes)
            if one is None:
                errors[index] = f"json: does not fit the schema {_shown(dtypes)}: {excerpt(line)}"
                one = _json_batch([b"{}"], dtypes)
            frames.append(one)
        frame = pl.concat(frames) if frames else pl.DataFrame(schema=dtypes)
    return frame.with_columns(pl.Series(RAW_ERROR, errors, dtype=pl.String))


def _json_error(value: bytes) -> str | None:
    try:
        decoded = json.loads(value)
    except UnicodeDecodeError as error:
        return f"json: not UTF-8 ({error.reason} at byte {error.start}): {excerpt(value)}"
    except ValueError as error:
        return f"json: {error}: {excerpt(value)}"
    if not isinstance(decoded, dict):
        return f"json: expected an object, found {type(decoded).__name__}: {excerpt(value)}"
    return None


def _object(value: bytes) -> dict | None:
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _compact(value: bytes) -> bytes:
    """One JSON line (a pretty-printed message spans several)."""
    if b"\n" not in value and b"\r" not in value:
        return value
    return json.dumps(json.loads(value), separators=(",", ":")).encode()


def _shown(dtypes: dict[str, pl.DataType]) -> str:
    return "{" + ", ".join(f"{name}: {dtype}" for name, dtype in dtypes.items()) + "}"


METADATA_DTYPES: dict[str, pl.DataType] = {
    "_key": to_polars(t.STRING), "_topic": to_polars(t.STRING), "_partition": to_polars(t.INT),
    "_offset": to_polars(t.INT), "_timestamp": to_polars(t.DATETIME),
}
