"""Any text either parses or raises ExpressionSyntaxError with a known code at a spot inside the text.

Hypothesis draws arbitrary text, token soup, and valid expressions with tokens deleted, inserted or
swapped; hostile inputs (deep nesting, huge sums, long strings) must be refused or parsed quickly.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import expressions

from flowc.dsl.ast import walk
from flowc.dsl.codes import CODES
from flowc.dsl.parser import MAX_LENGTH, ExpressionSyntaxError, parse_expression
from flowc.dsl.unparse import unparse

SYNTAX_CODES = {code for code in CODES if "E200" <= code <= "E219"}
VOCABULARY = (
    "a", "b", "x.y", "f", "if", "case", "when", "then", "else", "end", "and", "or", "not", "in", "between",
    "is", "null", "true", "false", "(", ")", "[", "]", ",", ".", "$", "+", "-", "*", "/", "//", "%", "==",
    "!=", "<", "<=", ">", ">=", "=", "!", "1", "0", "2.5", "1e999", "5m", "99999999999999999999", '"s"',
    "'t'", '"', "'", "`", "`q`", "\\", "\\q", "\n", " ", "é", "\x00", "#", "@", "{", "}",
)
TOKENS = st.sampled_from(VOCABULARY)
MUTATIONS = st.sampled_from(["delete", "insert", "swap", "duplicate"])
VALID = expressions(max_leaves=8)  # built once: building a recursive strategy per draw is slow
_PIECES = re.compile(r"\s+|\w+|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|.", re.DOTALL)


def check(text: str) -> None:
    """Parse `text`; a failure must be a well-formed ExpressionSyntaxError, a success well-positioned."""
    try:
        expr = parse_expression(text)
    except ExpressionSyntaxError as error:
        assert error.code in SYNTAX_CODES
        assert 0 <= error.pos.start <= error.pos.end <= len(text)
        assert error.message == CODES[error.code].template.format(**error.args)
        assert error.message and not error.message[0].isupper() and not error.message.endswith(".")
        assert "Token(" not in error.message and "$END" not in error.message
    else:
        for node in walk(expr):
            assert 0 <= node.pos.start <= node.pos.end <= len(text)


@given(st.text(max_size=40))
def test_arbitrary_text(text: str) -> None:
    check(text)


@given(st.lists(TOKENS, max_size=14))
def test_token_soup(tokens: list[str]) -> None:
    check(" ".join(tokens))
    check("".join(tokens))


def _mutations(draw, pieces: list[str]) -> list[str]:
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(MUTATIONS)
        at = draw(st.integers(0, max(len(pieces) - 1, 0)))
        if kind == "insert" or not pieces:
            pieces.insert(at, draw(TOKENS))
        elif kind == "delete":
            del pieces[at]
        elif kind == "duplicate":
            pieces.insert(at, pieces[at])
        else:
            other = draw(st.integers(0, len(pieces) - 1))
            pieces[at], pieces[other] = pieces[other], pieces[at]
    return pieces


@st.composite
def mutated_expressions(draw) -> str:
    pieces = _PIECES.findall(unparse(draw(VALID)))
    return "".join(_mutations(draw, pieces))


@given(mutated_expressions())
def test_mutated_valid_expressions(text: str) -> None:
    check(text)


HOSTILE = {
    "10k-deep parentheses": "(" * 10_000 + "a" + ")" * 10_000,
    "10k unclosed parentheses": "(" * 10_000 + "a",
    "30k-term sum": "+".join(["a"] * 30_000),
    "100k-term sum": "+".join(["a"] * 100_000),
    "right-nested sum": "a+(" * 10_000 + "a" + ")" * 10_000,
    "30k nots": "not " * 16_000 + "x",
    "60k minus signs": "-" * 60_000 + "x",
    "20k-deep field access": "a" + ".b" * 20_000,
    "20k-deep lists": "[" * 20_000 + "]" * 20_000,
    "20k-deep cases": "case when " * 6_000 + "a",
    "60k-char string": '"' + "x" * 60_000 + '"',
    "60k-char unterminated string": '"' + "x\\\\" * 20_000,
    "60k-char name": "n" * 60_000,
    "8k-element list": "[" + ",".join(["1"] * 8_000) + "]",
    "chained comparisons": "a<" * 20_000 + "a",
    "just over the length limit": "a" * (MAX_LENGTH + 1),
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_cheap(text: str) -> None:
    started = time.perf_counter()
    check(text)
    assert time.perf_counter() - started < 2.0


def test_hostile_nesting_is_refused_not_recursed() -> None:
    for text in (HOSTILE["10k-deep parentheses"], HOSTILE["30k-term sum"], HOSTILE["30k nots"]):
        with pytest.raises(ExpressionSyntaxError) as caught:
            parse_expression(text)
        assert caught.value.code == "E207"
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(HOSTILE["100k-term sum"])
    assert caught.value.code == "E208"
