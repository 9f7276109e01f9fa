"""Parse expression text (SPEC §5, docs/language.md) into the AST of `flowc.dsl.ast`.

    >>> parse_expression("amount > 10 and user.tier in ('gold', 'silver')")  # doctest: +ELLIPSIS
    Binary(op='and', left=Binary(op='>', left=Field(name='amount'), right=IntLit(value=10)), ...)

The grammar is `expr.lark`, parsed LALR(1) with the Transformer below applied inline: each rule's
node is built when the rule is reduced, so building never recurses however deep the text nests.
Every rule returns a `_Built`: the node plus what its parent needs to know about it, its nesting depth
(checked against `MAX_DEPTH` as the tree grows, so hostile input stops early) and the text it spans
including any parentheses around it (a node's own `pos` leaves those parentheses out).

Errors are `ExpressionSyntaxError`s with an E2xx code; `syntax_errors.py` translates Lark's.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from typing import NamedTuple

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from flowc.dsl.ast import (
    Between,
    Binary,
    BoolLit,
    Call,
    Case,
    DurationLit,
    Expr,
    Field,
    FloatLit,
    GetField,
    If,
    In,
    Index,
    IntLit,
    IsNull,
    ListLit,
    Node,
    NullLit,
    StringLit,
    Unary,
    When,
)
from flowc.dsl.span import TextRange
from flowc.dsl.syntax_errors import ExpressionSyntaxError, syntax_error, translate

__all__ = ["IDENTIFIER", "KEYWORDS", "MAX_DEPTH", "MAX_LENGTH", "ExpressionSyntaxError",
           "expression_from_scalar", "parse_expression"]

MAX_DEPTH = 200  # nesting levels: each operator, call, bracket or parenthesis around a part is one
MAX_LENGTH = 65536  # characters
INT_MAX = 2**63 - 1
KEYWORDS = frozenset(
    {"and", "or", "not", "in", "between", "is", "null", "true", "false", "if", "case", "when", "then", "else", "end"}
)
IDENTIFIER = re.compile(r"[^\W\d]\w*")  # the grammar's NAME; a keyword spelled so is the keyword
UNIT_MICROS = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(r"\\([\s\S])")
_DURATION = re.compile(r"([0-9]+)([a-z]+)")
_WHITESPACE = " \t\f\r\n"  # what the grammar ignores


class _Built(NamedTuple):
    node: Node
    depth: int  # 0 for a literal or a field, else 1 + the deepest part
    span: TextRange  # the node's text, with the parentheses written around it


class _Items(NamedTuple):
    items: tuple[_Built, ...]
    end: int


def _leaf(node: Node) -> _Built:
    return _Built(node, 0, node.pos)


def _nested(cls: type, start: int, end: int, parts: Sequence[_Built], **fields: object) -> _Built:
    depth = 1 + max((p.depth for p in parts), default=0)
    if depth > MAX_DEPTH:
        raise syntax_error("E207", start, end, limit=MAX_DEPTH)
    pos = TextRange(start, end)
    return _Built(cls(pos=pos, **fields), depth, pos)


def _binary(op: str):
    def build(self: _Builder, left: _Built, *rest: object) -> _Built:
        right = rest[-1]  # a named operator token, if any, sits between the operands
        assert isinstance(right, _Built)
        return _nested(Binary, left.span.start, right.span.end, (left, right), op=op, left=left.node,
                       right=right.node)
    return build


def _name(token: Token) -> str:
    """A NAME's text, or a QUOTED_NAME's text between its back-quotes with doubled back-quotes undone."""
    return token.value[1:-1].replace("``", "`") if token.type == "QUOTED_NAME" else token.value


def _string(token: Token) -> str:
    def unescape(match: re.Match[str]) -> str:
        if match[1] in _ESCAPES:
            return _ESCAPES[match[1]]
        at = token.start_pos + 1 + match.start()
        shown = match[0] if match[1].isprintable() else "\\" + repr(match[1])[1:-1]
        raise syntax_error("E204", at, at + 2, escape=shown)

    return _ESCAPE.sub(unescape, token.value[1:-1])


def _checked_int(digits: str, token: Token, what: str, scale: int = 1) -> int:
    # Python refuses int() of over 4300 digits; anything past 19 digits is out of range anyway.
    value = int(digits) * scale if len(digits.lstrip("0")) <= 19 else INT_MAX + 1
    if value > INT_MAX:
        raise syntax_error("E209", token.start_pos, token.end_pos, what=what, text=_clip(token.value))
    return value


def _clip(text: str) -> str:
    return text if len(text) <= 30 else text[:25] + "..."


def _span(token: Token) -> TextRange:
    return TextRange(token.start_pos, token.end_pos)


@v_args(inline=True)
class _Builder(Transformer):
    """One method per aliased rule of expr.lark; each returns a `_Built` (`in_items`: `_Items`)."""

    or_, and_ = _binary("or"), _binary("and")
    eq, ne, lt, le, gt, ge = (_binary(op) for op in ("==", "!=", "<", "<=", ">", ">="))
    add, sub, mul, div, floordiv, mod = (_binary(op) for op in ("+", "-", "*", "/", "//", "%"))

    def not_(self, op: Token, operand: _Built) -> _Built:
        return _nested(Unary, op.start_pos, operand.span.end, (operand,), op="not", operand=operand.node)

    def neg(self, op: Token, operand: _Built) -> _Built:
        return _nested(Unary, op.start_pos, operand.span.end, (operand,), op="-", operand=operand.node)

    def in_items(self, _open: Token, *rest: object) -> _Items:
        *items, close = rest
        assert isinstance(close, Token)
        return _Items(tuple(items), close.end_pos)  # type: ignore[arg-type]

    def _in(self, operand: _Built, items: _Items, negated: bool) -> _Built:
        return _nested(In, operand.span.start, items.end, (operand, *items.items), operand=operand.node,
                       items=tuple(i.node for i in items.items), negated=negated)

    def in_list(self, operand: _Built, items: _Items) -> _Built:
        return self._in(operand, items, negated=False)

    def not_in_list(self, operand: _Built, *rest: object) -> _Built:
        return self._in(operand, rest[-1], negated=True)  # type: ignore[arg-type]

    def between(self, operand: _Built, low: _Built, high: _Built) -> _Built:
        return _nested(Between, operand.span.start, high.span.end, (operand, low, high),
                       operand=operand.node, low=low.node, high=high.node)

    def is_null(self, operand: _Built, null: Token) -> _Built:
        return _nested(IsNull, operand.span.start, null.end_pos, (operand,), operand=operand.node)

    def is_not_null(self, operand: _Built, *rest: Token) -> _Built:
        return _nested(IsNull, operand.span.start, rest[-1].end_pos, (operand,), operand=operand.node,
                       negated=True)

    def get_field(self, obj: _Built, name: Token) -> _Built:
        return _nested(GetField, obj.span.start, name.end_pos, (obj,), obj=obj.node, name=_name(name))

    def get_key(self, obj: _Built, key: Token, close: Token) -> _Built:
        return _nested(GetField, obj.span.start, close.end_pos, (obj,), obj=obj.node, name=_string(key))

    def index(self, obj: _Built, index: _Built, close: Token) -> _Built:
        return _nested(Index, obj.span.start, close.end_pos, (obj, index), obj=obj.node, index=index.node)

    def int_(self, token: Token) -> _Built:
        return _leaf(IntLit(value=_checked_int(token.value, token, "number"), pos=_span(token)))

    def float_(self, token: Token) -> _Built:
        value = float(token.value)
        if not math.isfinite(value):
            raise syntax_error("E209", token.start_pos, token.end_pos, what="number", text=_clip(token.value))
        return _leaf(FloatLit(value=value, pos=_span(token)))

    def duration(self, token: Token) -> _Built:
        digits, unit = _DURATION.fullmatch(token.value).groups()  # type: ignore[union-attr]
        micros = _checked_int(digits, token, "duration", UNIT_MICROS[unit])
        return _leaf(DurationLit(micros=micros, pos=_span(token)))

    def string(self, token: Token) -> _Built:
        return _leaf(StringLit(value=_string(token), pos=_span(token)))

    def true(self, token: Token) -> _Built:
        return _leaf(BoolLit(value=True, pos=_span(token)))

    def false(self, token: Token) -> _Built:
        return _leaf(BoolLit(value=False, pos=_span(token)))

    def null(self, token: Token) -> _Built:
        return _leaf(NullLit(pos=_span(token)))

    def field(self, token: Token) -> _Built:
        return _leaf(Field(name=_name(token), pos=_span(token)))

    def record_field(self, dollar: Token, name: Token) -> _Built:
        """`$.name` is the record's field `name`."""
        return _leaf(Field(name=_name(name), pos=TextRange(dollar.start_pos, name.end_pos)))

    def record_key(self, dollar: Token, key: Token, close: Token) -> _Built:
        return _leaf(Field(name=_string(key), pos=TextRange(dollar.start_pos, close.end_pos)))

    def paren(self, open_: Token, inner: _Built, close: Token) -> _Built:
        span = TextRange(open_.start_pos, close.end_pos)
        if inner.depth + 1 > MAX_DEPTH:
            raise syntax_error("E207", span.start, span.end, limit=MAX_DEPTH)
        return _Built(inner.node, inner.depth + 1, span)

    def list_(self, open_: Token, *rest: object) -> _Built:
        *items, close = rest
        return _nested(ListLit, open_.start_pos, close.end_pos, items,  # type: ignore[union-attr,arg-type]
                       items=tuple(i.node for i in items))  # type: ignore[union-attr]

    def call(self, name: Token, _open: Token, *rest: object) -> _Built:
        *args, close = rest
        return _nested(Call, name.start_pos, close.end_pos, args,  # type: ignore[union-attr,arg-type]
                       name=name.value, args=tuple(a.node for a in args))  # type: ignore[union-attr]

    def if_(self, keyword: Token, _open: Token, *rest: object) -> _Built:
        *args, close = rest
        assert isinstance(close, Token)
        if len(args) != 3:
            raise syntax_error("E212", keyword.start_pos, close.end_pos, got=len(args))
        cond, then, else_ = args  # type: ignore[misc]
        return _nested(If, keyword.start_pos, close.end_pos, args,  # type: ignore[arg-type]
                       cond=cond.node, then=then.node, else_=else_.node)

    def when(self, keyword: Token, cond: _Built, value: _Built) -> _Built:
        return _nested(When, keyword.start_pos, value.span.end, (cond, value), cond=cond.node, value=value.node)

    def case(self, keyword: Token, *rest: object) -> _Built:
        *whens, end = rest
        return _nested(Case, keyword.start_pos, end.end_pos, whens,  # type: ignore[union-attr,arg-type]
                       whens=tuple(w.node for w in whens))  # type: ignore[union-attr]

    def case_else(self, keyword: Token, *rest: object) -> _Built:
        *whens, else_, end = rest
        return _nested(Case, keyword.start_pos, end.end_pos, (*whens, else_),  # type: ignore[union-attr,arg-type]
                       whens=tuple(w.node for w in whens), else_=else_.node)  # type: ignore[union-attr]


