"""Typing an aggregate's `compute` entries (SPEC §4 "Aggregation").

Each entry is one aggregate call at the top (`revenue: sum(amount * qty)`); its arguments are
ordinary expressions over the input record, and may not contain aggregates themselves (E106).
"""

from __future__ import annotations

from collections.abc import Callable

from flowc.compiler.checks.scope import Scope
from flowc.compiler.spec import Computation, Expression
from flowc.compiler.typecheck import AGGREGATES
from flowc.dsl import codes
from flowc.dsl import types as t
from flowc.dsl.functions import FUNCTIONS
from flowc.dsl.types import ListOf, Type

_ORDERED = frozenset({t.INT, t.FLOAT, t.STRING, t.DATETIME, t.DATE, t.DURATION, t.BOOL})


def _count(arg: Type | None) -> Type | str:
    return t.INT


def _sum(arg: Type | None) -> Type | str:
    if arg in (t.INT, t.FLOAT, t.DURATION, t.NULL):
        return arg
    return f"expected numbers or durations, got {arg}"


def _avg(arg: Type | None) -> Type | str:
    if arg in (t.INT, t.FLOAT, t.NULL):
        return t.FLOAT
    if arg == t.DURATION:
        return t.DURATION
    return f"expected numbers or durations, got {arg}"


def _ordered(arg: Type | None) -> Type | str:
    if arg in _ORDERED or arg == t.NULL:
        return arg
    return f"expected values with an order, got {arg}"


def _same(arg: Type | None) -> Type | str:
    return arg


def _collect(arg: Type | None) -> Type | str:
    return ListOf(arg)


# name -> (min args, max args, result type from the argument's type or a problem)
SIGNATURES: dict[str, tuple[int, int, Callable[[Type | None], Type | str]]] = {
    "count": (0, 1, _count), "count_distinct": (1, 1, _count), "sum": (1, 1, _sum), "avg": (1, 1, _avg),
    "min": (1, 1, _ordered), "max": (1, 1, _ordered), "first": (1, 1, _same), "last": (1, 1, _same),
    "collect": (1, 1, _collect),
}
assert set(SIGNATURES) == set(AGGREGATES), "the checker and the aggregate typing disagree on the aggregates"


def computation_type(computation: Computation, scope: Scope) -> Type | None:
    """The type of one compute entry, reporting E106/E105/E221/E222 and its arguments' problems."""
    expression = computation.expression
    if expression.expr is None:
        return None
    function = computation.function
    if function is None or function not in AGGREGATES:
        _not_an_aggregate(computation, scope)
        return None
    low, high, result = SIGNATURES[function]
    args = [scope.value(_argument(expression, arg), f"aggregate '{computation.name}'") for arg in computation.args]
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        scope.report("E221", expression.locate(expression.expr.pos), name=function, expected=expected,
                     plural="" if expected == "1" else "s", got=len(args))
        return None
    if scope.schema is None or None in args:
        return None
    typed = result(args[0] if args else None)
    if isinstance(typed, str):
        scope.report("E222", expression.locate(computation.args[0].pos), name=function, problem=typed)
        return None
    return typed


def _argument(expression: Expression, arg) -> Expression:
    """An argument as an expression of its own, positioned inside the same scalar."""
    return Expression(expression.text, arg, expression.span, expression.scalar)


def _not_an_aggregate(computation: Computation, scope: Scope) -> None:
    expression = computation.expression
    assert expression.expr is not None
    where = expression.locate(expression.expr.pos)
    if computation.function is not None and computation.function not in FUNCTIONS:
        scope.report("E105", where, name=computation.function,
                     suggestion=codes.did_you_mean(computation.function, sorted(AGGREGATES)))
        return
    scope.report("E106", where, problem=f"compute entry '{computation.name}' must be one aggregate call "
                                        f"({', '.join(sorted(AGGREGATES))})")

