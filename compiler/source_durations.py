"""Reading a source's `duration` field (SPEC §3) in Polars: `dsl.units.duration_from_text`, exactly.

Text is flowc's own duration literal with an optional sign (`90s`, `-5m`; units us ms s m h d) or an
ISO-8601 duration of exact units, which is how flowc's sinks write durations (`PT1M30S`, `-P1DT2H`,
`PT0.000001S`). A number is not a duration: its unit cannot be told (`60` seconds? microseconds?), so
it is a record error pointing at the text forms (`map: {d: secs * 1s}` reads seconds as an int).

Everything is plain Polars (no Python function in the query), so the fast and the exact readings of a
source are the same expression. Counts are summed as Int128: a count has at most 19 significant digits
(more is out of range in any unit), so no sum of them times a unit can overflow before the range check.
"""

from __future__ import annotations

import polars as pl

from flowc.compiler.lower_fn_support import conversion_error
from flowc.compiler.lowered import Lowered
from flowc.compiler.polars_types import from_polars
from flowc.dsl import types as t
from flowc.dsl.units import DURATION_MAX, DURATION_MIN, ISO_UNITS, UNIT_MICROS

_COUNT = r"0*([0-9]{1,19})"
_SHORT = rf"^(-?){_COUNT}(us|ms|s|m|h|d)$"
_ISO = rf"^(-?)P(?:{_COUNT}W)?(?:{_COUNT}D)?(?:T(?:{_COUNT}H)?(?:{_COUNT}M)?(?:{_COUNT}(?:\.([0-9]{{1,6}}))?S)?)?$"
_HINT = " (durations are read from text such as '90s' or 'PT1M30S')"


def duration_of(name: str, raw: pl.DataType) -> Lowered:
    """Column `name` (of dtype `raw`) as a duration; a value that is not one is a conversion error."""
    column = pl.col(name)
    if raw.is_numeric() or raw == pl.Boolean:  # a number has no unit to read it in
        value = pl.lit(None, dtype=pl.Duration("us"))
        error = conversion_error(column.is_not_null(), column, from_polars(raw), "duration", _HINT)
    elif raw != pl.String:
        message = f"conversion: field '{name}': cannot convert a {raw} value to duration{_HINT}"
        return Lowered(pl.lit(None, dtype=pl.Duration("us")), pl.when(column.is_not_null()).then(pl.lit(message)))
    else:
        value = pl.coalesce(_short(column), _iso(column))
        error = conversion_error(column.is_not_null() & value.is_null(), column, t.STRING, "duration", _HINT)
    return Lowered(value, pl.lit(f"conversion: field '{name}': ") + error.str.strip_prefix("conversion: "))


def _count(groups: pl.Expr, field: str) -> pl.Expr:
    return groups.struct.field(field).cast(pl.Int128)


def _signed(groups: pl.Expr, micros: pl.Expr) -> pl.Expr:
    """`micros` with the text's sign, as a duration; null when out of range."""
    negative = pl.lit(0, pl.Int128) - micros  # Polars has no negation of an Int128
    signed = pl.when(groups.struct.field("sign") == "-").then(negative).otherwise(micros)
    in_range = signed.is_between(pl.lit(DURATION_MIN, pl.Int128), pl.lit(DURATION_MAX, pl.Int128))
    return pl.when(in_range).then(signed).cast(pl.Int64).cast(pl.Duration("us"))


def _short(column: pl.Expr) -> pl.Expr:
    groups = column.str.extract_groups(_SHORT).struct.rename_fields(["sign", "count", "unit"])
    unit = groups.struct.field("unit").replace_strict(UNIT_MICROS, default=None, return_dtype=pl.Int128)
    return _signed(groups, _count(groups, "count") * unit)


def _iso(column: pl.Expr) -> pl.Expr:
    names = ["W", "D", "H", "M", "S"]
    groups = column.str.extract_groups(_ISO).struct.rename_fields(["sign", *names, "fraction"])
    counts = [_count(groups, n) for n in names]
    fraction = groups.struct.field("fraction").str.pad_end(6, "0").cast(pl.Int128).fill_null(0)
    micros = pl.sum_horizontal(*(c * unit for c, unit in zip(counts, ISO_UNITS, strict=True)), fraction)
    # at least one part, and a `T` only before a time part (`PT`, `P1DT` are not durations)
    some = pl.any_horizontal(*(c.is_not_null() for c in counts)) & ~column.str.ends_with("T")
    return pl.when(some).then(_signed(groups, micros))
