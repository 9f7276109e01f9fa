"""Polars forms of the arithmetic operators, following `flowc.dsl.operators` exactly.

Each function takes the operands' values (non-null-typed) and returns `(value, error)`: the value,
and the expression of the operator's own record error (overflow), or None when it cannot fail.
Polars wraps 64-bit integers silently, so every operation that can overflow computes its wrapped
result and then checks for the wrap: `+` and `-` by comparing the result with an operand (cheap:
two comparisons), `*` by dividing the product back, datetimes by a range check.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from flowc.compiler.lowered import error_when, when
from flowc.dsl import types as t
from flowc.dsl.operators import INT_MIN, overflow_message
from flowc.dsl.types import Type

I64, F64 = pl.Int64(), pl.Float64()
DATETIME = pl.Datetime("us", "UTC")
DURATION = pl.Duration("us")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
# Python's datetimes (years 1 to 9999), which the interpreter uses, bound the language's datetimes
_MICROS_MIN = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICRO
_MICROS_MAX = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICRO

Result = tuple[pl.Expr, pl.Expr | None]


def _error(condition: pl.Expr, what: str, op: str) -> pl.Expr:
    return error_when(condition, overflow_message(what, op))


def int_add_sub(op: str, a: pl.Expr, b: pl.Expr, what: str = "integer") -> Result:
    """Wrapping `a + b` / `a - b` on Int64; without a wrap, `a + b < a` exactly when `b < 0`."""
    if op == "+":
        result = a + b
        wrapped = (result < a) != (b < 0)
    else:
        result = a - b
        wrapped = (result > a) != (b < 0)
    return result, _error(wrapped, what, op)


def int_mul(a: pl.Expr, b: pl.Expr, what: str = "integer") -> Result:
    """Wrapping `a * b`; it wrapped exactly when `r // a != b` (a wrap changes `r` by a multiple of
    2**64, more than `|a|` can hide), or for `-1 * MIN`, where `r // a` wraps too. (1.4x faster
    than redoing the product in Int128.)"""
    result = a * b
    wrapped = (a != 0) & ((result // a != b) | ((a == -1) & (b == INT_MIN)))
    return result, _error(wrapped, what, "*")


def numeric(op: str, a: pl.Expr, b: pl.Expr, left: Type, right: Type) -> Result:
    """`+ - * / // %` on numbers; division and modulo by zero give null."""
    if left == t.INT and right == t.INT and op != "/":
        if op in ("+", "-"):
            return int_add_sub(op, a, b)
        if op == "*":
            return int_mul(a, b)
        if op == "//":  # Polars floors and gives null for a zero divisor; only MIN // -1 overflows
            return a // b, _error((a == INT_MIN) & (b == -1), "integer", op)
        return a % b, None  # Polars' integer % takes the divisor's sign, and MIN % -1 is 0
    x, y = a.cast(F64), b.cast(F64)
    if op in ("+", "-", "*"):
        return (x + y if op == "+" else x - y if op == "-" else x * y), None
    nonzero = y != 0
    y = _column(y, x)
    if op == "/":
        return when(nonzero).then(x / y), None
    floored = (x / y).floor()
    return when(nonzero).then(floored if op == "//" else x - y * floored), None


def _column(divisor: pl.Expr, dividend: pl.Expr) -> pl.Expr:
    """`divisor` as a column as long as the frame when it reads no column and `dividend` does. Polars
    divides a column by a constant by multiplying by its reciprocal (`7.0 / 9` gives
    0.7777777777777777, Python 0.7777777777777778); by a column it divides exactly, as the
    interpreter does. Adding zeros changes no divisor that matters (-0.0 becomes 0.0, and a zero
    divisor gives null anyway). A constant divided by a constant stays a constant (a list literal's
    items must be)."""
    if divisor.meta.root_names() or not dividend.meta.root_names():
        return divisor
    return divisor + pl.int_range(pl.len()).cast(F64) * 0.0


def temporal(op: str, a: pl.Expr, b: pl.Expr, left: Type, right: Type) -> Result:
    """Datetime and duration arithmetic, on their Int64 microseconds."""
    if left == t.DATETIME and right == t.DATETIME:
        return a - b, None
    if t.DATETIME in (left, right):
        micros = _micros(a) + _micros(b) if op == "+" else _micros(a) - _micros(b)
        in_range = micros.is_between(_MICROS_MIN, _MICROS_MAX)
        # |duration| < 2**63 and datetimes lie within ±2**58 µs, so a wrapped sum always lands
        # outside the datetime range: the range check catches overflow too
        # out of range, the value is null: Python (and so every sink) cannot hold such a datetime
        return when(in_range).then(micros.cast(DATETIME)), _error(~in_range, "datetime", op)
    if op == "*":
        value, error = int_mul(_micros(a), _micros(b), "duration")
    else:
        value, error = int_add_sub(op, _micros(a), _micros(b), "duration")
    return value.cast(DURATION), error


def _micros(value: pl.Expr) -> pl.Expr:
    return value.cast(I64)


def negate(value: pl.Expr, operand: Type) -> Result:
    if operand == t.FLOAT:
        return -value, None
    micros = _micros(value)
    result = -micros
    error = _error(micros == INT_MIN, "duration" if operand == t.DURATION else "integer", "-")
    return (result.cast(DURATION) if operand == t.DURATION else result), error
