"""Nested values of a source read from text (SPEC §3: datetime, date and duration inside structs and
lists), as `source_types.convert` reads a top-level field: the same texts convert, and a value that
does not is a record error naming its path (`conversion: field 'u.t': cannot convert 'x' to datetime`).

A reader whose nested values hold text where the schema has a datetime, date or duration (an inline
source: YAML has no timestamps) gives them the dtype `textual(dtype)`. Polars cannot build those
values as the declared dtype itself (`could not append value ... of type: str`), and its JSON
reader reads other texts than the language does. The values are few (records written in a spec, a
test's inputs), so they are read in Python, with the language's own readers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from flowc.compiler.lowered import Lowered
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.lib_convert import render_value, to_bool, to_float, to_int, to_string
from flowc.dsl.lib_time import ISO_REGEX, timestamp_from_parts
from flowc.dsl.record_errors import RecordError
from flowc.dsl.types import ListOf, Struct, Type
from flowc.dsl.units import duration_from_text

_TEMPORAL = (pl.Datetime, pl.Date, pl.Duration)
_HINT = " (durations are read from text such as '90s' or 'PT1M30S')"
_ISO = re.compile(ISO_REGEX)
_FROM_TEXT = {t.INT: to_int, t.FLOAT: to_float, t.BOOL: to_bool}  # as `source_types` reads a top-level field


def textual(dtype: pl.DataType) -> pl.DataType:
    """`dtype` with String where a nested datetime, date or duration is (a scalar is unchanged)."""
    if isinstance(dtype, pl.List):
        return pl.List(_text_leaves(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return _text_leaves(dtype)
    return dtype


def _text_leaves(dtype: pl.DataType) -> pl.DataType:
    if isinstance(dtype, pl.List):
        return pl.List(_text_leaves(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct([pl.Field(f.name, _text_leaves(f.dtype)) for f in dtype.fields])
    return pl.String() if isinstance(dtype, _TEMPORAL) else dtype


def reads_nested_text(raw: pl.DataType, wanted: Type) -> bool:
    """Whether column dtype `raw` is `wanted`'s nested dtype with text in place of its temporal values."""
    target = to_polars(wanted)
    return isinstance(wanted, ListOf | Struct) and raw != target and raw == textual(target)


def nested_from_text(name: str, wanted: Type) -> Lowered:
    """Column `name` (dtype `textual` of `wanted`'s) as `wanted`, each value read by `_read`."""
    return _nested_column(name, wanted, _read)


def nested_from_json(name: str, wanted: Type) -> Lowered:
    """Column `name` of text holding JSON as `wanted`: a CSV field of a list or struct, as flowc's CSV
    sink writes one (`[1,2]`, `{"x":1}`), so a file flowc wrote reads back with the values it holds.
    A text that is not JSON, or whose value does not fit (`fitted`), is a conversion error naming the
    field; the run used to fail on the first batch (`casting from Utf8View to list type`)."""
    return _nested_column(name, wanted, _from_json)


def _from_json(text: Any, type_: Type, path: str) -> tuple[Any, str | None]:
    if text is None:
        return None, None
    try:
        value = json.loads(text)
    except ValueError:
        return None, _misfit(text, type_, path)
    value, error = fitted(value, type_, path)
    return (None, error) if error is not None else _read(value, type_, path)


def nested_from_values(name: str, wanted: Type) -> Lowered:
    """Column `name`, typed but of another shape than `wanted` (a Parquet list where the schema
    declares an int, a struct of other field types), as `wanted`, each value `fitted` in Python as a
    JSON value is: a value that does not fit is a conversion error naming its path, a list or struct
    read as a string is its JSON text. Polars' casts failed the run (`cannot cast List type`) or made
    other values silently (an int cast to a struct `{x: 5}`, a struct to the string `{1,"a"}`)."""
    return _nested_column(name, wanted, _fitted_then_read)


def _fitted_then_read(value: Any, type_: Type, path: str) -> tuple[Any, str | None]:
    value, error = fitted(value, type_, path)
    return (None, error) if error is not None else _read(value, type_, path)


def _nested_column(name: str, wanted: Type, read_one: Any) -> Lowered:
    """Column `name` as `wanted`, each value read in Python by `read_one(value, type, path)`, which
    gives (value, None) or (None, its error)."""
    target = to_polars(wanted)

    def read(column: pl.Series) -> pl.Series:
        pairs = [read_one(value, wanted, name) for value in column.to_list()]
        values = pl.Series("value", [value for value, _ in pairs], dtype=target)
        return pl.DataFrame([values, pl.Series("error", [error for _, error in pairs], dtype=pl.String)]).to_struct()

    pair = pl.col(name).map_batches(read, return_dtype=pl.Struct({"value": target, "error": pl.String}),
                                    is_elementwise=True)
    return Lowered(pair.struct.field("value"), pair.struct.field("error"))


