"""Lowering of expressions to Polars: one handler per AST node (ibis' `compiler.py` style).

`lower(expr, ctx)` gives a `Lowered`: the value column, and the error column that holds, per row, the
text of the `RecordError` the reference interpreter (`flowc.dsl.interpret`) would raise. A node's
error is the first of its operands' errors in evaluation order, then its own; the short-circuiting
forms (`and`, `or`, `if`, `case`) count an operand's error only on the rows where the interpreter
evaluates that operand. Expressions that cannot fail carry no error expression at all.

The expression must be well typed: handlers read operand types from `ctx.types` and trust them.
"""

from __future__ import annotations

import functools

import polars as pl

from flowc.compiler import lower_ops
from flowc.compiler.lower_functions import POLARS_FUNCTIONS
from flowc.compiler.lowered import (
    InternalError,
    LowerContext,
    Lowered,
    error_if_evaluated,
    first_error,
    when,
)
from flowc.compiler.polars_types import to_polars
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.operators import ARITHMETIC, INT_MIN
from flowc.dsl.recursion import ensure_recursion_limit
from flowc.dsl.types import ListOf

ensure_recursion_limit()  # the handlers recurse once per AST level (see flowc.dsl.recursion)


@functools.singledispatch
def lower(expr: ast.Node, ctx: LowerContext) -> Lowered:
    raise InternalError(f"no Polars lowering for {type(expr).__name__}")


def lower_predicate(expr: ast.Expr, ctx: LowerContext) -> Lowered:
    """A filter's predicate: the value is true exactly on the rows to keep (null and false drop)."""
    lowered = lower(expr, ctx)
    return Lowered(lowered.value.fill_null(False).cast(pl.Boolean), lowered.error)


def _as(value: pl.Expr, node: ast.Expr, wanted: t.Type, ctx: LowerContext) -> pl.Expr:
    """`value` (of `node`) as a `wanted`: widens ints to floats and gives literal nulls a type."""
    return value if ctx.types[node] == wanted else value.cast(to_polars(wanted))


def _null(ctx: LowerContext, node: ast.Expr) -> pl.Expr:
    return pl.lit(None, dtype=to_polars(ctx.types[node]))


@lower.register
def _null_lit(node: ast.NullLit, ctx: LowerContext) -> Lowered:
    return Lowered(pl.lit(None))


@lower.register(ast.BoolLit)
@lower.register(ast.IntLit)
@lower.register(ast.FloatLit)
@lower.register(ast.StringLit)
def _literal(node: ast.Node, ctx: LowerContext) -> Lowered:
    return Lowered(pl.lit(node.value, dtype=to_polars(ctx.types[node])))  # type: ignore[attr-defined]


@lower.register
def _duration_lit(node: ast.DurationLit, ctx: LowerContext) -> Lowered:
    return Lowered(pl.lit(node.micros, dtype=pl.Int64).cast(lower_ops.DURATION))


@lower.register
def _list_lit(node: ast.ListLit, ctx: LowerContext) -> Lowered:
    wanted = ctx.types[node]
    assert isinstance(wanted, ListOf)
    if not node.items:
        return Lowered(pl.lit([], dtype=to_polars(wanted)))
    items = [lower(item, ctx) for item in node.items]
    values = [_as(lowered.value, item, wanted.item, ctx) for lowered, item in zip(items, node.items, strict=True)]
    if isinstance(wanted.item, ListOf):  # concat_list would join lists: wrap each in a 1-list first
        values = [value.repeat_by(1) for value in values]
    return Lowered(pl.concat_list(values), first_error(*(i.error for i in items)))


@lower.register
def _field(node: ast.Field, ctx: LowerContext) -> Lowered:
    return Lowered(pl.col(node.name))


@lower.register
def _get_field(node: ast.GetField, ctx: LowerContext) -> Lowered:
    obj = lower(node.obj, ctx)
    if ctx.types[node.obj] == t.NULL:
        return Lowered(_null(ctx, node), obj.error)
    return Lowered(obj.value.struct.field(node.name), obj.error)


@lower.register
def _index(node: ast.Index, ctx: LowerContext) -> Lowered:
    obj, index = lower(node.obj, ctx), lower(node.index, ctx)
    error = first_error(obj.error, index.error)
    if t.NULL in (ctx.types[node.obj], ctx.types[node.index]):
        return Lowered(_null(ctx, node), error)
    items, at = obj.value, index.value
    if not isinstance(node.index, ast.IntLit):
        # Polars 2.1 panics on the index INT_MIN (it negates it to count from the end); INT_MIN + 1
        # is as far out of every list. A wrapped (overflowed) index, an error row, can be INT_MIN too.
        at = at.clip(lower_bound=INT_MIN + 1)
    if not items.meta.root_names() and at.meta.root_names():
        items = pl.repeat(items, pl.len())  # Polars wants a constant list as long as a column index
    return Lowered(items.list.get(at, null_on_oob=True), error)


@lower.register
def _unary(node: ast.Unary, ctx: LowerContext) -> Lowered:
    operand = lower(node.operand, ctx)
    operand_type = ctx.types[node.operand]
    if operand_type == t.NULL:
        return Lowered(_null(ctx, node), operand.error)
    if node.op == "not":
        return Lowered(~operand.value, operand.error)
    value, own = lower_ops.negate(operand.value, operand_type)
    return Lowered(value, first_error(operand.error, own))


