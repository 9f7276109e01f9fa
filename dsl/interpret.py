"""The reference interpreter: THE definition of what an expression means (SPEC §5), on plain values.

Values are Python's: int (64-bit), float, bool, str, None, `datetime` (aware, UTC, microseconds),
`date`, `timedelta` (a duration), list, and dict (a struct). A problem with the record raises
`RecordError`; the compiled Polars form (`flowc.compiler.lower_expr`) computes, row by row, the same
values and the same error texts, and a property test holds the two to it.

Only what the record needs is evaluated: `and`, `or`, `if`, `case` and lazy functions (`coalesce`)
skip what they do not need, so an error in a skipped branch never surfaces. Everything else
evaluates every operand, left to right, so the first error in that order is the one raised.

The tree walk recurses once per level with two frames (the dispatcher and the handler); see
`flowc.dsl.recursion` for the parser's deepest trees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache

from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.functions import FUNCTIONS
from flowc.dsl.operators import ARITHMETIC, arithmetic, compare, negate
from flowc.dsl.recursion import ensure_recursion_limit
from flowc.dsl.types import ListOf, Struct, Type


def evaluate(
    expr: ast.Expr,
    record: Mapping[str, object],
    *,
    now: datetime,
    types: Mapping[ast.Expr, Type] | None = None,
) -> object:
    """The value of `expr` for `record`; raises `RecordError` when the record makes it fail.

    `now` is what `now()` returns (the batch's start time). `types` is the type checker's typing of
    `expr` (`Typed.types`): with it, an int in a place the checker typed float (a branch of
    `if(c, 1, 2.5)`, an int field in a list of floats) becomes a float, as in the compiled form.
    """
    ensure_recursion_limit()
    return _Interpreter(record, now, types).eval(expr)


class _Interpreter:
    __slots__ = ("now", "record", "types")

    def __init__(self, record: Mapping[str, object], now: datetime, types: Mapping | None) -> None:
        self.record, self.now, self.types = record, now, types

    def eval(self, node: ast.Expr) -> object:
        value = _HANDLERS[type(node)](self, node)
        if self.types is not None and value is not None:
            type_ = self.types.get(node)
            if type_ is not None and _has_float(type_):
                value = conform(value, type_)
        return value

    def literal(self, node: ast.Node) -> object:
        return getattr(node, "value", None)

    def duration(self, node: ast.DurationLit) -> object:
        return timedelta(microseconds=node.micros)

    def list_(self, node: ast.ListLit) -> object:
        return [self.eval(item) for item in node.items]

    def field(self, node: ast.Field) -> object:
        return self.record.get(node.name)

    def get_field(self, node: ast.GetField) -> object:
        struct = self.eval(node.obj)
        return None if struct is None else struct.get(node.name)  # type: ignore[attr-defined]

    def index(self, node: ast.Index) -> object:
        items, i = self.eval(node.obj), self.eval(node.index)
        if items is None or i is None:
            return None
        return items[i] if -len(items) <= i < len(items) else None  # type: ignore[arg-type,index]

    def unary(self, node: ast.Unary) -> object:
        value = self.eval(node.operand)
        if value is None:
            return None
        return (not value) if node.op == "not" else negate(value)

    def binary(self, node: ast.Binary) -> object:
        if node.op in ("and", "or"):
            return self.logic(node)
        left, right = self.eval(node.left), self.eval(node.right)
        if left is None or right is None:
            return None
        if node.op in ARITHMETIC:
            return arithmetic(node.op, left, right)
        return compare(node.op, left, right)

    def logic(self, node: ast.Binary) -> object:
        """Three-valued `and`/`or`: the right side is evaluated only when the left does not decide."""
        decisive = node.op == "or"  # `true or ...` is true, `false and ...` is false
        left = self.eval(node.left)
        if left is decisive:
            return decisive
        right = self.eval(node.right)
        if right is decisive:
            return decisive
        return None if left is None or right is None else not decisive

    def in_(self, node: ast.In) -> object:
        operand = self.eval(node.operand)
        items = [self.eval(item) for item in node.items]
        if operand is None:
            return None
        found = any(item is not None and compare("==", operand, item) for item in items)
        return found != node.negated

    def between(self, node: ast.Between) -> object:
        operand, low, high = self.eval(node.operand), self.eval(node.low), self.eval(node.high)
        above = None if operand is None or low is None else compare(">=", operand, low)
        below = None if operand is None or high is None else compare("<=", operand, high)
        if above is False or below is False:
            return False
        return None if above is None or below is None else True

    def is_null(self, node: ast.IsNull) -> object:
        return (self.eval(node.operand) is None) != node.negated

    def if_(self, node: ast.If) -> object:
        return self.eval(node.then) if self.eval(node.cond) is True else self.eval(node.else_)

    def case(self, node: ast.Case) -> object:
        for when in node.whens:
            if self.eval(when.cond) is True:
                return self.eval(when.value)
        return None if node.else_ is None else self.eval(node.else_)

    def call(self, node: ast.Call) -> object:
        if node.name == "now" and not node.args:
            return self.now
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise LookupError(f"no function '{node.name}' (the type checker reports E105 for it)")
        if function.lazy:
            return function.evaluate(*(_thunk(self, arg) for arg in node.args))
        args = [self.eval(arg) for arg in node.args]
        if function.nulls == "propagate" and any(arg is None for arg in args):
            return None
        return function.evaluate(*args)


def _thunk(interpreter: _Interpreter, node: ast.Expr) -> Callable[[], object]:
    return lambda: interpreter.eval(node)


_HANDLERS: dict[type, Callable[[_Interpreter, ast.Node], object]] = {
    ast.NullLit: _Interpreter.literal,
    ast.BoolLit: _Interpreter.literal,
    ast.IntLit: _Interpreter.literal,
    ast.FloatLit: _Interpreter.literal,
    ast.StringLit: _Interpreter.literal,
    ast.DurationLit: _Interpreter.duration,
    ast.ListLit: _Interpreter.list_,
    ast.Field: _Interpreter.field,
    ast.GetField: _Interpreter.get_field,
    ast.Index: _Interpreter.index,
    ast.Unary: _Interpreter.unary,
    ast.Binary: _Interpreter.binary,
    ast.In: _Interpreter.in_,
    ast.Between: _Interpreter.between,
    ast.IsNull: _Interpreter.is_null,
    ast.If: _Interpreter.if_,
    ast.Case: _Interpreter.case,
    ast.Call: _Interpreter.call,
}  # type: ignore[dict-item]


@cache
def _has_float(type_: Type) -> bool:
    if isinstance(type_, ListOf):
        return _has_float(type_.item)
    if isinstance(type_, Struct):
        return any(_has_float(ft) for _, ft in type_.fields)
    return type_ == t.FLOAT


def conform(value: object, type_: Type) -> object:
    """`value` as a value of `type_`: ints where a float is wanted become floats, also inside."""
    if value is None:
        return None
    if type_ == t.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(type_, ListOf) and isinstance(value, list):
        return [conform(item, type_.item) for item in value]
    if isinstance(type_, Struct) and isinstance(value, dict):
        return {name: conform(value.get(name), ft) for name, ft in type_.fields}
    return value
