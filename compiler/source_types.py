"""Reading a source's raw column as its schema type (SPEC §3): text through the language's own
conversions, so a source reads `"42"` exactly as `to_int("42")` does and fails with the same text.

A value that does not convert is a record error (`conversion: field 'qty': cannot convert 'x' to
int`), never a null in disguise: the error column is set wherever a non-null raw value gave null.
"""

from __future__ import annotations

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
    from flowc.compiler.lower_functions import POLARS_FUNCTIONS

    result = t.DATETIME if wanted == t.DATE else wanted
    lowered = POLARS_FUNCTIONS[_READERS[wanted]]((Lowered(pl.col(name)),), (t.STRING,), result)
    if result == t.DATETIME and lowered.error is not None:
        lowered = _common_iso_first(name, lowered)
    value = lowered.value.dt.date() if wanted == t.DATE else lowered.value
    if lowered.error is None:
        return Lowered(value)
    error = pl.lit(f"conversion: field '{name}': ") + lowered.error.str.strip_prefix("conversion: ")
    return Lowered(value, error)


# The shape nearly every timestamp in a file has: it is read by one `str.to_datetime` call, and only
# the other values go through `parse_timestamp`'s general (and ~100x slower) lowering. The regex
# admits only values that the general lowering reads to the same instant: years 1000-9999, hours
# 00-23, minutes and seconds 00-59 (chrono would roll a second 60 over), at most 6 fraction digits
# (no rounding question), `Z`. A day that does not exist (02-30) gives null here and goes the slow way.
_COMMON_ISO = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z$"
_CHRONO_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"


def _common_iso_first(name: str, general: Lowered) -> Lowered:
    """`general` (parse_timestamp of column `name`) computed only for values not in the common shape."""
    dtype = to_polars(t.DATETIME)

    def both(strings: pl.Series) -> pl.Series:
        fast = strings.str.to_datetime(_CHRONO_ISO, time_unit="us", time_zone="UTC", strict=False)
        fast = pl.select(pl.when(strings.str.contains(_COMMON_ISO)).then(fast)).to_series()
        rest = fast.is_null() & strings.is_not_null()
        errors = pl.Series([None] * len(strings), dtype=pl.String)
        if rest.any():
            slow = pl.DataFrame({name: strings.filter(rest)}).select(v=general.value, e=general.error)
            where = rest.arg_true()
            fast = fast.scatter(where, slow.get_column("v"))
            errors = errors.scatter(where, slow.get_column("e"))
        return pl.struct(pl.Series("v", fast), pl.Series("e", errors), eager=True)

    packed = pl.col(name).map_batches(both, return_dtype=pl.Struct({"v": dtype, "e": pl.String}),
                                      is_elementwise=True)
    return Lowered(packed.struct.field("v"), packed.struct.field("e"))
