"""The reference interpreter, rule by rule (the table is `tests/semantics_cases.py`), plus the
interpreter's own contracts: deep trees, lazy arguments, typed widening."""

from __future__ import annotations

import math

import pytest
from semantics_cases import CASES, NOW, RECORD, SCHEMA, Err

from flowc.compiler.typecheck import check_expression
from flowc.dsl import ast
from flowc.dsl.interpret import evaluate
from flowc.dsl.parser import parse_expression
from flowc.dsl.record_errors import RecordError


def run(text: str) -> object:
    expr = parse_expression(text)
    typed = check_expression(expr, SCHEMA, where="test")
    assert not typed.problems, typed.problems
    return evaluate(expr, RECORD, now=NOW, types=typed.types)


def same(expected: object, actual: object) -> bool:
    if isinstance(expected, float) and isinstance(actual, float) and math.isnan(expected):
        return math.isnan(actual)
    return type(expected) is type(actual) and expected == actual


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(text: str, expected: object) -> None:
    if isinstance(expected, Err):
        with pytest.raises(RecordError) as raised:
            run(text)
        assert str(raised.value) == expected
    else:
        assert same(expected, run(text))


def test_without_types_ints_stay_ints() -> None:
    expr = parse_expression("if(b, 1, 2.5)")
    assert evaluate(expr, RECORD, now=NOW) == 1
    assert isinstance(evaluate(expr, RECORD, now=NOW), int)


def test_widening_also_applies_inside_lists_and_to_later_operators() -> None:
    # statically a float, so `* 4` is a float product, not an int overflow
    assert run("if(b, big, 2.5) * 4") == float(2**63 - 1) * 4


def _nest(depth: int, wrap) -> ast.Expr:
    expr: ast.Expr = ast.Field(name="i")
    for _ in range(depth):
        expr = wrap(expr)
    return expr


DEEP = {
    "unary": lambda e: ast.Unary(op="-", operand=e),
    "binary": lambda e: ast.Binary(op="+", left=e, right=ast.IntLit(value=1)),
    "if": lambda e: ast.If(cond=ast.BoolLit(value=True), then=e, else_=ast.IntLit(value=0)),
    "coalesce": lambda e: ast.Call(name="coalesce", args=(ast.NullLit(), e)),
    "abs": lambda e: ast.Call(name="abs", args=(e,)),
    "list": lambda e: ast.Index(obj=ast.ListLit(items=(e,)), index=ast.IntLit(value=0)),
}


@pytest.mark.parametrize("kind", DEEP)
def test_parser_depth_trees_evaluate_without_recursion_error(kind: str) -> None:
    expr = _nest(200, DEEP[kind])
    typed = check_expression(expr, SCHEMA, where="test")
    assert not typed.problems
    assert isinstance(evaluate(expr, RECORD, now=NOW, types=typed.types), int)


def test_a_lazy_function_gets_thunks_and_stops_early() -> None:
    # coalesce evaluates its arguments in order and stops at the first non-null one
    assert run("coalesce(n, i, big + 1)") == 7


def test_unknown_function_at_run_time_is_a_bug_not_a_record_error() -> None:
    with pytest.raises(LookupError):
        evaluate(ast.Call(name="nope", args=()), RECORD, now=NOW)
