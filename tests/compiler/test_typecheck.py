"""The type checker: the type of each construct, and each diagnostic with its position and wording."""

from __future__ import annotations

import pytest
from semantics_cases import SCHEMA

from flowc.compiler.typecheck import check_expression, check_predicate
from flowc.dsl import ast, codes
from flowc.dsl import types as t
from flowc.dsl.parser import parse_expression
from flowc.dsl.types import ListOf, Struct


def check(text: str):
    return check_expression(parse_expression(text), SCHEMA, where="map 'x'")


TYPES = [
    ("1", t.INT), ("1.5", t.FLOAT), ("'a'", t.STRING), ("true", t.BOOL), ("null", t.NULL), ("5m", t.DURATION),
    ("i + 1", t.INT), ("i + f", t.FLOAT), ("i / 2", t.FLOAT), ("i // 2", t.INT), ("f // 2", t.FLOAT),
    ("i % 2", t.INT), ("s + u", t.STRING), ("-d", t.DURATION), ("-f", t.FLOAT),
    ("ts + d", t.DATETIME), ("d + ts", t.DATETIME), ("ts - d", t.DATETIME), ("ts - last", t.DURATION),
    ("d - d", t.DURATION), ("d * 2", t.DURATION), ("2 * d", t.DURATION), ("now()", t.DATETIME),
    ("null + 1", t.NULL), ("null + 5m", t.NULL), ("null * 2", t.NULL),
    ("i < f", t.BOOL), ("s == 'x'", t.BOOL), ("day < day", t.BOOL), ("n == null", t.BOOL),
    ("i in (1, 2.5)", t.BOOL), ("i between 1 and f", t.BOOL), ("st is null", t.BOOL), ("not b", t.BOOL),
    ("if(b, 1, 2.5)", t.FLOAT), ("if(b, null, 's')", t.STRING), ("case when b then 1 end", t.INT),
    ("case when b then [1] else [2.5] end", ListOf(t.FLOAT)), ("[1, null, 2.5]", ListOf(t.FLOAT)),
    ("[]", ListOf(t.NULL)), ("[[1], []]", ListOf(ListOf(t.INT))), ("l[0]", t.INT), ("[1][n]", t.INT),
    ("st", Struct((("x", t.INT), ("y", t.STRING)))), ("st.y", t.STRING), ("upper(s)", t.STRING),
    ("coalesce(n, 2.5)", t.FLOAT),
]


@pytest.mark.parametrize(("text", "expected"), TYPES, ids=[c[0] for c in TYPES])
def test_type(text: str, expected: t.Type) -> None:
    typed = check(text)
    assert typed.problems == ()
    assert typed.type == expected


def test_every_sub_expression_is_typed() -> None:
    expr = parse_expression("if(i > 1, f + i, 0)")
    typed = check_expression(expr, SCHEMA, where="map")
    assert {typed.types[n] for n in ast.walk(expr)} == {t.BOOL, t.INT, t.FLOAT}
    assert all(n in typed.types for n in ast.walk(expr))


