"""The operators of SPEC §5 on plain Python values: the reference semantics the lowering follows.

Every function here takes non-null operands (the interpreter handles null first) and returns the
result or raises `RecordError`. The decisions where SPEC is silent are written in
`docs/language.md#semantics`; the main ones:

- int and float mixed: the int is converted to float first (as Polars does), for arithmetic and
  for comparisons, so `9007199254740993 == 9007199254740992.0` is true.
- floats compare in Polars' total order: NaN equals NaN and sorts above +inf; -0.0 equals 0.0.
- float `a // b` is `floor(a / b)` and float `a % b` is `a - b * floor(a / b)`, IEEE step by step.
- int, duration and datetime results outside their range are record errors (`overflow`), never a wrap.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flowc.dsl.record_errors import OVERFLOW, RecordError

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_MICRO = timedelta(microseconds=1)
ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%"})
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


def overflow_message(what: str, op: str) -> str:
    """The text of an overflow record error; the lowering builds the very same string."""
    return str(RecordError(OVERFLOW, f"{what} overflow in '{op}'"))


def _overflow(what: str, op: str) -> RecordError:
    return RecordError(OVERFLOW, f"{what} overflow in '{op}'")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def checked_int(value: int, op: str) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise _overflow("integer", op)
    return value


def checked_duration(value: timedelta, op: str) -> timedelta:
    if not INT_MIN <= value // _MICRO <= INT_MAX:
        raise _overflow("duration", op)
    return value


def arithmetic(op: str, a: object, b: object) -> object:
    """`a op b` for one of `+ - * / // %`; None for division or modulo by zero."""
    if op == "/":
        return None if b == 0 else float(a) / float(b)  # type: ignore[arg-type]
    if op in ("//", "%"):
        return _divmod(op, a, b)
    if isinstance(a, datetime) or isinstance(b, datetime):
        return _datetime_arithmetic(op, a, b)
    if isinstance(a, timedelta) or isinstance(b, timedelta):
        return _duration_arithmetic(op, a, b)
    if isinstance(a, str):
        return a + b  # type: ignore[operator]
    if isinstance(a, int) and isinstance(b, int):
        exact = a + b if op == "+" else a - b if op == "-" else a * b
        return checked_int(exact, op)
    x, y = float(a), float(b)  # type: ignore[arg-type]
    return x + y if op == "+" else x - y if op == "-" else x * y


def _divmod(op: str, a: object, b: object) -> object:
    if b == 0:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return checked_int(a // b, op) if op == "//" else a % b
    x, y = float(a), float(b)  # type: ignore[arg-type]
    quotient = x / y
    # IEEE floor keeps a zero's sign (floor(-0.0) is -0.0, as in Polars); math.floor returns the int 0
    floored = float(math.floor(quotient)) if math.isfinite(quotient) and quotient != 0 else quotient
    return floored if op == "//" else x - y * floored


def _datetime_arithmetic(op: str, a: object, b: object) -> object:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a - b  # within the datetime range, the difference always fits a duration
    try:
        if op == "+":
            return a + b  # type: ignore[operator]
        return a - b  # type: ignore[operator]
    except OverflowError:
        raise _overflow("datetime", op) from None


def _duration_arithmetic(op: str, a: object, b: object) -> timedelta:
    try:
        result = a + b if op == "+" else a - b if op == "-" else a * b  # type: ignore[operator]
    except OverflowError:
        raise _overflow("duration", op) from None
    return checked_duration(result, op)


def negate(value: object) -> object:
    if isinstance(value, timedelta):
        return checked_duration(-value, "-")
    if isinstance(value, int):
        return checked_int(-value, "-")
    return -value  # type: ignore[operator]


def _float_key(value: float) -> tuple[bool, float]:
    return (True, 0.0) if math.isnan(value) else (False, value)


def compare(op: str, a: object, b: object) -> bool:
    """`a op b` for a comparison operator, both operands non-null and of comparable types."""
    if _is_number(a) and _is_number(b) and (isinstance(a, float) or isinstance(b, float)):
        a, b = _float_key(float(a)), _float_key(float(b))  # type: ignore[arg-type]
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b  # type: ignore[operator]
    if op == "<=":
        return a <= b  # type: ignore[operator]
    if op == ">":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]