# Positions come from the tokens in `_Builder`, not from `propagate_positions`, which only annotates
# Lark's own Tree objects.
def _grammar_cache() -> str | bool:
    """Where Lark keeps the analysed grammar (building the LALR tables costs ~0.1 s per process start).
    A private folder, not Lark's default in the shared temp dir: the cache is a pickle, and a file
    another user planted there would be loaded. Lark checks the grammar's hash stored in the file."""
    folder = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                          "flowc")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    return os.path.join(folder, "expr-grammar.lark-cache")


_LARK = Lark.open_from_package("flowc.dsl", "expr.lark", ("",), parser="lalr", lexer="basic",
                               transformer=_Builder(), cache=_grammar_cache())


def parse_expression(text: str) -> Expr:
    """The AST of `text`; raises `ExpressionSyntaxError` (and nothing else) when it does not parse."""
    if len(text) > MAX_LENGTH:
        raise syntax_error("E208", MAX_LENGTH, len(text), size=len(text), limit=MAX_LENGTH)
    if not text.strip(_WHITESPACE):
        raise syntax_error("E211", 0, len(text))
    try:
        built = _LARK.parse(text)
    except UnexpectedInput as error:
        raise translate(error, text, _LARK) from None
    return built.node


def expression_from_scalar(value: object) -> Expr:
    """The expression a YAML scalar stands for: a string is parsed, other scalars are constants.

    A negative number becomes `-` applied to its magnitude, as the parser would read it.
    """
    if isinstance(value, str):
        return parse_expression(value)
    if value is None:
        return NullLit()
    if isinstance(value, bool):
        return BoolLit(value=value)
    if isinstance(value, int):
        if value == -INT_MAX - 1:  # the smallest int64 has no literal of its own (`-` applies to a literal)
            return Binary(op="-", left=Unary(op="-", operand=IntLit(value=INT_MAX)), right=IntLit(value=1))
        if abs(value) > INT_MAX:
            shown = str(value) if value.bit_length() < 1000 else "(a number of over 300 digits)"
            raise syntax_error("E209", 0, 0, what="number", text=_clip(shown))
        return IntLit(value=value) if value >= 0 else Unary(op="-", operand=IntLit(value=-value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise syntax_error("E209", 0, 0, what="number", text=repr(value))
        literal = FloatLit(value=abs(value))
        return literal if math.copysign(1.0, value) > 0 else Unary(op="-", operand=literal)
    raise TypeError(f"not a YAML scalar: {type(value).__name__}")