# (expression, code, message, start, end): the message as `codes.diagnostic` renders it
PROBLEMS = [
    ("amout > 1", "E104", "unknown field 'amout' in map 'x'", 0, 5),
    ("sst.x", "E104", "unknown field 'sst' in map 'x'; did you mean 'st'?", 0, 3),
    ("st.z + 1", "E104", "unknown field 'z' in map 'x'", 0, 4),
    ("st.xx", "E104", "unknown field 'xx' in map 'x'; did you mean 'x'?", 0, 5),
    ("uper(s)", "E105", "unknown function 'uper'; did you mean 'upper'?", 0, 7),
    ("sum(i) + 1", "E106", "aggregate 'sum' is only allowed in an aggregate's 'compute'", 0, 6),
    ("s > 3", "E220", "operator '>' cannot apply to 's' (string) and '3' (int)", 0, 5),
    ("b + 1", "E220", "operator '+' cannot apply to 'b' (bool) and '1' (int)", 0, 5),
    ("ts + ts", "E220", "operator '+' cannot apply to 'ts' (datetime) and 'ts' (datetime)", 0, 7),
    ("l == l", "E220", "operator '==' cannot apply to 'l' (list<int>) and 'l' (list<int>)", 0, 6),
    ("day - day", "E220", "operator '-' cannot apply to 'day' (date) and 'day' (date)", 0, 9),
    ("i in (1, 'a')", "E220", "operator 'in' cannot apply to 'i' (int) and '\"a\"' (string)", 9, 12),
    ("s between 'a' and 2", "E220", "operator 'between' cannot apply to 's' (string) and '2' (int)", 18, 19),
    ("upper(s, s)", "E221", "'upper' takes 1 argument, got 2", 0, 11),
    ("now(1)", "E221", "'now' takes 0 arguments, got 1", 0, 6),
    ("upper(i)", "E222", "bad argument to 'upper': argument 1 ('i') must be string, got int", 0, 8),
    ("matches(s, '(')", "E223", None, 11, 14),
    ("if(i, 1, 2)", "E224", "the condition of 'if' must be a bool expression, got int", 3, 4),
    ("i and b", "E224", "the left side of 'and' must be a bool expression, got int", 0, 1),
    ("not s", "E224", "the operand of 'not' must be a bool expression, got string", 4, 5),
    ("case when s then 1 end", "E224", "a 'when' condition must be a bool expression, got string", 10, 11),
    ("if(b, 1, 'a')", "E226", "the branches of 'if' have different types: int and string", 9, 12),
    ("[1, 'a']", "E226", "list elements have different types: int and string", 4, 7),
    ("case when b then st else 1 end", "E226",
     "the branches of 'case' have different types: {x: int, y: string} and int", 25, 26),
    ("matches(s, u)", "E227", "argument 2 of 'matches' must be a constant string (a regex literal)", 11, 12),
    ("-s", "E228", "operator '-' cannot apply to string", 0, 2),
    ("i.x", "E229", "cannot read field 'x' of int; only structs have fields", 0, 3),
    ("i[0]", "E230", "cannot index int with int; only a list takes an index, and it must be an int", 0, 4),
    ("l[s]", "E230", "cannot index list<int> with string; only a list takes an index, and it must be an int",
     0, 4),
]


@pytest.mark.parametrize(("text", "code", "message", "start", "end"), PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_problem(text: str, code: str, message: str | None, start: int, end: int) -> None:
    typed = check(text)
    assert typed.type is None
    assert [p.code for p in typed.problems] == [code]
    (problem,) = typed.problems
    assert (problem.pos.start, problem.pos.end) == (start, end)
    rendered = codes.diagnostic(problem.code, None, **problem.args).message
    if message is not None:
        assert rendered == message


def test_every_problem_is_reported_not_only_the_first() -> None:
    typed = check("amout + 1 > uper(s) and if(s, 1, 'a') == 2")
    assert [p.code for p in typed.problems] == ["E104", "E105", "E224", "E226"]


def test_between_reports_each_bound_that_does_not_compare() -> None:
    typed = check("s between 1 and 2")
    assert [(p.code, p.pos.start) for p in typed.problems] == [("E220", 10), ("E220", 16)]


def test_an_unknown_field_does_not_cascade_into_type_errors() -> None:
    assert [p.code for p in check("-(amout + 1) * 'x' > 2").problems] == ["E104"]


def test_a_predicate_must_be_bool() -> None:
    expr = parse_expression("i + 1")
    typed = check_predicate(expr, SCHEMA, where="filter")
    assert [(p.code, p.args["where"], str(p.args["got"])) for p in typed.problems] == [("E224", "filter", "int")]
    assert check_predicate(parse_expression("i > 1"), SCHEMA, where="filter").type == t.BOOL
    assert check_predicate(parse_expression("null"), SCHEMA, where="filter").problems == ()
