"""Typing an aggregate's `compute` entries (SPEC §4 "Aggregation").

Each entry is one aggregate call at the top (`revenue: sum(amount * qty)`); its arguments are
ordinary expressions over the input record, and may not contain aggregates themselves (E106).
"""

from __future__ import annotations

from collections.abc import Callable

from flowc.compiler.checks.scope import Scope
from flowc.compiler.spec import Computation, Expression
from flowc.compiler.typecheck import AGGREGATES, named_argument
from flowc.dsl import codes
from flowc.dsl.aggregates import AGGREGATES as DSL_AGGREGATES
from flowc.dsl.aggregates import AggregateDef
from flowc.dsl.functions import FUNCTIONS
from flowc.dsl.types import Type

Typing = Callable[[Type | None], Type | str]


def _typing(aggregate: AggregateDef) -> Typing:
    """The result type from the argument's type (None: no argument), or a problem, from the registry."""
    return lambda arg: aggregate.result_type(() if arg is None else (arg,))


# name -> (min args, max args, result type from the argument's type or a problem): one view of the
# registry in `flowc.dsl.aggregates`, the only place aggregates are typed.
SIGNATURES: dict[str, tuple[int, int, Typing]] = {
    a.name: (a.min_args, a.max_args, _typing(a)) for a in DSL_AGGREGATES.values()}


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
        scope.report("E222", expression.locate(computation.args[0].pos), name=function,
                     problem=named_argument(typed, computation.args))
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

