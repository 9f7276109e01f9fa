"""Polars implementations of the number functions and `coalesce` (`flowc.dsl.lib_numbers`)."""

from __future__ import annotations

import polars as pl

from flowc.compiler.lower_fn_support import Impl, constant, error_text, null_of, propagating
from flowc.compiler.lowered import Lowered, first_error
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.lib_numbers import INT_MAX, INT_MIN, round_float
from flowc.dsl.types import Type


def _abs(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr | tuple[pl.Expr, pl.Expr]:
    if types[0] == t.FLOAT:
        return v[0].abs()
    overflow = v[0] == INT_MIN  # the one int whose absolute value is not an int (Polars would wrap)
    return pl.when(overflow).then(None).otherwise(v[0].abs()), error_text(overflow, "overflow: integer overflow in abs")


def _round(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr | tuple[pl.Expr, pl.Expr]:
    digits = constant(Lowered(v[1])) if len(v) > 1 else 0
    if types[0] == t.FLOAT:
        return _round_float(v[0], digits)  # type: ignore[arg-type]
    return _round_int(v[0], digits)  # type: ignore[arg-type]


def _round_float(x: pl.Expr, digits: int) -> pl.Expr:
    # Exactness first: Polars' own `round` scales by 10**digits in floating point, which is off for some
    # inputs; the reference rounds the exact binary value with `decimal`, so run that same code.
    def batch(values: pl.Series) -> pl.Series:
        return pl.Series([None if v is None else round_float(v, digits) for v in values.to_list()], dtype=pl.Float64)

    return x.map_batches(batch, return_dtype=pl.Float64, is_elementwise=True)


def _round_int(x: pl.Expr, digits: int) -> pl.Expr | tuple[pl.Expr, pl.Expr]:
    if digits >= 0:
        return x
    if digits < -19:
        return pl.lit(0, dtype=pl.Int64)
    if digits == -19:  # 10**19 is past the int range: |x| >= 5e18 rounds to it and overflows
        overflow = (x >= 5 * 10**18) | (x <= -5 * 10**18)
        return pl.when(overflow).then(None).otherwise(pl.lit(0, dtype=pl.Int64)), _overflow(overflow)
    unit = 10**-digits
    below, rest = x // unit, x % unit  # floor division: rest in [0, unit), no overflow anywhere
    up = pl.when(x >= 0).then(2 * rest >= unit).otherwise(2 * rest > unit)  # ties away from zero
    n = below + up.cast(pl.Int64)
    overflow = (n > INT_MAX // unit) | (n < -(2**63 // unit))
    return pl.when(overflow).then(None).otherwise(n * unit), _overflow(overflow)


def _overflow(condition: pl.Expr) -> pl.Expr:
    return error_text(condition, "overflow: integer overflow in round")


def _whole(v: list[pl.Expr], types: tuple[Type, ...], result: Type, up: bool) -> pl.Expr:
    if types[0] == t.INT:
        return v[0]
    return v[0].ceil() if up else v[0].floor()


def _pick(horizontal) -> Impl:
    """least/greatest: nulls skipped, ints and floats compared as the result type."""

    def implementation(args: tuple[Lowered, ...], types: tuple[Type, ...], result: Type) -> Lowered:
        values = [a.value.cast(to_polars(result)) for a, ty in zip(args, types, strict=True) if ty != t.NULL]
        value = horizontal(values) if values else null_of(result)
        if result == t.FLOAT:  # which of two equal zeros is kept is no part of the meaning (Polars folds `+ 0.0`)
            value = pl.when(value == 0.0).then(pl.lit(0.0)).otherwise(value)
        return Lowered(value, first_error(*(a.error for a in args)))

    return implementation


def _coalesce(args: tuple[Lowered, ...], types: tuple[Type, ...], result: Type) -> Lowered:
    values = [a.value.cast(to_polars(result)) for a in args]
    errors: list[pl.Expr | None] = []
    for i, arg in enumerate(args):
        if arg.error is not None:  # evaluated only where every argument before it was null
            earlier = pl.all_horizontal([v.is_null() for v in values[:i]]) if i else pl.lit(True)
            errors.append(pl.when(earlier).then(arg.error))
    return Lowered(pl.coalesce(values) if result != t.NULL else null_of(result), first_error(*errors))


NUMBER_IMPLEMENTATIONS: dict[str, Impl] = {
    "abs": propagating(_abs),
    "round": propagating(_round),
    "floor": propagating(lambda v, ty, r: _whole(v, ty, r, up=False)),
    "ceil": propagating(lambda v, ty, r: _whole(v, ty, r, up=True)),
    "least": _pick(pl.min_horizontal),
    "greatest": _pick(pl.max_horizontal),
    "coalesce": _coalesce,
}
