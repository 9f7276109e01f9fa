"""The expression parser: every construct, the precedence table, node positions and each syntax error."""

from __future__ import annotations

import logging
import pickle

import lark
import pytest
from hypothesis import given
from strategies import expressions

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
    When,
    walk,
)
from flowc.dsl.codes import CODES
from flowc.dsl.parser import (
    KEYWORDS,
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionSyntaxError,
    expression_from_scalar,
    parse_expression,
)
from flowc.dsl.span import TextRange
from flowc.dsl.unparse import unparse


def f(name: str) -> Field:
    return Field(name=name)


def i(value: int) -> IntLit:
    return IntLit(value=value)


def s(value: str) -> StringLit:
    return StringLit(value=value)


a, b, c = f("a"), f("b"), f("c")

CONSTRUCTS = [
    ("42", i(42)),
    ("007", i(7)),
    ("9223372036854775807", i(2**63 - 1)),
    ("-3", Unary(op="-", operand=i(3))),
    ("-3.5", Unary(op="-", operand=FloatLit(value=3.5))),
    ("1e6", FloatLit(value=1e6)),
    ("2.5E-3", FloatLit(value=2.5e-3)),
    ("1e+16", FloatLit(value=1e16)),
    ('"text"', s("text")),
    ("'text'", s("text")),
    (r'"a\nb\tc\\d\"e\'f"', s("a\nb\tc\\d\"e'f")),
    ("'say \"hi\"'", s('say "hi"')),
    ('"two\nlines"', s("two\nlines")),
    ("true", BoolLit(value=True)),
    ("false", BoolLit(value=False)),
    ("null", NullLit()),
    ("250ms", DurationLit(micros=250_000)),
    ("30s", DurationLit(micros=30_000_000)),
    ("5m", DurationLit(micros=300_000_000)),
    ("1h", DurationLit(micros=3_600_000_000)),
    ("2d", DurationLit(micros=172_800_000_000)),
    ("[1, 2]", ListLit(items=(i(1), i(2)))),
    ("[]", ListLit(items=())),
    ("amount", f("amount")),
    ("_x9", f("_x9")),
    ("größe", f("größe")),
    ("AND", f("AND")),
    ("user.tier", GetField(obj=f("user"), name="tier")),
    ("items[0]", Index(obj=f("items"), index=i(0))),
    ("items[-1]", Index(obj=f("items"), index=Unary(op="-", operand=i(1)))),
    ("items[n + 1]", Index(obj=f("items"), index=Binary(op="+", left=f("n"), right=i(1)))),
    ('x["key"]', GetField(obj=f("x"), name="key")),
    ("x['odd key']", GetField(obj=f("x"), name="odd key")),
    ('x[("key")]', Index(obj=f("x"), index=s("key"))),
    ("x.`odd name`", GetField(obj=f("x"), name="odd name")),
    ("`field with spaces`", f("field with spaces")),
    ("`a``b`", f("a`b")),
    ("`end`", f("end")),
    ("$.user.tier", GetField(obj=f("user"), name="tier")),
    ('$["odd key"]', f("odd key")),
    ("$.`a b`", f("a b")),
    ('split(email, "@")[1]', Index(obj=Call(name="split", args=(f("email"), s("@"))), index=i(1))),
    ("(a).b", GetField(obj=a, name="b")),
    ("[a][0]", Index(obj=ListLit(items=(a,)), index=i(0))),
    ("x in (1, 2)", In(operand=f("x"), items=(i(1), i(2)))),
    ("x in [1]", In(operand=f("x"), items=(i(1),))),
    ("x in ()", In(operand=f("x"), items=())),
    ("x not in (a)", In(operand=f("x"), items=(a,), negated=True)),
    ("x between 1 and 2", Between(operand=f("x"), low=i(1), high=i(2))),
    ("x is null", IsNull(operand=f("x"))),
    ("x is not null", IsNull(operand=f("x"), negated=True)),
    ("if(a, b, c)", If(cond=a, then=b, else_=c)),
    ("case when a then 1 end", Case(whens=(When(cond=a, value=i(1)),))),
    ("case when a then 1 when b then 2 else 3 end",
     Case(whens=(When(cond=a, value=i(1)), When(cond=b, value=i(2))), else_=i(3))),
    ("now()", Call(name="now", args=())),
    ("count()", Call(name="count", args=())),
    ("no_such_function(a, 1)", Call(name="no_such_function", args=(a, i(1)))),
    ("not not a", Unary(op="not", operand=Unary(op="not", operand=a))),
]


