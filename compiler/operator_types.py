"""Typing rules of the operators (SPEC §5): which operand types an operator takes, and its result.

Pure functions from operand types to a result type, or None when the operator does not apply; the
type checker turns None into a diagnostic. `null` (the type of the literal) fits any operand.
"""

from __future__ import annotations

from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Type

_NUMERIC = t.NUMERIC
_ORDERED = frozenset({t.STRING, t.BOOL, t.DATETIME, t.DATE, t.DURATION})

# Non-numeric arithmetic: (op, left, right) -> result.
_TEMPORAL: dict[tuple[str, Type, Type], Type] = {
    ("+", t.STRING, t.STRING): t.STRING,
    ("+", t.DATETIME, t.DURATION): t.DATETIME,
    ("+", t.DURATION, t.DATETIME): t.DATETIME,
    ("+", t.DURATION, t.DURATION): t.DURATION,
    ("-", t.DATETIME, t.DURATION): t.DATETIME,
    ("-", t.DATETIME, t.DATETIME): t.DURATION,
    ("-", t.DURATION, t.DURATION): t.DURATION,
    ("*", t.DURATION, t.INT): t.DURATION,
    ("*", t.INT, t.DURATION): t.DURATION,
}


def arithmetic_type(op: str, left: Type, right: Type) -> Type | None:
    """The result of `left op right` for `+ - * / // %`."""
    if left == t.NULL or right == t.NULL:
        return _with_null(op, left if right == t.NULL else right)
    if left in _NUMERIC and right in _NUMERIC:
        if op == "/" or t.FLOAT in (left, right):
            return t.FLOAT
        return t.INT
    return _TEMPORAL.get((op, left, right))


def _with_null(op: str, other: Type) -> Type | None:
    """`null op x` is always null: typed null when the operator applies to an `x` at all.

    (Its type could be ambiguous anyway: `null * 2` is an int, a float or a duration.)
    """
    if other == t.NULL or other in _NUMERIC:
        return t.NULL
    applies = any(o == op and other in (a, b) for (o, a, b) in _TEMPORAL)
    return t.NULL if applies else None


def negation_type(operand: Type) -> Type | None:
    return operand if operand in (t.INT, t.FLOAT, t.DURATION, t.NULL) else None


def comparable(left: Type, right: Type) -> bool:
    """Whether `==`, `<`, ... apply: numbers with numbers, otherwise the same scalar type."""
    if left == t.NULL or right == t.NULL:
        return isinstance(left, t.Scalar) and isinstance(right, t.Scalar)
    if left in _NUMERIC and right in _NUMERIC:
        return True
    return left == right and left in _ORDERED


def unify(a: Type, b: Type) -> Type | None:
    """The type of a value that is either an `a` or a `b` (branches, list elements), or None.

    `null` fits anything and int widens to float, also inside lists; structs must be equal.
    """
    if a == b or b == t.NULL:
        return a
    if a == t.NULL:
        return b
    if {a, b} == {t.INT, t.FLOAT}:
        return t.FLOAT
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        item = unify(a.item, b.item)
        return None if item is None else ListOf(item)
    return None


def accepts(wanted: Type, got: Type) -> bool:
    """Whether a value of type `got` may stand where `wanted` is expected (null fits; int widens)."""
    return unify(wanted, got) == wanted
