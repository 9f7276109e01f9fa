"""Print an expression AST as canonical text, with as few parentheses as the grammar allows.

    >>> from flowc.dsl.parser import parse_expression
    >>> unparse(parse_expression("((a + b)) * -(c) and not x.`odd name`"))
    '(a + b) * -c and not x["odd name"]'

`parse_expression(unparse(e)) == e` for every AST whose literals are as the parser builds them
(numbers non-negative, durations whole milliseconds) and whose calls name functions; tests prove it
with hypothesis over `tests/strategies.py`. A negative number literal, which only a rewrite can make,
prints as `-3` and reads back as `-` applied to `3`.
"""

from __future__ import annotations

import math

from flowc.dsl.ast import (
    Between,
    Binary,
    BoolLit,
    Call,
    Case,
    DurationLit,
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
)
from flowc.dsl.parser import IDENTIFIER, KEYWORDS, UNIT_MICROS

# Binding strength, loosest first; an operand binding looser than its place requires is parenthesized.
OR, AND, NOT, COMPARISON, ADDITIVE, MULTIPLICATIVE, NEGATION, POSTFIX, ATOM = range(1, 10)
_BINARY_LEVEL = {
    "or": OR, "and": AND,
    "==": COMPARISON, "!=": COMPARISON, "<": COMPARISON, "<=": COMPARISON, ">": COMPARISON, ">=": COMPARISON,
    "+": ADDITIVE, "-": ADDITIVE, "*": MULTIPLICATIVE, "/": MULTIPLICATIVE, "//": MULTIPLICATIVE,
    "%": MULTIPLICATIVE,
}
_UNITS = sorted(UNIT_MICROS.items(), key=lambda unit: -unit[1])  # largest first
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"})


def unparse(expr: Node) -> str:
    """The canonical text of `expr`; raises ValueError for an AST no text can stand for."""
    return _text(expr)


def level(expr: Node) -> int:
    """How tightly `expr`'s text binds (`OR` .. `ATOM`)."""
    if isinstance(expr, Binary):
        return _BINARY_LEVEL[expr.op]
    if isinstance(expr, Unary):
        return NOT if expr.op == "not" else NEGATION
    if isinstance(expr, In | Between | IsNull):
        return COMPARISON
    if isinstance(expr, GetField | Index):
        return POSTFIX
    if isinstance(expr, IntLit | FloatLit) and math.copysign(1, expr.value) < 0:
        return NEGATION
    if isinstance(expr, DurationLit) and expr.micros < 0:
        return NEGATION
    return ATOM


def _operand(expr: Node, at_least: int) -> str:
    text = _text(expr)
    return f"({text})" if level(expr) < at_least else text


def _text(expr: Node) -> str:
    match expr:
        case Binary(op=op, left=left, right=right):
            at = _BINARY_LEVEL[op]
            if at == COMPARISON:  # comparisons do not chain: both sides sit one level tighter
                return f"{_operand(left, ADDITIVE)} {op} {_operand(right, ADDITIVE)}"
            return f"{_operand(left, at)} {op} {_operand(right, at + 1)}"  # left-associative
        case Unary(op="not", operand=operand):
            return f"not {_operand(operand, NOT)}"
        case Unary(operand=operand):
            return f"-{_operand(operand, NEGATION)}"
        case In(operand=operand, items=items, negated=negated):
            return f"{_operand(operand, ADDITIVE)} {'not in' if negated else 'in'} ({_list(items)})"
        case Between(operand=operand, low=low, high=high):
            parts = (_operand(part, ADDITIVE) for part in (operand, low, high))
            return "{} between {} and {}".format(*parts)
        case IsNull(operand=operand, negated=negated):
            return f"{_operand(operand, ADDITIVE)} is {'not null' if negated else 'null'}"
        case GetField(obj=obj, name=name):
            plain = IDENTIFIER.fullmatch(name) and name not in KEYWORDS
            return _operand(obj, POSTFIX) + (f".{name}" if plain else f"[{_string(name)}]")
        case Index(obj=obj, index=index):
            # A bare string in brackets reads as a field name: keep an index by parenthesizing it.
            inner = f"({_text(index)})" if isinstance(index, StringLit) else _text(index)
            return f"{_operand(obj, POSTFIX)}[{inner}]"
        case _:
            return _atom(expr)


def _atom(expr: Node) -> str:
    match expr:
        case Field(name=name):
            return _name(name)
        case NullLit():
            return "null"
        case BoolLit(value=value):
            return "true" if value else "false"
        case IntLit(value=value):
            return str(value)
        case FloatLit(value=value):
            if not math.isfinite(value):
                raise ValueError(f"no expression text stands for the float {value!r}")
            return repr(value)
        case StringLit(value=value):
            return _string(value)
        case DurationLit(micros=micros):
            return _duration(micros)
        case ListLit(items=items):
            return f"[{_list(items)}]"
        case Call(name=name, args=args):
            if not IDENTIFIER.fullmatch(name) or name in KEYWORDS:
                raise ValueError(f"no expression text calls a function named {name!r}")
            return f"{name}({_list(args)})"
        case If(cond=cond, then=then, else_=else_):
            return f"if({_list((cond, then, else_))})"
        case Case(whens=whens, else_=else_):
            parts = [f"when {_text(w.cond)} then {_text(w.value)}" for w in whens]
            if else_ is not None:
                parts.append(f"else {_text(else_)}")
            return f"case {' '.join(parts)} end"
    raise ValueError(f"not an expression node: {type(expr).__name__}")


def _list(items: tuple[Node, ...]) -> str:
    return ", ".join(_text(item) for item in items)


def _name(name: str) -> str:
    if IDENTIFIER.fullmatch(name) and name not in KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def _string(value: str) -> str:
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def _duration(micros: int) -> str:
    sign, magnitude = ("-", -micros) if micros < 0 else ("", micros)
    for unit, size in _UNITS:
        if magnitude % size == 0:
            return f"{sign}{magnitude // size}{unit}"
    raise ValueError(f"no duration text stands for {micros} microseconds: durations are whole milliseconds")