@pytest.mark.parametrize(("text", "expected"), CONSTRUCTS, ids=[t for t, _ in CONSTRUCTS])
def test_construct(text: str, expected: Node) -> None:
    assert parse_expression(text) == expected


def parens(e: Node) -> str:
    """Every compound node in parentheses: the tree's shape, readable."""
    match e:
        case Binary(op=op, left=left, right=right):
            return f"({parens(left)} {op} {parens(right)})"
        case Unary(op=op, operand=operand):
            return f"({op}{' ' if op == 'not' else ''}{parens(operand)})"
        case In(operand=operand, items=items, negated=negated):
            return f"({parens(operand)} {'not in' if negated else 'in'} [{', '.join(map(parens, items))}])"
        case Between(operand=operand, low=low, high=high):
            return f"({parens(operand)} between {parens(low)} and {parens(high)})"
        case IsNull(operand=operand, negated=negated):
            return f"({parens(operand)} is {'not ' if negated else ''}null)"
        case GetField(obj=obj, name=name):
            return f"{parens(obj)}.{name}"
        case Index(obj=obj, index=index):
            return f"{parens(obj)}[{parens(index)}]"
    return unparse(e)


PRECEDENCE = [
    ("a or b and c", "(a or (b and c))"),
    ("a and b or c", "((a and b) or c)"),
    ("a or b or c", "((a or b) or c)"),
    ("not a and b", "((not a) and b)"),
    ("not a or not b", "((not a) or (not b))"),
    ("not a == b", "(not (a == b))"),
    ("not x is null", "(not (x is null))"),
    ("not not a and b", "((not (not a)) and b)"),
    ("a == b and c != d", "((a == b) and (c != d))"),
    ("a + b == c * d", "((a + b) == (c * d))"),
    ("a <= b + 1", "(a <= (b + 1))"),
    ("a + b * c", "(a + (b * c))"),
    ("a * b + c", "((a * b) + c)"),
    ("a - b - c", "((a - b) - c)"),
    ("a - b + c", "((a - b) + c)"),
    ("a / b // c % d", "(((a / b) // c) % d)"),
    ("a * b / c", "((a * b) / c)"),
    ("-a * b", "((-a) * b)"),
    ("a * -b", "(a * (-b))"),
    ("a - -b", "(a - (-b))"),
    ("- -a", "(-(-a))"),
    ("-a.b", "(-a.b)"),
    ("-x[0]", "(-x[0])"),
    ("a.b[0].c", "a.b[0].c"),
    ("a < -b", "(a < (-b))"),
    ("a + b in (1, 2)", "((a + b) in [1, 2])"),
    ("a in (b or c)", "(a in [(b or c)])"),
    ("a not in (1) and b", "((a not in [1]) and b)"),
    ("x between 1 and 2 and y", "((x between 1 and 2) and y)"),
    ("x between a + 1 and b * 2", "(x between (a + 1) and (b * 2))"),
    ("x between -1 and 1 or y", "((x between (-1) and 1) or y)"),
    ("x is null or y is not null", "((x is null) or (y is not null))"),
    ("a + b is null", "((a + b) is null)"),
    ("(a or b) and c", "((a or b) and c)"),
    ("if(a or b, c, d) + 1", "(if(a or b, c, d) + 1)"),
]


@pytest.mark.parametrize(("text", "shape"), PRECEDENCE, ids=[t for t, _ in PRECEDENCE])
def test_precedence(text: str, shape: str) -> None:
    assert parens(parse_expression(text)) == shape


