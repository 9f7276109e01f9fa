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
    value = lowered.value.dt.date() if wanted == t.DATE else lowered.value
    if lowered.error is None:
        return Lowered(value)
    error = pl.lit(f"conversion: field '{name}': ") + lowered.error.str.strip_prefix("conversion: ")
    return Lowered(value, error)
