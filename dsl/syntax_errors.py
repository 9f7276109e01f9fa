"""Expression syntax errors: Lark's exceptions translated into E2xx codes with plain-words messages.

Raw Lark text never reaches a user. A lexer error becomes an unterminated string or name (E203,
E213) or an unexpected character (E210); a parser error becomes a chained comparison (E206, told
by the parser state it fails in, from a table of examples), an unclosed bracket at its opening
bracket (E205), or an unexpected token or end (E202, E201) saying what could have come instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from flowc.dsl.codes import CODES
from flowc.dsl.span import TextRange


class ExpressionSyntaxError(Exception):
    """An expression that does not parse: `code` (E2xx), its template `args`, `pos` and `message`."""

    def __init__(self, code: str, args: Mapping[str, object], pos: TextRange) -> None:
        self.message = CODES[code].template.format(**args)
        super().__init__(self.message)
        self.code = code
        self._args = dict(args)
        self.pos = pos

    @property  # shadows BaseException.args (a tuple) with the template arguments the API promises
    def args(self) -> dict[str, object]:  # type: ignore[override]
        return self._args

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self._args, self.pos))


def syntax_error(code: str, start: int, end: int, **args: object) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(code, args, TextRange(start, end))


# --- what the parser expected, in words ---

COMPARISONS = frozenset({"EQ", "NE", "LT", "LE", "GT", "GE", "IN", "BETWEEN", "IS"})
_OPERAND_STARTS = frozenset({
    "INT", "FLOAT", "STRING", "DURATION", "TRUE", "FALSE", "NULL", "NAME", "QUOTED_NAME", "DOLLAR",
    "LPAR", "LSQB", "MINUS", "NOT", "IF", "CASE",
})
_OPERATORS = COMPARISONS | {
    "OR", "AND", "NOT", "PLUS", "MINUS", "STAR", "SLASH", "FLOORDIV", "PERCENT", "DOT", "LSQB", "LPAR",
}
# Tokens named one by one, in this order, when no category above covers them.
_NAMED = ("NULL", "NOT", "IN", "AND", "LPAR", "DOT", "LSQB", "COMMA", "RPAR", "RSQB", "THEN", "WHEN",
          "ELSE", "END")


def expected_words(accepts: Iterable[str], literal: Callable[[str], str]) -> str:
    """`'an operator, ',' or ')'`: the tokens the parser could have taken, summed up for a person."""
    accepts = set(accepts)
    phrases: list[str] = []
    if {"NAME", "INT"} <= accepts:
        phrases.append("an operand")
        accepts -= _OPERAND_STARTS
    elif accepts & {"NAME", "QUOTED_NAME"}:
        phrases.append("a field name")
        accepts -= {"NAME", "QUOTED_NAME"}
    elif "STRING" in accepts:
        phrases.append("a string")
        accepts.discard("STRING")
    if accepts & {"OR", "PLUS", "STAR"}:
        phrases.append("an operator")
        # Inside `between lo and hi`, 'and' is the one logical operator allowed: name it.
        accepts -= _OPERATORS - ({"AND"} if "OR" not in accepts else set())
    phrases += [f"'{literal(name)}'" for name in _NAMED if name in accepts]
    if not phrases:
        return "the end of the expression"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def describe_token(token: Token) -> str:
    """How an unexpected token is named in a message: `'then'`, `')'`, `string "abc..."`."""
    shown = token.value if len(token.value) <= 24 else token.value[:20] + "..."
    shown = shown.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"string {shown}" if token.type == "STRING" else f"'{shown}'"


# --- the examples table: parser states where a comparison is already complete ---
#
# As in Lark's `match_examples` (examples/advanced/error_reporting_lalr.py), a mistake is recognised
# by the LALR state the parser fails in, found by parsing known bad examples. Lark's own method
# compares whole parser states, stack depth included, so `(a < b < c)` would not match `a < b < c`;
# matching on the state alone recognises the mistake at any depth.

_FIRST_COMPARISONS = (
    "a == b", "a != b", "a < b", "a <= b", "a > b", "a >= b",
    "a in ()", "a in (b)", "a in (b, c)", "a in []", "a in [b]", "a in [b, c]",
    "a not in ()", "a not in (b)", "a not in (b, c)", "a not in []", "a not in [b]", "a not in [b, c]",
    "a between b and c", "a is null", "a is not null",
)
EXAMPLES: dict[str, tuple[str, ...]] = {"E206": tuple(f"{first} < d" for first in _FIRST_COMPARISONS)}


@functools.cache
def _example_states(lark: Lark) -> dict[object, str]:
    states: dict[object, str] = {}
    for label, examples in EXAMPLES.items():
        for example in examples:
            try:
                lark.parse(example)
            except UnexpectedToken as error:
                states[error.state.position] = label
            else:
                raise AssertionError(f"example {example!r} parses")
    return states


def match_example(error: UnexpectedToken, lark: Lark) -> str | None:
    """The label of `EXAMPLES` whose examples fail in the parser state `error` failed in."""
    return _example_states(lark).get(error.state.position)


_IN_NEXT = re.compile(r"\s*in(?!\w)")


def _is_comparison(token: Token, text: str) -> bool:
    if token.type == "NOT":  # `a < b not in (..)`; a lone `not` there is some other mistake
        return _IN_NEXT.match(text, token.end_pos) is not None
    return token.type in COMPARISONS


# --- translation ---

_CLOSERS = {"LPAR": ("RPAR", "(", ")"), "LSQB": ("RSQB", "[", "]"), "CASE": ("END", "case", "end")}
_OPENERS = {closer: opener for opener, (closer, _, _) in _CLOSERS.items()}
_HINTS = {"=": "; use '==' to compare", "!": "; use '!=' or 'not'", "&": "; use 'and'", "|": "; use 'or'"}


def translate(error: UnexpectedInput, text: str, lark: Lark) -> ExpressionSyntaxError:
    """The E2xx error for one of Lark's parse errors of `text`."""
    if isinstance(error, UnexpectedCharacters):
        return _bad_character(text, error.pos_in_stream)
    assert isinstance(error, UnexpectedToken), type(error)
    token = error.token

    def literal(name: str) -> str:
        return lark.get_terminal(name).pattern.value

    if token.type == "$END":
        return _unexpected_end(text, error.accepts, lark, literal)
    if token.type == "LT" and text[token.end_pos:].lstrip().startswith(">"):  # `<>` where no `<` can be
        end = text.index(">", token.end_pos) + 1
        return _not_equal(text, token.start_pos, end, expected_words(error.accepts, literal))
    if _is_comparison(token, text) and match_example(error, lark) == "E206":
        return syntax_error("E206", token.start_pos, token.end_pos)
    if token.type == "GT" and text[:token.start_pos].rstrip().endswith("<"):  # `<>` after an operand
        start = len(text[:token.start_pos].rstrip()) - 1
        parser = lark.parse_interactive(text[:start])  # what could have stood where the `<` is
        parser.exhaust_lexer()
        return _not_equal(text, start, token.end_pos, expected_words(parser.accepts(), literal))
    return syntax_error("E202", token.start_pos, token.end_pos, token=describe_token(token),
                        expected=expected_words(error.accepts, literal) + _habit_hint(text, token.start_pos,
                                                                                     token.end_pos))


