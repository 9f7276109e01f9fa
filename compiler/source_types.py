"""Reading a source's raw column as its schema type (SPEC §3): text through the language's own
conversions, so a source reads `"42"` exactly as `to_int("42")` does and fails with the same text.

A value that does not convert is a record error (`conversion: field 'qty': cannot convert 'x' to
int`), never a null in disguise: the error column is set wherever a non-null raw value gave null.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import polars as pl

from flowc.compiler.lowered import Lowered
from flowc.compiler.polars_types import to_polars
from flowc.compiler.source_durations import duration_of
from flowc.compiler.source_nested import (
    nested_from_json,
    nested_from_text,
    nested_from_values,
    reads_nested_text,
)
from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct, Type

# The function that reads each scalar type from text; `date` reads a timestamp and keeps its day.
_READERS = {t.INT: "to_int", t.FLOAT: "to_float", t.BOOL: "to_bool", t.DATETIME: "parse_timestamp",
            t.DATE: "parse_timestamp"}


def convert(name: str, raw: pl.DataType | None, wanted: Type) -> Lowered:
    """Column `name` (of dtype `raw`, None when the input lacks it) as a `wanted`."""
    return _converted(name, raw, wanted, _FAST_ONLY.get())


# Remembered: a run lowers every chunk's scan again, with the same conversions (lower_plan's `_lower_once`).
@functools.lru_cache(maxsize=4096)
def _converted(name: str, raw: pl.DataType | None, wanted: Type, fast: bool) -> Lowered:
    target = to_polars(wanted)
    if raw is None:
        return Lowered(pl.lit(None, dtype=target))
    if raw == target:
        return Lowered(pl.col(name))
    if reads_nested_text(raw, wanted):  # an inline source's nested datetime, date or duration
        nested = nested_from_text(name, wanted)
        marked = pl.when(nested.error.is_not_null()).then(pl.lit(SLOW_PATH))
        return Lowered(nested.value, marked) if _FAST_ONLY.get() else nested
    if raw == pl.String and isinstance(wanted, ListOf | Struct):  # a CSV field holding JSON, as flowc writes it
        nested = nested_from_json(name, wanted)
        marked = pl.when(nested.error.is_not_null()).then(pl.lit(SLOW_PATH))
        return Lowered(nested.value, marked) if _FAST_ONLY.get() else nested
    nested_types = isinstance(wanted, ListOf | Struct) or isinstance(raw, pl.List | pl.Struct)
    if raw != pl.Null and nested_types and not _casts_exactly(raw, target):
        nested = nested_from_values(name, wanted)  # typed values of another shape (a Parquet column)
        marked = pl.when(nested.error.is_not_null()).then(pl.lit(SLOW_PATH))
        return Lowered(nested.value, marked) if _FAST_ONLY.get() else nested
    if wanted == t.DURATION and raw != pl.Null:  # text like `90s` or `PT1M30S`; a number has no unit
        return duration_of(name, raw)
    if raw == pl.String and wanted in _READERS:
        if _FAST_ONLY.get():
            return _fast_marked(name, wanted)
        return _from_text(name, wanted)
    if wanted == t.STRING and isinstance(raw, pl.Datetime):  # a typed (Parquet) time read as text
        return _datetime_text(name, raw)
    value = pl.col(name).cast(target, strict=False)
    failed = pl.col(name).is_not_null() & value.is_null()
    message = pl.lit(f"conversion: field '{name}': cannot convert a {raw} value to {wanted}")
    return Lowered(value, pl.when(failed).then(message))


def _datetime_text(name: str, raw: pl.Datetime) -> Lowered:
    """A datetime column as the text `to_string` gives (`2026-01-01T05:00:00Z`, UTC; a zoneless one is
    UTC), as a sink writes times in ISO-8601: Polars' cast wrote `2026-01-01 05:00:00.000000+00:00`."""
    from flowc.compiler.lower_functions import POLARS_FUNCTIONS

    column = pl.col(name).dt.cast_time_unit("us")
    utc = column.dt.convert_time_zone("UTC") if raw.time_zone else column.dt.replace_time_zone("UTC")
    return Lowered(POLARS_FUNCTIONS["to_string"]((Lowered(utc),), (t.DATETIME,), t.STRING).value)