def node_at(e: Node, *path: str | int) -> Node:
    for step in path:
        e = e[step] if isinstance(step, int) else getattr(e, step)  # type: ignore[index]
    return e


@pytest.mark.parametrize(
    ("text", "path", "start", "end"),
    [
        ("a + b", (), 0, 5),
        ("a + b", ("left",), 0, 1),
        ("a + b", ("right",), 4, 5),
        ("  a  ", (), 2, 3),
        ("(a + b) * c", (), 0, 11),
        ("(a + b) * c", ("left",), 1, 6),
        ("((a))", (), 2, 3),
        ("-3", (), 0, 2),
        ("-3", ("operand",), 1, 2),
        ("not  x", (), 0, 6),
        ("$.user.tier", (), 0, 11),
        ("$.user.tier", ("obj",), 0, 6),
        ('$["a b"]', (), 0, 8),
        ('x["k"]', (), 0, 6),
        ("x[0]", ("index",), 2, 3),
        ("`my field`", (), 0, 10),
        (r'"a\nb"', (), 0, 6),
        ("f(a, b)", (), 0, 7),
        ("f(a, b)", ("args", 1), 5, 6),
        ("if(a, b, c)", (), 0, 11),
        ("[1, 2]", (), 0, 6),
        ("x not in (1, 2)", (), 0, 15),
        ("x in [1]", (), 0, 8),
        ("x between 1 and 2", (), 0, 17),
        ("x is not null", (), 0, 13),
        ("case when a then 1 else 2 end", (), 0, 29),
        ("case when a then 1 else 2 end", ("whens", 0), 5, 18),
        ("case when a then 1 else 2 end", ("else_",), 24, 25),
        ("(a) or (b)", (), 0, 10),
        ("5m", (), 0, 2),
    ],
)
def test_node_positions(text: str, path: tuple, start: int, end: int) -> None:
    assert node_at(parse_expression(text), *path).pos == TextRange(start, end)


@given(expressions())
def test_each_node_spans_its_own_text(expr) -> None:
    """Every node's `pos`, cut out of the text, parses to that same node."""
    text = unparse(expr)
    for node in walk(parse_expression(text)):
        if isinstance(node, When):
            assert text[node.pos.start:node.pos.end].startswith("when ")
        else:
            assert parse_expression(text[node.pos.start:node.pos.end]) == node


