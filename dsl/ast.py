"""The expression AST: frozen dataclasses, one per construct of SPEC §5.

Every node carries `pos`, the `TextRange` of its text inside the expression string. Positions take
no part in equality, so `parse(unparse(e)) == e` compares structure only, and rewrite rules can build
nodes freely. Children are tuples, never lists, so every node is hashable.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

from flowc.dsl.span import TextRange

NO_POS = TextRange(0, 0)

BINARY_OPS = frozenset({"or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%"})
UNARY_OPS = frozenset({"-", "not"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    pos: TextRange = field(default=NO_POS, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class NullLit(Node):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class BoolLit(Node):
    value: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class IntLit(Node):
    value: int  # non-negative as parsed: `-3` is Unary("-", IntLit(3))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class FloatLit(Node):
    value: float  # finite, non-negative as parsed; constant folding makes negative ones, -0.0 too

    # Python has 0.0 == -0.0, but the two are different values of the language (`to_string` writes
    # "-0.0", `1 / x` is -inf): equal literals would share one lowering (a cache keyed by the
    # expression) or one common sub-expression, and a folded -0.0 would read as 0.0 or the reverse.
    def __eq__(self, other: object) -> bool:
        return type(other) is FloatLit and _signed(self.value) == _signed(other.value)

    def __hash__(self) -> int:
        return hash(_signed(self.value))


def _signed(value: float) -> tuple[float, float]:
    return value, math.copysign(1.0, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class StringLit(Node):
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DurationLit(Node):
    micros: int  # `5m` is 300_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ListLit(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Field(Node):
    """A top-level field of the record: `amount`, `` `odd name` ``, `$.amount`, `$["odd key"]`."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetField(Node):
    """`obj.name`: a field of a struct."""

    obj: Expr
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Index(Node):
    """`obj[index]`: a list element, counting from 0, negative from the end."""

    obj: Expr
    index: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Node):
    op: str
    operand: Expr

    def __post_init__(self) -> None:
        assert self.op in UNARY_OPS, self.op


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary(Node):
    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        assert self.op in BINARY_OPS, self.op


@dataclass(frozen=True, slots=True, kw_only=True)
class In(Node):
    """`operand in (items...)`, or `not in` when `negated`."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Between(Node):
    """`operand between low and high`: `operand >= low and operand <= high`."""

    operand: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class IsNull(Node):
    """`operand is null`, or `is not null` when `negated`."""

    operand: Expr
    negated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class If(Node):
    """`if(cond, then, else_)`: a null condition takes the else branch."""

    cond: Expr
    then: Expr
    else_: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class When(Node):
    cond: Expr
    value: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Case(Node):
    """`case when c1 then v1 ... else v end`; without `else`, null."""

    whens: tuple[When, ...]
    else_: Expr | None = None

    def __post_init__(self) -> None:
        assert self.whens, "case needs at least one when"


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    """A call of a library function (`upper(s)`) or, inside `aggregate`, an aggregate (`sum(x)`)."""

    name: str
    args: tuple[Expr, ...]


Expr = (
    NullLit | BoolLit | IntLit | FloatLit | StringLit | DurationLit | ListLit
    | Field | GetField | Index | Unary | Binary | In | Between | IsNull | If | Case | Call
)
LITERALS = (NullLit, BoolLit, IntLit, FloatLit, StringLit, DurationLit)


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of `node`, in source order (a `Case`'s `When`s included)."""
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Node))


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, without recursion (trees may be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


def top_level_fields(expr: Node) -> frozenset[str]:
    """Names of the record's top-level fields that `expr` reads."""
    return frozenset(n.name for n in walk(expr) if isinstance(n, Field))
