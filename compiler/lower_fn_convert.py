"""Polars implementations of the conversions (`flowc.dsl.lib_convert`), error texts included."""

from __future__ import annotations

import polars as pl

from flowc.compiler.lower_fn_support import Impl, conversion_error, propagating
from flowc.dsl import types as t
from flowc.dsl.lib_convert import FALSE_TEXT, FLOAT_TEXT, INT_TEXT, TRUE_TEXT
from flowc.dsl.types import Type

# Polars' float-to-string cast writes what `format_float` does (a test holds them together)
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"  # chrono's %.f: 0, 3 or 6 digits, like `format_datetime`


def string_of(value: pl.Expr, type_: Type) -> pl.Expr:
    """`to_string` in Polars."""
    if type_ == t.STRING:
        return value
    if type_ == t.DATETIME:
        return value.dt.to_string(_DATETIME_FORMAT)
    if type_ == t.DATE:
        return value.dt.to_string("%Y-%m-%d")
    return value.cast(pl.String)


def _full(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _to_int(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr | tuple[pl.Expr, pl.Expr]:
    x, source = v[0], types[0]
    if source == t.INT:
        return x
    if source == t.BOOL:
        return x.cast(pl.Int64)
    converted = x.cast(pl.Int64, strict=False)  # a float truncates; NaN and out of range give null
    if source == t.STRING:
        converted = pl.when(x.str.contains(_full(INT_TEXT.pattern))).then(converted)
    return converted, conversion_error(x.is_not_null() & converted.is_null(), x, source, "int")


def _to_float(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr | tuple[pl.Expr, pl.Expr]:
    x, source = v[0], types[0]
    if source != t.STRING:
        return x.cast(pl.Float64)
    parsed = x.cast(pl.Float64, strict=False)
    converted = pl.when(x.str.contains(_full(FLOAT_TEXT.pattern)) & parsed.is_finite()).then(parsed)
    return converted, conversion_error(x.is_not_null() & converted.is_null(), x, source, "float")


def _to_bool(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr | tuple[pl.Expr, pl.Expr]:
    x, source = v[0], types[0]
    if source == t.BOOL:
        return x
    if source == t.INT:
        return x != 0
    lowered = x.str.to_lowercase()
    converted = pl.when(lowered.is_in(TRUE_TEXT)).then(True).when(lowered.is_in(FALSE_TEXT)).then(False)
    return converted, conversion_error(x.is_not_null() & converted.is_null(), x, source, "bool")


CONVERT_IMPLEMENTATIONS: dict[str, Impl] = {
    "to_int": propagating(_to_int),
    "to_float": propagating(_to_float),
    "to_string": propagating(lambda v, types, result: string_of(v[0], types[0])),
    "to_bool": propagating(_to_bool),
}
