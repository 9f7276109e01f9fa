"""The type checker: the type of every sub-expression, and every type problem (SPEC §5).

`check_expression` never raises on a user error: it returns a `Typed` with the problems it found, all
of them, each with the `TextRange` of the offending sub-expression; the caller turns a range into a
file span and a `Problem` into a diagnostic (`codes.diagnostic(p.code, span, **p.args)`). A
sub-expression whose type cannot be known (it has a problem) types as None and the checker stays
quiet about what contains it, so one mistake gives one diagnostic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flowc.compiler.operator_types import arithmetic_type, comparable, negation_type, unify
from flowc.dsl import ast, codes
from flowc.dsl import types as t
from flowc.dsl.function_def import constant_value
from flowc.dsl.functions import FUNCTIONS, FunctionDef
from flowc.dsl.operators import ARITHMETIC
from flowc.dsl.recursion import ensure_recursion_limit
from flowc.dsl.span import TextRange
from flowc.dsl.types import ListOf, Struct, Type
from flowc.dsl.unparse import unparse

AGGREGATES = frozenset({
    "count", "sum", "avg", "min", "max", "first", "last", "collect", "count_distinct",
})
SPECIAL_FORMS = frozenset({"now"})  # calls the interpreter and the lowering handle themselves


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # a key of flowc.dsl.codes.CODES
    args: dict[str, object] = field(hash=False)  # the arguments of the code's message template
    pos: TextRange
    help: str | None = None


@dataclass(frozen=True, slots=True)
class Typed:
    type: Type | None  # None when there are problems
    types: Mapping[ast.Expr, Type]
    problems: tuple[Problem, ...]


def check_expression(expr: ast.Expr, schema: Struct, *, where: str) -> Typed:
    """Type `expr` over records of `schema`; `where` names the place for messages ("filter")."""
    ensure_recursion_limit()
    checker = _Checker(schema, where)
    result = checker.check(expr)
    problems = tuple(checker.problems)
    return Typed(None if problems else result, checker.types, problems)


def check_predicate(expr: ast.Expr, schema: Struct, *, where: str) -> Typed:
    """As `check_expression`, for a `filter` or `validate` rule, which must be a bool (E224)."""
    typed = check_expression(expr, schema, where=where)
    if typed.type is None or typed.type in (t.BOOL, t.NULL):
        return typed
    problem = Problem("E224", {"where": where, "got": typed.type}, expr.pos)
    return Typed(None, typed.types, (*typed.problems, problem))


class _Checker:
    def __init__(self, schema: Struct, where: str) -> None:
        self.schema, self.where = schema, where
        self.types: dict[ast.Expr, Type] = {}
        self.problems: list[Problem] = []

    def check(self, node: ast.Expr) -> Type | None:
        result = _RULES[type(node)](self, node)
        if result is not None:
            self.types[node] = result
        return result

    def report(self, code: str, node: ast.Node, **args: object) -> None:
        self.problems.append(Problem(code, args, node.pos))

    def want_bool(self, node: ast.Expr, where: str) -> None:
        got = self.check(node)
        if got is not None and got not in (t.BOOL, t.NULL):
            self.report("E224", node, where=where, got=got)

    def unify_all(self, nodes: tuple[ast.Expr, ...], what: str) -> Type | None:
        """The common type of `nodes` (branches, list elements); E226 at the first misfit."""
        got = [(node, self.check(node)) for node in nodes]
        result: Type | None = t.NULL
        for node, type_ in got:
            if type_ is None or result is None:
                result = None
                continue
            common = unify(result, type_)
            if common is None:
                self.report("E226", node, problem=f"{what} have different types: {result} and {type_}")
            result = common
        return result

    def literal(self, node: ast.Node) -> Type:
        return _LITERAL_TYPES[type(node)]

    def list_(self, node: ast.ListLit) -> Type | None:
        item = self.unify_all(node.items, "list elements")
        return None if item is None else ListOf(item)

    def field(self, node: ast.Field) -> Type | None:
        return self.member(node, self.schema, node.name)

    def member(self, node: ast.Node, struct: Struct, name: str) -> Type | None:
        found = struct.field(name)
        if found is None:
            names = [n for n, _ in struct.fields]
            self.report("E104", node, name=name, where=self.where, suggestion=_field_suggestion(name, names))
        return found

    def get_field(self, node: ast.GetField) -> Type | None:
        obj = self.check(node.obj)
        if obj is None or obj == t.NULL:
            return obj
        if isinstance(obj, Struct):
            return self.member(node, obj, node.name)
        self.report("E229", node, name=node.name, got=obj)
        return None

    def index(self, node: ast.Index) -> Type | None:
        obj, index = self.check(node.obj), self.check(node.index)
        if obj is None or index is None:
            return None
        if (isinstance(obj, ListOf) or obj == t.NULL) and index in (t.INT, t.NULL):
            return obj.item if isinstance(obj, ListOf) else t.NULL
        self.report("E230", node, got=obj, index=index)
        return None

    def unary(self, node: ast.Unary) -> Type | None:
        if node.op == "not":
            self.want_bool(node.operand, "the operand of 'not'")
            return t.BOOL
        operand = self.check(node.operand)
        if operand is None:
            return None
        result = negation_type(operand)
        if result is None:
            self.report("E228", node, op=node.op, operand=operand)
        return result

    def binary(self, node: ast.Binary) -> Type | None:
        if node.op in ("and", "or"):
            self.want_bool(node.left, f"the left side of '{node.op}'")
            self.want_bool(node.right, f"the right side of '{node.op}'")
            return t.BOOL
        left, right = self.check(node.left), self.check(node.right)
        if left is None or right is None:
            return None
        if node.op in ARITHMETIC:
            result = arithmetic_type(node.op, left, right)
        else:
            result = t.BOOL if comparable(left, right) else None
        if result is None:
            self.problems.append(Problem("E220", {"op": node.op, "left": operand(node.left, left),
                                                  "right": operand(node.right, right)}, node.pos,
                                         _time_text_help(node, left, right)))
        return result

    def compared(self, op: str, operand_node: ast.Expr, others: tuple[ast.Expr, ...]) -> Type:
        left = self.check(operand_node)
        for other in others:
            right = self.check(other)
            if left is not None and right is not None and not comparable(left, right):
                self.report("E220", other, op=op, left=operand(operand_node, left), right=operand(other, right))
        return t.BOOL

    def in_(self, node: ast.In) -> Type:
        return self.compared("not in" if node.negated else "in", node.operand, node.items)

    def between(self, node: ast.Between) -> Type:
        return self.compared("between", node.operand, (node.low, node.high))

    def is_null(self, node: ast.IsNull) -> Type:
        self.check(node.operand)
        return t.BOOL

    def if_(self, node: ast.If) -> Type | None:
        self.want_bool(node.cond, "the condition of 'if'")
        return self.unify_all((node.then, node.else_), "the branches of 'if'")

    def case(self, node: ast.Case) -> Type | None:
        for when in node.whens:
            self.want_bool(when.cond, "a 'when' condition")
        values = tuple(w.value for w in node.whens) + ((node.else_,) if node.else_ is not None else ())
        return self.unify_all(values, "the branches of 'case'")

    def call(self, node: ast.Call) -> Type | None:
        args = [self.check(arg) for arg in node.args]
        function = FUNCTIONS.get(node.name)
        if node.name in AGGREGATES:
            problem = f"aggregate '{node.name}' is only allowed in an aggregate's 'compute'"
            if self.where.startswith("aggregate '"):  # an argument of a compute entry (`sum(sum(x))`)
                problem = f"aggregates do not nest: '{node.name}' inside an argument of {self.where}"
            self.report("E106", node, problem=problem)
            return None
        if node.name in SPECIAL_FORMS:
            return self.arity(node, 0, 0) and t.DATETIME
        if function is None:
            known = sorted({*FUNCTIONS, *SPECIAL_FORMS})
            self.report("E105", node, name=node.name, suggestion=codes.did_you_mean(node.name, known))
            return None
        if not self.arity(node, function.min_args, function.max_args) or None in args:
            return None
        result = function.result_type(tuple(args))  # type: ignore[arg-type]
        if isinstance(result, str):
            self.report("E222", node, name=node.name, problem=named_argument(result, node.args))
            return None
        return result if self.constants_ok(node, function) else None

    def constants_ok(self, node: ast.Call, function: FunctionDef) -> bool:
        """The compile-time checks of constant arguments (a regex, a format): E223, E225, E227."""
        problems = function.check_constants(tuple(constant_value(arg) for arg in node.args))
        for index, code, args in problems:
            self.problems.append(Problem(code, dict(args), node.args[index].pos))
        return not problems

    def arity(self, node: ast.Call, low: int, high: int | None) -> bool:
        got = len(node.args)
        if low <= got and (high is None or got <= high):
            return True
        expected = str(low) if low == high else f"at least {low}" if high is None else f"{low} to {high}"
        plural = "" if expected in ("1", "at least 1") else "s"
        self.report("E221", node, name=node.name, expected=expected, plural=plural, got=got)
        return False


def _field_suggestion(name: str, names: list[str]) -> str:
    """`; did you mean 'amount'?`, and how to write the field when its name needs back-quotes: in
    `order-id > 0` the unknown field is `order`, and "did you mean 'order-id'?" alone left the user
    who wrote `order-id` with no clue."""
    meant = codes.closest(name, names)
    if meant is None:
        return ""
    written = unparse(ast.Field(name=meant))
    return f"; did you mean '{meant}'?" + (f" write it in back-quotes: {written}" if written != meant else "")


def _time_text_help(node: ast.Binary, left: Type, right: Type) -> str | None:
    """`ts > "2026-01-01"`: a time is compared with a time; say how to write one from text."""
    for text, other in ((node.left, right), (node.right, left)):
        if isinstance(text, ast.StringLit) and other == t.DATETIME and node.op not in ARITHMETIC:
            return f"write the time as one: parse_timestamp({unparse(text)})"
    return None


_LITERAL_TYPES: dict[type, Type] = {
    ast.NullLit: t.NULL, ast.BoolLit: t.BOOL, ast.IntLit: t.INT, ast.FloatLit: t.FLOAT,
    ast.StringLit: t.STRING, ast.DurationLit: t.DURATION,
}
_RULES: dict[type, Callable[[_Checker, ast.Node], Type | None]] = {
    **dict.fromkeys(_LITERAL_TYPES, _Checker.literal),
    ast.ListLit: _Checker.list_,
    ast.Field: _Checker.field,
    ast.GetField: _Checker.get_field,
    ast.Index: _Checker.index,
    ast.Unary: _Checker.unary,
    ast.Binary: _Checker.binary,
    ast.In: _Checker.in_,
    ast.Between: _Checker.between,
    ast.IsNull: _Checker.is_null,
    ast.If: _Checker.if_,
    ast.Case: _Checker.case,
    ast.Call: _Checker.call,
}  # type: ignore[dict-item]


def operand(node: ast.Expr, type_: Type) -> str:
    """`'status' (string)`: the operand's text names the field a type error is about (short ones only)."""
    text = quoted_text(node)
    return f"{text} ({type_})" if text else str(type_)


def quoted_text(node: ast.Expr) -> str | None:
    """`'status'`, the text of a short expression, for a message; None for a long one."""
    try:
        text = unparse(node)
    except ValueError:
        return None
    return f"'{text}'" if len(text) <= 40 else None


def named_argument(problem: str, args: tuple[ast.Expr, ...]) -> str:
    """`argument 1 must be int, got string` -> `argument 1 ('status') must be ...`: the text names the field."""
    match = re.match(r"argument (\d+) ", problem)
    text = quoted_text(args[int(match[1]) - 1]) if match and 0 < int(match[1]) <= len(args) else None
    return f"{match[0]}({text}) {problem[match.end():]}" if match and text else problem