def _casts_exactly(raw: pl.DataType, target: pl.DataType) -> bool:
    """Whether Polars' cast of `raw` to `target` keeps every value: the same nesting, and leaves of one
    kind (a Parquet `List(Int32)` to `list<int>`, a struct's datetime in nanoseconds; a struct's fields
    matched by name, a missing one null). Other casts fail the run or make other values silently."""
    if isinstance(raw, pl.List) or isinstance(target, pl.List):
        return isinstance(raw, pl.List) and isinstance(target, pl.List) and _casts_exactly(raw.inner, target.inner)
    if isinstance(raw, pl.Struct) or isinstance(target, pl.Struct):
        if not (isinstance(raw, pl.Struct) and isinstance(target, pl.Struct)):
            return False
        have = {f.name: f.dtype for f in raw.fields}
        return all(f.name not in have or _casts_exactly(have[f.name], f.dtype) for f in target.fields)
    kinds = (lambda d: d.is_integer(), lambda d: d.is_float(), lambda d: isinstance(d, pl.Datetime),
             lambda d: isinstance(d, pl.Duration), lambda d: d == pl.Date, lambda d: d == pl.String,
             lambda d: d == pl.Boolean, lambda d: d == pl.Null)
    widened = raw.is_integer() and target.is_float()  # as `to_float` of an int
    return raw == pl.Null or widened or any(kind(raw) and kind(target) for kind in kinds)


def _from_text(name: str, wanted: Type) -> Lowered:
    """Text read with the language's own conversion; the error text is built only where it failed."""
    from flowc.compiler.lower_functions import POLARS_FUNCTIONS

    result = t.DATETIME if wanted == t.DATE else wanted
    general = POLARS_FUNCTIONS[_READERS[wanted]]((Lowered(pl.col(name)),), (t.STRING,), result)
    if general.error is None:
        return Lowered(general.value.dt.date() if wanted == t.DATE else general.value)
    error = pl.lit(f"conversion: field '{name}': ") + general.error.str.strip_prefix("conversion: ")
    if wanted == t.DATE:  # read as a timestamp, then cut to its day: the error names the declared type
        error = error.str.replace(" to datetime", " to date", literal=True)
    if result == t.DATETIME:
        value = _common_iso_first(name, general.value)
    elif result in _FAST:
        value = _FAST[result](pl.col(name))
    else:
        value = general.value
    failed = _failed_rows_only(name, value, error)
    return Lowered(value.dt.date() if wanted == t.DATE else value, failed)


# Polars' own casts read exactly the texts `to_int` and `to_float` read (a property test in
# tests/compiler/test_source_conversions.py checks it), without their regex check first: ~2x faster.
def _int(column: pl.Expr) -> pl.Expr:
    return column.cast(pl.Int64, strict=False)


def _float(column: pl.Expr) -> pl.Expr:
    value = column.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)  # the language has no inf or nan literals


_FAST = {t.INT: _int, t.FLOAT: _float}


# The shape nearly every timestamp in a file has: it is read by `str.to_datetime`, and only the other
# values go through `parse_timestamp`'s general (and ~100x slower) lowering. The regex admits only
# values that the general lowering reads to the same instant: years 1000-9999, hours 00-23, minutes
# and seconds 00-59 (chrono would roll a second 60 over), at most 6 fraction digits (no rounding
# question), `Z`. A day that does not exist (02-30) gives null both ways.
_COMMON_ISO = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z$"
_CHRONO_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"
# Fixed-width forms of it, which Polars reads with its own fixed-width parser instead of chrono's
# (~7x faster; the parser expects digits where the format has them: only values the regex admitted
# reach it). By length: microseconds (what flowc writes), milliseconds, whole seconds.
_FIXED_ISO = {27: "%Y-%m-%dT%H:%M:%S.%6fZ", 24: "%Y-%m-%dT%H:%M:%S.%3fZ", 20: "%Y-%m-%dT%H:%M:%SZ"}


def _common_iso(column: pl.Expr) -> pl.Expr:
    """`column`'s values in the common shape as UTC datetimes; null for the others (and for a day that
    does not exist). Each parser sees only its own values: the rest are nulls, which cost nothing."""
    common, length = column.str.contains(_COMMON_ISO), column.str.len_bytes()

    def parsed(where: pl.Expr, format_: str) -> pl.Expr:
        # no cache: a file's timestamps are nearly all distinct, and the cache is a hash per value
        return pl.when(where).then(column).str.to_datetime(format_, time_unit="us", time_zone="UTC", strict=False,
                                                          cache=False)

    fixed = [parsed(common & (length == size), format_) for size, format_ in _FIXED_ISO.items()]
    return pl.coalesce(*fixed, parsed(common & ~length.is_in(list(_FIXED_ISO)), _CHRONO_ISO))