@lower.register
def _binary(node: ast.Binary, ctx: LowerContext) -> Lowered:
    if node.op in ("and", "or"):
        return _logic(node, ctx)
    left, right = lower(node.left, ctx), lower(node.right, ctx)
    left_type, right_type = ctx.types[node.left], ctx.types[node.right]
    own = None
    if t.NULL in (left_type, right_type):
        value = _null(ctx, node)
    elif node.op not in ARITHMETIC:
        value = _compare(node.op, left.value, right.value)
    elif {left_type, right_type} <= t.NUMERIC:
        value, own = lower_ops.numeric(node.op, left.value, right.value, left_type, right_type)
        if node.op == "//" and isinstance(node.right, ast.IntLit) and node.right.value != -1:
            own = None  # only `MIN // -1` overflows (a folded `-1`, `0 - 1` is a literal -1)
    elif left_type == t.STRING:
        value = left.value + right.value
    else:
        value, own = lower_ops.temporal(node.op, left.value, right.value, left_type, right_type)
    return Lowered(value, first_error(left.error, right.error, own))


_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _compare(op: str, a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """`a op b`. Polars compares floats in a total order (NaN == NaN, NaN above +inf), and an int
    with a float as two floats, as `flowc.dsl.operators.compare` does."""
    if not a.meta.root_names() and b.meta.root_names():
        # Polars 2.1 returns one row for `<constant> == when(...)...` when the `when` folds to all
        # nulls; the other way round it broadcasts, so the column goes first
        a, b, op = b, a, _FLIPPED[op]
    return {"==": a.eq, "!=": a.ne, "<": a.lt, "<=": a.le, ">": a.gt, ">=": a.ge}[op](b)


def _logic(node: ast.Binary, ctx: LowerContext) -> Lowered:
    left, right = lower(node.left, ctx), lower(node.right, ctx)
    a, b = left.value.cast(pl.Boolean), right.value.cast(pl.Boolean)
    if node.op == "and":  # the right side is evaluated unless the left is false
        value, evaluated = a & b, a.fill_null(True)
    else:  # ... unless the left is true
        value, evaluated = a | b, ~a.fill_null(False)
    return Lowered(value, first_error(left.error, error_if_evaluated(evaluated, right.error)))


@lower.register
def _in(node: ast.In, ctx: LowerContext) -> Lowered:
    operand = lower(node.operand, ctx)
    items = [lower(item, ctx) for item in node.items]
    error = first_error(operand.error, *(i.error for i in items))
    if ctx.types[node.operand] == t.NULL:
        return Lowered(pl.lit(None, dtype=pl.Boolean), error)
    matches = [_compare("==", operand.value, item.value).fill_null(False) for item in items]
    found = pl.any_horizontal(matches) if matches else pl.lit(False)
    found = ~found if node.negated else found
    return Lowered(when(operand.value.is_not_null()).then(found), error)


@lower.register
def _between(node: ast.Between, ctx: LowerContext) -> Lowered:
    operand, low, high = lower(node.operand, ctx), lower(node.low, ctx), lower(node.high, ctx)
    nulls = pl.lit(None, dtype=pl.Boolean)
    above = nulls if t.NULL in (ctx.types[node.operand], ctx.types[node.low]) else _compare(">=", operand.value, low.value)
    below = nulls if t.NULL in (ctx.types[node.operand], ctx.types[node.high]) else _compare("<=", operand.value, high.value)
    return Lowered(above & below, first_error(operand.error, low.error, high.error))


@lower.register
def _is_null(node: ast.IsNull, ctx: LowerContext) -> Lowered:
    operand = lower(node.operand, ctx)
    value = operand.value.is_not_null() if node.negated else operand.value.is_null()
    return Lowered(value, operand.error)


@lower.register
def _if(node: ast.If, ctx: LowerContext) -> Lowered:
    return _branches(((node.cond, node.then),), node.else_, node, ctx)


@lower.register
def _case(node: ast.Case, ctx: LowerContext) -> Lowered:
    return _branches(tuple((w.cond, w.value) for w in node.whens), node.else_, node, ctx)


def _branches(
    arms: tuple[tuple[ast.Expr, ast.Expr], ...], else_: ast.Expr | None, node: ast.Expr, ctx: LowerContext
) -> Lowered:
    """`case when c1 then v1 ... else e end`: the first arm whose condition is true (null is not)."""
    wanted = ctx.types[node]
    if else_ is None:
        value, error = _null(ctx, node), None
    else:
        lowered = lower(else_, ctx)
        value, error = _as(lowered.value, else_, wanted, ctx), lowered.error
    for cond_node, arm_node in reversed(arms):  # built from the last arm outwards
        cond, arm = lower(cond_node, ctx), lower(arm_node, ctx)
        taken = cond.value.cast(pl.Boolean)
        value = when(taken).then(_as(arm.value, arm_node, wanted, ctx)).otherwise(value)
        if arm.error is not None or error is not None:
            error = when(taken).then(_or_none(arm.error)).otherwise(_or_none(error))
        error = first_error(cond.error, error)
    return Lowered(value, error)


def _or_none(error: pl.Expr | None) -> pl.Expr:
    return pl.lit(None, dtype=pl.String) if error is None else error


@lower.register
def _call(node: ast.Call, ctx: LowerContext) -> Lowered:
    if node.name == "now" and not node.args:  # the batch's start time, a constant of the batch
        return Lowered(pl.lit(ctx.now, dtype=lower_ops.DATETIME))
    args = tuple(lower(arg, ctx) for arg in node.args)
    arg_types = tuple(ctx.types[arg] for arg in node.args)
    return POLARS_FUNCTIONS[node.name](args, arg_types, ctx.types[node])