DEEP_PARENS = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
LONG_SUM = "+".join(["a"] * (MAX_DEPTH + 2))
ERRORS = [
    ("", "E211", 0, 0, "empty expression"),
    (" \n\t", "E211", 0, 3, "empty expression"),
    ("a +", "E201", 3, 3, "unexpected end of expression; expected an operand"),
    ("a + ", "E201", 4, 4, "unexpected end of expression; expected an operand"),
    ("$", "E201", 1, 1, "unexpected end of expression; expected '.' or '['"),
    ("a.", "E201", 2, 2, "unexpected end of expression; expected a field name"),
    ("$[", "E201", 2, 2, "unexpected end of expression; expected a string"),
    ("case when a", "E201", 11, 11, "unexpected end of expression; expected 'then'"),
    ("x is not", "E201", 8, 8, "unexpected end of expression; expected 'null'"),
    (")", "E202", 0, 1, "unexpected ')' in expression; expected an operand"),
    ("a b", "E202", 2, 3, "unexpected 'b' in expression; expected an operator"),
    ("true false", "E202", 5, 10, "unexpected 'false' in expression; expected an operator"),
    ("f(a b)", "E202", 4, 5, "unexpected 'b' in expression; expected an operator, ',' or ')'"),
    ("f(a,)", "E202", 4, 5, "unexpected ')' in expression; expected an operand"),
    ("(a]", "E202", 2, 3, "unexpected ']' in expression; expected ')'"),
    ("x in y", "E202", 5, 6, "unexpected 'y' in expression; expected '(' or '['"),
    ("x is 5", "E202", 5, 6, "unexpected '5' in expression; expected 'null' or 'not'"),
    ("a not b", "E202", 6, 7, "unexpected 'b' in expression; expected 'in'"),
    ("a between 1 or 2", "E202", 12, 14, "unexpected 'or' in expression; expected an operator or 'and'"),
    ("case else 1 end", "E202", 5, 9, "unexpected 'else' in expression; expected 'when'"),
    ("a.and", "E202", 2, 5, "unexpected 'and' in expression; expected a field name"),
    ("$[1]", "E202", 2, 3, "unexpected '1' in expression; expected a string"),
    ("5min", "E202", 1, 4, "unexpected 'min' in expression; expected an operator"),
    ("a 'x'", "E202", 2, 5, "unexpected string 'x' in expression; expected an operator"),
    ("a <> 1", "E202", 2, 4, "unexpected '<>' in expression; expected an operator; use '!=' for not equal"),
    ("f(a <> 1)", "E202", 4, 6,
     "unexpected '<>' in expression; expected an operator, ',' or ')'; use '!=' for not equal"),
    ("a between 1 <> 2", "E202", 12, 14,
     "unexpected '<>' in expression; expected an operator or 'and'; use '!=' for not equal"),
    ('"x" "' + "y" * 30 + '"', "E202", 4, 36,
     'unexpected string "yyyyyyyyyyyyyyyyyyy... in expression; expected an operator'),
    ('"abc', "E203", 0, 1, "unterminated string"),
    ("a + 'it\\'s", "E203", 4, 5, "unterminated string"),
    ('"a\\qb"', "E204", 2, 4,
     "unknown escape sequence '\\q' in string; the escapes are \\n \\t \\\\ \\\" and \\'"),
    ("'\\u00e9'", "E204", 1, 3,
     "unknown escape sequence '\\u' in string; the escapes are \\n \\t \\\\ \\\" and \\'"),
    ("f(a, (b", "E205", 5, 6, "unclosed '('; expected a matching ')'"),
    ("(a", "E205", 0, 1, "unclosed '('; expected a matching ')'"),
    ("x[0", "E205", 1, 2, "unclosed '['; expected a matching ']'"),
    ("[1, 2", "E205", 0, 1, "unclosed '['; expected a matching ']'"),
    ("a in (1", "E205", 5, 6, "unclosed '('; expected a matching ')'"),
    ("case when a then b", "E205", 0, 4, "unclosed 'case'; expected a matching 'end'"),
    ("(case when (a) then [b] else c", "E205", 1, 5, "unclosed 'case'; expected a matching 'end'"),
    ("a < b < c", "E206", 6, 7, "comparison operators cannot be chained; use 'and'"),
    ("a == b in (1)", "E206", 7, 9, "comparison operators cannot be chained; use 'and'"),
    ("a in (1) == b", "E206", 9, 11, "comparison operators cannot be chained; use 'and'"),
    ("a is null is not null", "E206", 10, 12, "comparison operators cannot be chained; use 'and'"),
    ("a between 1 and 2 between 3 and 4", "E206", 18, 25, "comparison operators cannot be chained; use 'and'"),
    ("a < b not in (1)", "E206", 6, 9, "comparison operators cannot be chained; use 'and'"),
    ("(a < b + 1 >= c)", "E206", 11, 13, "comparison operators cannot be chained; use 'and'"),
    (DEEP_PARENS, "E207", 0, len(DEEP_PARENS), f"expression is too deeply nested (more than {MAX_DEPTH} levels)"),
    (LONG_SUM, "E207", 0, len(LONG_SUM), f"expression is too deeply nested (more than {MAX_DEPTH} levels)"),
    ("x" * (MAX_LENGTH + 1), "E208", MAX_LENGTH, MAX_LENGTH + 1,
     f"expression is too long ({MAX_LENGTH + 1} characters; the limit is {MAX_LENGTH})"),
    ("9223372036854775808", "E209", 0, 19, "number '9223372036854775808' is out of range"),
    ("1" * 5000, "E209", 0, 5000, "number '1111111111111111111111111...' is out of range"),
    ("x + 1e999", "E209", 4, 9, "number '1e999' is out of range"),
    ("106751992d", "E209", 0, 10, "duration '106751992d' is out of range"),
    ("a = b", "E210", 2, 3, "unexpected character '=' in expression; use '==' to compare"),
    ("a && b", "E210", 2, 3, "unexpected character '&' in expression; use 'and'"),
    ("a || b", "E210", 2, 3, "unexpected character '|' in expression; use 'or'"),
    ("!a", "E210", 0, 1, "unexpected character '!' in expression; use '!=' or 'not'"),
    ("a # b", "E210", 2, 3, "unexpected character '#' in expression"),
    ("a\u00a0+ b", "E210", 1, 2, "unexpected character '\\xa0' in expression"),
    ("١٢", "E210", 0, 1, "unexpected character '١' in expression"),
    ("if(a, b)", "E212", 0, 8, "'if' takes 3 arguments (condition, then, else), got 2"),
    ("x + if()", "E212", 4, 8, "'if' takes 3 arguments (condition, then, else), got 0"),
    ("`abc", "E213", 0, 1, "unterminated back-quoted name"),
]