# SQL habits (`a > 1 AND b`, `x IS NULL`, `NOT ok`, `a <> b`, `count(*)`): the keywords are lowercase
# (capitals are a field name), "not equal" is `!=` and `count()` counts records
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "between", "case", "when",
                       "then", "else", "end"})


def _not_equal(text: str, start: int, end: int, expected: str) -> ExpressionSyntaxError:
    """SQL's `<>`, which lexes as `<` then `>`: the parser fails at one of them, but the mistake is the
    pair, so the error spans it from the `<`."""
    return syntax_error("E202", start, end, token=f"'{text[start:end]}'",
                        expected=expected + "; use '!=' for not equal")


def _habit_hint(text: str, start: int, end: int) -> str:
    """A hint when the unexpected token, or the word just before it, is a keyword in capitals."""
    if text[start:end] == "*" and re.search(r"\bcount\s*\(\s*$", text[:start]):
        return "; 'count()' counts the records"
    before = re.findall(r"[A-Za-z_]+", text[:start])[-1:]
    for word in [text[start:end], *before]:
        if word != word.lower() and word.lower() in _KEYWORDS:
            return f"; keywords are lowercase: '{word.lower()}'"
    return ""


def _bad_character(text: str, at: int) -> ExpressionSyntaxError:
    char = text[at]
    if char in "\"'":
        return syntax_error("E203", at, at + 1)
    if char == "`":
        return syntax_error("E213", at, at + 1)
    shown = char if char.isprintable() else repr(char)[1:-1]
    return syntax_error("E210", at, at + 1, char=shown, hint=_HINTS.get(char, ""))


def _unexpected_end(text: str, accepts: set[str], lark: Lark, literal: Callable[[str], str]) -> ExpressionSyntaxError:
    if accepts & set(_OPENERS):
        opener = _innermost_unclosed(text, lark)
        if opener is not None:
            _, bracket, closer = _CLOSERS[opener.type]
            return syntax_error("E205", opener.start_pos, opener.end_pos, bracket=bracket, closer=closer)
    return syntax_error("E201", len(text), len(text), expected=expected_words(accepts, literal))


def _innermost_unclosed(text: str, lark: Lark) -> Token | None:
    """The last opened and not yet closed bracket or `case` of `text` (which lexes without error)."""
    stack: list[Token] = []
    for token in lark.lex(text):
        if token.type in _CLOSERS:
            stack.append(token)
        elif token.type in _OPENERS and stack:
            stack.pop()
    return stack[-1] if stack else None