def _read(value: Any, type_: Type, path: str) -> tuple[Any, str | None]:
    """`value` (a nested value, its temporal parts text) as a value of `type_`, or (None, its error)."""
    if value is None:
        return None, None
    if isinstance(type_, Struct) and isinstance(value, Mapping):
        fields = {}
        for name, field_type in type_.fields:
            fields[name], error = _read(value.get(name), field_type, f"{path}.{name}")
            if error is not None:
                return None, error
        return fields, None
    if isinstance(type_, ListOf) and isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            read, error = _read(item, type_.item, f"{path}[{i}]")
            if error is not None:
                return None, error
            items.append(read)
        return items, None
    if type_ == t.DATETIME and isinstance(value, datetime):  # a typed (Parquet) value read in Python
        return value, None
    if type_ == t.DATE and isinstance(value, date):
        return (value.date() if isinstance(value, datetime) else value), None
    if type_ == t.DURATION and isinstance(value, timedelta):
        return value, None
    if type_ in (t.DATETIME, t.DATE):
        stamp = _timestamp(value)
        if stamp is None:
            return None, f"conversion: field '{path}': cannot convert {render_value(value)} to {type_}"
        return (stamp if type_ == t.DATETIME else stamp.date()), None
    if type_ == t.DURATION:
        micros = duration_from_text(value) if isinstance(value, str) else None
        if micros is None:
            return None, f"conversion: field '{path}': cannot convert {render_value(value)} to duration{_HINT}"
        return timedelta(microseconds=micros), None
    return value, None  # Polars built it as declared


def fitted(value: Any, type_: Type, path: str) -> tuple[Any, str | None]:
    """A nested value built from YAML or JSON (an inline record's, a watched JSON line's, an HTTP
    record's) in the shape of `type_`, each scalar read from its text as a top-level field is (`"42"`
    is the int 42; 1.5 is no int; any scalar is a string's text), temporal ones left as text for
    `nested_from_text`; or (None, `conversion: field '<path>': cannot convert <value> to <type>`).
    Without it Polars built the value with its own casts: 1.5 became 1, `"a"` a null, `"abc"` a list
    of three nulls, and a list where a struct is declared failed the run."""
    if value is None:
        return None, None
    if isinstance(type_, Struct):
        if not isinstance(value, Mapping):
            return None, _misfit(value, type_, path)
        fields = {}
        for name, field_type in type_.fields:
            fields[name], error = fitted(value.get(name), field_type, f"{path}.{name}")
            if error is not None:
                return None, error
        return fields, None
    if isinstance(type_, ListOf):
        if not isinstance(value, list):
            return None, _misfit(value, type_, path)
        items = []
        for i, item in enumerate(value):
            read, error = fitted(item, type_.item, f"{path}[{i}]")
            if error is not None:
                return None, error
            items.append(read)
        return items, None
    if type_ == t.STRING:
        return _scalar_text(value), None
    if type_ == t.FLOAT and type(value) in (int, float):  # YAML's .inf and .nan have no text to_float reads
        try:
            return float(value), None
        except OverflowError:
            return None, _misfit(value, type_, path)
    reader = _FROM_TEXT.get(type_)
    if reader is None:  # datetime, date, duration: read from their text by `nested_from_text`
        return value, None
    try:
        return reader(_scalar_text(value)), None
    except RecordError:
        return None, _misfit(value, type_, path)


def _scalar_text(value: Any) -> str:
    """A value as the text a file would hold (JSON for a list or mapping), as sources read scalars."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):  # a typed (Parquet) value: ISO-8601, as sinks write it
        return to_string(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_text)


def _json_text(value: Any) -> str:
    """A typed value inside a list or struct, as JSON text holds it (ISO-8601 for times)."""
    return to_string(value) if isinstance(value, date) else str(value)


def _misfit(value: Any, type_: Type, path: str) -> str:
    return f"conversion: field '{path}': cannot convert {render_value(_scalar_text(value))} to {type_}"


def _timestamp(value: object) -> datetime | None:
    """`value` read as the language's `parse_timestamp` reads text (ISO-8601, UTC)."""
    match = _ISO.match(value) if isinstance(value, str) else None
    return timestamp_from_parts(match.groupdict()) if match else None
