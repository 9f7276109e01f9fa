"""Hypothesis strategies for expression ASTs, shared by every test that needs expressions.

    from strategies import expressions, field_names, string_values

`expressions()` draws arbitrary ASTs of every node type, with literals as the parser builds them
(numbers non-negative, durations whole milliseconds), so `parse_expression(unparse(e)) == e`. The
trees are untyped: `"a" + true` is a fine draw. `field_names()` includes keywords, spaces, quotes,
back-quotes, newlines and other scripts; `string_values()` the same kinds of text.
"""

from __future__ import annotations

from hypothesis import strategies as st

from flowc.dsl.ast import (
    BINARY_OPS,
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
    When,
)
from flowc.dsl.parser import IDENTIFIER, KEYWORDS, UNIT_MICROS

INT_MAX = 2**63 - 1
_TRICKY = ('"', "'", "\\", "`", "``", "\n", "\t", "\r", " ", "\\n", '\\"', "$", ".", "[", "]", "(", ",",
           "é", "日本", "ß", "\u00a0", "\x00", "😀", "0", "_")
_SIMPLE_NAMES = ("a", "b", "x", "amount", "user", "tier", "items", "ts", "_private", "value2", "Élan", "名前")


def string_values() -> st.SearchStrategy[str]:
    """Text for string literals: anything, often built from quotes, escapes and other scripts."""
    pieces = st.one_of(st.sampled_from(_TRICKY), st.text(max_size=3))
    return st.one_of(st.text(max_size=10), st.lists(pieces, max_size=6).map("".join))


def identifiers() -> st.SearchStrategy[str]:
    """Names written bare: a letter or `_`, then letters, digits, `_`; never a keyword."""
    drawn = st.from_regex(r"[^\W\d]\w{0,6}", fullmatch=True)
    return st.one_of(st.sampled_from(_SIMPLE_NAMES), drawn).filter(
        lambda name: IDENTIFIER.fullmatch(name) is not None and name not in KEYWORDS
    )


def field_names() -> st.SearchStrategy[str]:
    """Non-empty field names: identifiers, keywords, and names that need back-quotes or `["..."]`."""
    odd = st.sampled_from(("my field", "a.b", "`x`", "$", "1st", "end", "and", "If", "x-y", "日本 語", "a\nb"))
    return st.one_of(identifiers(), st.sampled_from(sorted(KEYWORDS)), odd, string_values().filter(bool))


def _durations() -> st.SearchStrategy[int]:
    by_unit = st.builds(lambda n, unit: n * unit, st.integers(0, 10_000), st.sampled_from(sorted(UNIT_MICROS.values())))
    return st.one_of(by_unit, st.integers(0, INT_MAX // 1000).map(lambda n: n * 1000))


def literals() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.just(NullLit()),
        st.builds(BoolLit, value=st.booleans()),
        st.builds(IntLit, value=st.one_of(st.integers(0, 1000), st.integers(0, INT_MAX))),
        st.builds(FloatLit, value=st.floats(min_value=0, allow_nan=False, allow_infinity=False).map(abs)),
        st.builds(StringLit, value=string_values()),
        st.builds(DurationLit, micros=_durations()),
    )


def _compound(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    some = st.lists(children, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Binary, op=st.sampled_from(sorted(BINARY_OPS)), left=children, right=children),
        st.builds(Unary, op=st.sampled_from(["-", "not"]), operand=children),
        st.builds(GetField, obj=children, name=field_names()),
        st.builds(Index, obj=children, index=children),
        st.builds(ListLit, items=some),
        st.builds(In, operand=children, items=some, negated=st.booleans()),
        st.builds(Between, operand=children, low=children, high=children),
        st.builds(IsNull, operand=children, negated=st.booleans()),
        st.builds(If, cond=children, then=children, else_=children),
        st.builds(
            Case,
            whens=st.lists(st.builds(When, cond=children, value=children), min_size=1, max_size=3).map(tuple),
            else_=st.none() | children,
        ),
        st.builds(Call, name=identifiers(), args=some),
    )


def expressions(max_leaves: int = 12) -> st.SearchStrategy[Node]:
    """Arbitrary expression ASTs of every node type, up to `max_leaves` leaves."""
    leaves = st.one_of(literals(), st.builds(Field, name=field_names()))
    return st.recursive(leaves, _compound, max_leaves=max_leaves)
