"""Polars implementations of the time functions (`flowc.dsl.lib_time`)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from flowc.compiler.lower_fn_support import Impl, constant, conversion_error, propagating
from flowc.compiler.lowered import Lowered
from flowc.dsl import types as t
from flowc.dsl.lib_time import DEFAULTS, ISO_REGEX, format_regex
from flowc.dsl.types import Type

_DATETIME = pl.Datetime("us", "UTC")
_EVERY = {"year": "1y", "month": "1mo", "week": "1w", "day": "1d", "hour": "1h", "minute": "1m", "second": "1s"}
_FIRST, _PAST_LAST = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _parse(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> tuple[pl.Expr, pl.Expr]:
    s = v[0]
    fmt = constant(Lowered(v[1])) if len(v) > 1 else None
    regex = ISO_REGEX if fmt is None else format_regex(fmt)  # type: ignore[arg-type]
    parts = s.str.extract_groups(regex)
    names = set(pl.select(pl.lit("").str.extract_groups(regex)).to_series().struct.fields)

    def number(name: str) -> pl.Expr:
        default = pl.lit(DEFAULTS.get(name, 0), dtype=pl.Int64)
        return parts.struct.field(name).cast(pl.Int64).fill_null(default) if name in names else default

    year, month, day, hour, minute, second = map(number, ("year", "month", "day", "hour", "minute", "second"))
    fraction = parts.struct.field("fraction") if "fraction" in names else pl.lit(None, dtype=pl.String)
    micros = fraction.str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64).fill_null(0)
    offset_minutes = _offset_minutes(parts.struct.field("offset") if "offset" in names else pl.lit(None, dtype=pl.String))
    day_text = pl.concat_str([year.cast(pl.String).str.zfill(4), month.cast(pl.String).str.zfill(2),
                              day.cast(pl.String).str.zfill(2)], separator="-")
    date = day_text.str.to_date("%Y-%m-%d", strict=False)
    stamp = date.cast(_DATETIME) + pl.duration(hours=hour, minutes=minute - offset_minutes, seconds=second,
                                               microseconds=micros)
    valid = (s.str.contains(regex) & (year >= 1) & (hour <= 23) & (minute <= 59) & (second <= 59)
             & (offset_minutes.abs() < 24 * 60) & (offset_minutes.abs() % 60 <= 59) & stamp.is_between(_FIRST, _PAST_LAST))
    converted = pl.when(valid).then(stamp)
    suffix = "" if fmt is None else f" with format '{fmt}'"
    return converted, conversion_error(s.is_not_null() & converted.is_null(), s, t.STRING, "datetime", suffix)


def _offset_minutes(offset: pl.Expr) -> pl.Expr:
    digits = offset.str.replace(":", "", literal=True)
    # Not strict: Polars evaluates the `otherwise` below for a constant "Z" too, where these slices are
    # empty; the regex guarantees digits wherever the value is used.
    hours = digits.str.slice(1, 2).cast(pl.Int64, strict=False)
    minutes = digits.str.slice(3, 2).cast(pl.Int64, strict=False)
    # minutes above 59 make the offset invalid: keep them visible to the validity check
    signed = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1) * (hours * 60 + pl.when(minutes > 59)
                                                                           .then(24 * 60).otherwise(minutes))
    return pl.when(offset.is_null() | (offset == "Z")).then(0).otherwise(signed)


def _format(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    fmt = constant(Lowered(v[1]))
    chrono = fmt.replace("%%", "\0").replace("%f", "%6f").replace("\0", "%%")  # type: ignore[union-attr]
    return v[0].dt.strftime(chrono)


def _trunc(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    unit = constant(Lowered(v[0]))
    if types[1] == t.DATE and unit in ("hour", "minute", "second"):
        return v[1]
    return v[1].dt.truncate(_EVERY[unit])  # type: ignore[index]


def _part(extract) -> Impl:
    return propagating(lambda v, ty, r: extract(v[0].dt).cast(pl.Int64))


TIME_IMPLEMENTATIONS: dict[str, Impl] = {
    "parse_timestamp": propagating(_parse),
    "format_timestamp": propagating(_format),
    "year": _part(lambda dt: dt.year()),
    "month": _part(lambda dt: dt.month()),
    "day": _part(lambda dt: dt.day()),
    "hour": _part(lambda dt: dt.hour()),
    "minute": _part(lambda dt: dt.minute()),
    "day_of_week": _part(lambda dt: dt.weekday()),  # ISO: Monday 1 ... Sunday 7
    "date_trunc": propagating(_trunc),
}
