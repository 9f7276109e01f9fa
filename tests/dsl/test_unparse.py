"""The printer: canonical text, minimal parentheses, and `parse(unparse(e)) == e` for arbitrary ASTs."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import expressions

from flowc.dsl.ast import (
    Between,
    Binary,
    Call,
    DurationLit,
    Field,
    FloatLit,
    GetField,
    In,
    Index,
    IntLit,
    IsNull,
    StringLit,
    Unary,
)
from flowc.dsl.parser import parse_expression
from flowc.dsl.unparse import unparse

a, b, c = Field(name="a"), Field(name="b"), Field(name="c")


@given(expressions())
def test_parse_of_unparse_is_the_same_tree(expr) -> None:
    text = unparse(expr)
    assert parse_expression(text) == expr, text


@given(expressions())
def test_unparse_is_canonical(expr) -> None:
    text = unparse(expr)
    assert unparse(parse_expression(text)) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("((a + b)) * -(c)", "(a + b) * -c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a * (b * c)", "a * (b * c)"),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) == b", "(not a) == b"),
        ("not (a == b)", "not a == b"),
        ("not not a", "not not a"),
        ("(a < b) == c", "(a < b) == c"),
        ("(a + b).c", "(a + b).c"),
        ("-(a.b)", "-a.b"),
        ("(-a).b", "(-a).b"),
        ("- -a", "--a"),
        ("(a between b and c) is null", "(a between b and c) is null"),
        ("a between (b and c) and c", "a between (b and c) and c"),
        ("a between 1 and 2 and b", "a between 1 and 2 and b"),
        ("a in [1, 2]", "a in (1, 2)"),
        ("x['k']", 'x.k'),
        ("x['odd key']", 'x["odd key"]'),
        ("x[('k')]", 'x[("k")]'),
        ("$.user.tier", "user.tier"),
        ("$['odd key']", "`odd key`"),
        ("`end`", "`end`"),
        ("`a``b`", "`a``b`"),
        ("x.`and`", 'x["and"]'),
        ("'it\\'s \"q\"'", '"it\'s \\"q\\""'),
        ("60s + 1000ms + 90m + 48h", "1m + 1s + 90m + 2d"),
        ("0s", "0d"),
        ("1.50", "1.5"),
        ("1e16", "1e+16"),
        ("007", "7"),
        ("case when a then b end", "case when a then b end"),
        ("IF(a, b, c)", "IF(a, b, c)"),
        ("if (a,b ,c)", "if(a, b, c)"),
        ("(case when a then b else c end).d[0]", "case when a then b else c end.d[0]"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    assert unparse(parse_expression(text)) == canonical


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (Unary(op="-", operand=IntLit(value=3)), "-3"),
        (Binary(op="-", left=a, right=Binary(op="-", left=b, right=c)), "a - (b - c)"),
        (Binary(op="<", left=Binary(op="<", left=a, right=b), right=c), "(a < b) < c"),
        (Field(name="and"), "`and`"),
        (Field(name="my field"), "`my field`"),
        (GetField(obj=a, name="odd key"), 'a["odd key"]'),
        (GetField(obj=IntLit(value=3), name="e5"), "3.e5"),
        (Index(obj=a, index=StringLit(value="k")), 'a[("k")]'),
        (In(operand=Binary(op="==", left=a, right=b), items=(), negated=True), "(a == b) not in ()"),
        (IsNull(operand=Between(operand=a, low=b, high=c)), "(a between b and c) is null"),
        (Call(name="now", args=()), "now()"),
        (StringLit(value='a"b\\c\nd\te`\r'), '"a\\"b\\\\c\\nd\\te`\r"'),
    ],
)
def test_prints_asts_with_minimal_parentheses(expr, text: str) -> None:
    assert unparse(expr) == text
    assert parse_expression(text) == expr


@pytest.mark.parametrize(
    ("expr", "text", "reads_back_as"),
    [
        (IntLit(value=-3), "-3", Unary(op="-", operand=IntLit(value=3))),
        (Binary(op="-", left=a, right=IntLit(value=-3)), "a - -3", None),
        (GetField(obj=FloatLit(value=-1.5), name="x"), "(-1.5).x", None),
        (DurationLit(micros=-90_000_000), "-90s", Unary(op="-", operand=DurationLit(micros=90_000_000))),
    ],
)
def test_negative_literals_print_as_negation(expr, text: str, reads_back_as) -> None:
    """Only rewrites make negative literals; they print as `-` applied to the magnitude."""
    assert unparse(expr) == text
    if reads_back_as is not None:
        assert parse_expression(text) == reads_back_as


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (FloatLit(value=float("inf")), "float inf"),
        (FloatLit(value=float("nan")), "float nan"),
        (DurationLit(micros=1500), "whole milliseconds"),
        (Call(name="my func", args=()), "function named 'my func'"),
        (Call(name="and", args=()), "function named 'and'"),
    ],
)
def test_refuses_asts_no_text_stands_for(expr, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        unparse(expr)