def _common_iso_first(name: str, general: pl.Expr) -> pl.Expr:
    """`general` (parse_timestamp of column `name`) evaluated only on values not in the common shape."""
    column = pl.col(name)
    fast = _common_iso(column)
    dtype = to_polars(t.DATETIME)

    def others(strings: pl.Series) -> pl.Series:
        rest = ~strings.str.contains(_COMMON_ISO).fill_null(True)
        out = pl.Series(name, [None] * len(strings), dtype=dtype)
        if rest.any():
            out = out.scatter(rest.arg_true(), pl.DataFrame({name: strings.filter(rest)}).select(general).to_series())
        return out

    # coalesce: a common-shape value that did not parse (a day like 02-30) is null both ways
    return pl.coalesce(fast, column.map_batches(others, return_dtype=dtype, is_elementwise=True))


# Fast conversions (the runner's first attempt at a bounded source, runtime/executor.py): every value is
# read by a plain Polars cast or `str.to_datetime` inside the streaming engine, with no Python function
# in the query (a Python UDF holds the GIL: the whole query then runs on one core, ~2x the CPU and ~4x
# the wall time on W1). A value those cannot read (one that would be a record error, or a timestamp
# outside the common shape) does not get its error here: it is marked SLOW_PATH, the scan's error column
# fails the query on the mark (`slow_path_signal`), and the runner reads the rest of the source again
# the exact way (`convert` outside this context).
SLOW_PATH = "__flowc_slow_path__"
_FAST_ONLY: ContextVar[bool] = ContextVar("flowc_fast_conversions", default=False)


@contextmanager
def fast_conversions() -> Iterator[None]:
    """Text conversions lowered inside this block take the fast path (see SLOW_PATH)."""
    token = _FAST_ONLY.set(True)
    try:
        yield
    finally:
        _FAST_ONLY.reset(token)


class NeedsExactReading(Exception):
    """A fast reading met what only the exact reading judges (raised outside a Polars query, where
    SLOW_PATH cannot be: a quote character in a chunk of a CSV file read in chunks)."""


def fast_only() -> bool:
    """Whether what is built now is a fast query (inside `fast_conversions()`)."""
    return _FAST_ONLY.get()


def slow_path_signal(condition: pl.Expr) -> pl.Expr:
    """A String column that is null where `condition` is false and fails the query with SLOW_PATH in
    its message where it is true (the text does not parse as an integer). It must stay in the query's
    output, or Polars prunes it and the check never runs."""
    return pl.when(condition).then(pl.lit(SLOW_PATH)).str.to_integer(strict=True).cast(pl.String)


def _fast_marked(name: str, wanted: Type) -> Lowered:
    """`wanted` read by Polars alone; the error expression is null, or SLOW_PATH where a non-null text
    did not convert (in a fast query's scan, whose error column then fails the query)."""
    column = pl.col(name)
    if wanted in _FAST:
        value = _FAST[wanted](column)
    elif wanted in (t.DATETIME, t.DATE):
        value = _common_iso(column)
    else:  # bool: the language's own lowering is plain Polars; only its error text needs Python
        from flowc.compiler.lower_functions import POLARS_FUNCTIONS

        value = POLARS_FUNCTIONS[_READERS[wanted]]((Lowered(column),), (t.STRING,), wanted).value
    failed = column.is_not_null() & value.is_null()
    # A plain marker: the scan turns its error column into the one failing signal (`slow_path_signal`
    # in lower_plan's `_scan`), once per row for all its fields.
    return Lowered(value.dt.date() if wanted == t.DATE else value, pl.when(failed).then(pl.lit(SLOW_PATH)))


def _failed_rows_only(name: str, value: pl.Expr, error: pl.Expr) -> pl.Expr:
    """`error` evaluated only on the rows where a non-null text gave a null `value`: that is where a
    conversion fails (this module's contract), and a `when` would build the text for every row."""

    def errors(pair: pl.Series) -> pl.Series:
        strings, values = pair.struct.field(name), pair.struct.field("__value")
        failed = values.is_null() & strings.is_not_null()
        out = pl.Series("e", [None] * len(pair), dtype=pl.String)
        if failed.any():
            texts = pl.DataFrame({name: strings.filter(failed)}).select(error).to_series()
            out = out.scatter(failed.arg_true(), texts)
        return out

    return pl.struct(pl.col(name), value.alias("__value")).map_batches(errors, return_dtype=pl.String,
                                                                       is_elementwise=True)
