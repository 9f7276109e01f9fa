"""Reading a source's raw column as its schema type (SPEC §3): text through the language's own
conversions, so a source reads `"42"` exactly as `to_int("42")` does and fails with the same text.

A value that does not convert is a record error (`conversion: field 'qty': cannot convert 'x' to
int`), never a null in disguise: the error column is set wherever a non-null raw value gave null.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from flowc.compiler.lowered import Lowered
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.types import Type

# The function that reads each scalar type from text; `date` reads a timestamp and keeps its day.
_READERS = {t.INT: "to_int", t.FLOAT: "to_float", t.BOOL: "to_bool", t.DATETIME: "parse_timestamp",
            t.DATE: "parse_timestamp"}


def convert(name: str, raw: pl.DataType | None, wanted: Type) -> Lowered:
    """Column `name` (of dtype `raw`, None when the input lacks it) as a `wanted`."""
    target = to_polars(wanted)
    if raw is None:
        return Lowered(pl.lit(None, dtype=target))
    if raw == target:
        return Lowered(pl.col(name))
    if raw == pl.String and wanted in _READERS:
        return _from_text(name, wanted)
    value = pl.col(name).cast(target, strict=False)
    failed = pl.col(name).is_not_null() & value.is_null()
    message = pl.lit(f"conversion: field '{name}': cannot convert a {raw} value to {wanted}")
    return Lowered(value, pl.when(failed).then(message))


def _from_text(name: str, wanted: Type) -> Lowered:
    """Text read with the language's own conversion. The conversion's value and error expressions are
    evaluated inside one batch function, the error only on the rows that failed: Polars evaluates both
    branches of a `when` on every row, and building "cannot convert '...'" for every good row cost more
    than the conversion itself (W1 bench: the source query 4x a hand-written one)."""
    from flowc.compiler.lower_functions import POLARS_FUNCTIONS

    result = t.DATETIME if wanted == t.DATE else wanted
    lowered = POLARS_FUNCTIONS[_READERS[wanted]]((Lowered(pl.col(name)),), (t.STRING,), result)
    if lowered.error is None:
        return Lowered(lowered.value.dt.date() if wanted == t.DATE else lowered.value)
    error = pl.lit(f"conversion: field '{name}': ") + lowered.error.str.strip_prefix("conversion: ")
    packed = _failed_rows_only(name, Lowered(lowered.value, error), to_polars(result),
                               _common_iso if result == t.DATETIME else None)
    value = packed.struct.field("v")
    return Lowered(value.dt.date() if wanted == t.DATE else value, packed.struct.field("e"))


# The shape nearly every timestamp in a file has: it is read by one `str.to_datetime` call, and only
# the other values go through `parse_timestamp`'s general (and ~100x slower) lowering. The regex
# admits only values that the general lowering reads to the same instant: years 1000-9999, hours
# 00-23, minutes and seconds 00-59 (chrono would roll a second 60 over), at most 6 fraction digits
# (no rounding question), `Z`. A day that does not exist (02-30) gives null here and goes the slow way.
_COMMON_ISO = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z$"
_CHRONO_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"


def _common_iso(strings: pl.Series) -> pl.Series:
    parsed = strings.str.to_datetime(_CHRONO_ISO, time_unit="us", time_zone="UTC", strict=False)
    return pl.select(pl.when(strings.str.contains(_COMMON_ISO)).then(parsed)).to_series()


def _failed_rows_only(name: str, general: Lowered, dtype: pl.DataType,
                      fast: Callable[[pl.Series], pl.Series] | None) -> pl.Expr:
    """A struct {v, e} of `general`'s value and error for column `name`, where the error (and, with
    `fast`, the general value too) is computed only for rows whose value came out null. That is exact
    because a conversion fails exactly where a non-null text gives null (this module's contract)."""

    def both(strings: pl.Series) -> pl.Series:
        values = fast(strings) if fast else pl.DataFrame({name: strings}).select(general.value).to_series()
        failed = values.is_null() & strings.is_not_null()
        errors = pl.Series("e", [None] * len(strings), dtype=pl.String)
        if failed.any():
            slow = pl.DataFrame({name: strings.filter(failed)}).select(v=general.value, e=general.error)
            where = failed.arg_true()
            values = values.scatter(where, slow.get_column("v"))
            errors = errors.scatter(where, slow.get_column("e"))
        return pl.struct(values.alias("v"), errors.alias("e"), eager=True)

    return pl.col(name).map_batches(both, return_dtype=pl.Struct({"v": dtype, "e": pl.String}), is_elementwise=True)