@pytest.mark.parametrize(("text", "code", "start", "end", "message"), ERRORS, ids=[e[1] for e in ERRORS])
def test_syntax_error(text: str, code: str, start: int, end: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    error = caught.value
    assert (error.code, error.pos, error.message) == (code, TextRange(start, end), message)
    assert str(error) == message == CODES[code].template.format(**error.args)


def test_every_syntax_code_has_a_case() -> None:
    syntax_codes = {code for code in CODES if "E200" <= code <= "E219"}
    assert syntax_codes == {e[1] for e in ERRORS}


def test_limits_are_inclusive() -> None:
    parse_expression("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    parse_expression("+".join(["a"] * (MAX_DEPTH + 1)))
    parse_expression('"' + "x" * (MAX_LENGTH - 2) + '"')
    parse_expression("106751991d")


def test_syntax_error_carries_its_arguments_and_pickles() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("a b")
    error = caught.value
    assert error.args == {"token": "'b'", "expected": "an operator"}
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.args, copy.pos, copy.message) == (error.code, error.args, error.pos, error.message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("web", f("web")),
        ('"web"', s("web")),
        (3, i(3)),
        (-3, Unary(op="-", operand=i(3))),
        (2.5, FloatLit(value=2.5)),
        (-2.5, Unary(op="-", operand=FloatLit(value=2.5))),
        (True, BoolLit(value=True)),
        (False, BoolLit(value=False)),
        (None, NullLit()),
    ],
)
def test_expression_from_scalar(value: object, expected: Node) -> None:
    assert expression_from_scalar(value) == expected


def test_negative_zero_scalar_reads_as_negation() -> None:
    assert unparse(expression_from_scalar(-0.0)) == "-0.0"


def test_smallest_int_scalar_reads_as_the_expression_that_makes_it() -> None:
    assert unparse(expression_from_scalar(-(2**63))) == "-9223372036854775807 - 1"  # no literal of its own


@pytest.mark.parametrize(("value", "text"), [(2**63, "9223372036854775808"), (-(2**63) - 1, "-9223372036854775809"),
                                             (float("inf"), "inf"), (float("nan"), "nan")])
def test_out_of_range_scalar(value: object, text: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        expression_from_scalar(value)
    assert (caught.value.code, caught.value.args["text"]) == ("E209", text)


def test_non_scalar_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        expression_from_scalar([1])


def test_grammar_keywords_and_its_one_conflict(caplog: pytest.LogCaptureFixture) -> None:
    """The keywords are exactly those documented, and the only LALR conflict is the intended one."""
    lark.logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            grammar = lark.Lark.open_from_package("flowc.dsl", "expr.lark", ("",), parser="lalr", debug=True)
    finally:
        lark.logger.setLevel(logging.CRITICAL)
    words = {t.pattern.value for t in grammar.terminals if t.pattern.type == "str" and t.pattern.value.isalpha()}
    assert words == KEYWORDS
    conflicts = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage()]
    assert conflicts == ["Shift/Reduce conflict for terminal RSQB: (resolving as shift)"]
