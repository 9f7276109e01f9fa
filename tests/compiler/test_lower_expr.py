"""The Polars lowering, rule by rule (the table is `tests/semantics_cases.py`, shared with the
interpreter's tests), and its own contracts: error columns only where something can fail, predicates,
deep trees, the dtype mapping."""

from __future__ import annotations

import math

import polars as pl
import pytest
from semantics_cases import CASES, NOW, RECORD, SCHEMA, Err

from flowc.compiler.lower_expr import lower, lower_predicate
from flowc.compiler.lowered import InternalError, LowerContext
from flowc.compiler.polars_types import from_polars, to_polars
from flowc.compiler.typecheck import check_expression
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.parser import parse_expression
from flowc.dsl.types import ListOf, Struct


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame({n: pl.Series(n, [r.get(n) for r in rows], dtype=to_polars(ft)) for n, ft in SCHEMA.fields})


def lowered(text: str):
    expr = parse_expression(text)
    typed = check_expression(expr, SCHEMA, where="test")
    assert not typed.problems, typed.problems
    return lower(expr, LowerContext(types=typed.types, now=NOW)), typed


def run(text: str, rows: list[dict[str, object]] | None = None) -> tuple[list, list]:
    result, _ = lowered(text)
    error = result.error if result.error is not None else pl.lit(None, dtype=pl.String)
    out = frame(rows or [RECORD]).with_columns(__v=result.value, __e=error)
    return out["__v"].to_list(), out["__e"].to_list()


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(text: str, expected: object) -> None:
    (value,), (error,) = run(text)
    if isinstance(expected, Err):
        assert error == expected
    else:
        assert error is None
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(value)
        else:
            assert type(value) is type(expected) and value == expected


@pytest.mark.parametrize("text", ["i + f", "s + u", "i < 3 and b", "if(b, f, 1)", "l[0]", "ts - ts",
                                  "7 / i", "i // 2", "i % 2", "d > 1h", "st.x in (1, 2)"])
def test_expressions_that_cannot_fail_carry_no_error_column(text: str) -> None:
    assert lowered(text)[0].error is None


@pytest.mark.parametrize("text", ["i + 1", "i * i", "-i", "i // -1", "d * 2", "ts - d", "if(b, i + 1, 0)"])
def test_expressions_that_can_fail_carry_an_error_column(text: str) -> None:
    assert lowered(text)[0].error is not None


def test_errors_and_values_are_per_row() -> None:
    rows = [RECORD, {**RECORD, "big": 1}, {**RECORD, "big": None}]
    assert run("big + 1", rows) == ([-(2**63), 2, None], ["overflow: integer overflow in '+'", None, None])


def test_predicate_keeps_true_and_drops_false_and_null() -> None:
    expr = parse_expression("nb or i > 5")
    typed = check_expression(expr, SCHEMA, where="filter")
    predicate = lower_predicate(expr, LowerContext(types=typed.types, now=NOW))
    rows = [RECORD, {**RECORD, "i": 1}, {**RECORD, "i": None}, {**RECORD, "nb": True, "i": None}]
    assert frame(rows).filter(predicate.value)["i"].to_list() == [7, None]


def test_a_node_without_a_rule_is_an_internal_error() -> None:
    with pytest.raises(InternalError, match="no Polars lowering for When"):
        lower(ast.When(cond=ast.BoolLit(value=True), value=ast.IntLit(value=1)), LowerContext({}, NOW))


def test_parser_depth_trees_lower_and_run() -> None:
    expr: ast.Expr = ast.Field(name="i")
    for _ in range(200):
        expr = ast.Index(obj=ast.ListLit(items=(ast.Binary(op="+", left=expr, right=ast.IntLit(value=1)),)),
                         index=ast.IntLit(value=0))
    typed = check_expression(expr, SCHEMA, where="test")
    result = lower(expr, LowerContext(types=typed.types, now=NOW))
    assert frame([RECORD]).select(result.value).item() == 207


@pytest.mark.parametrize(("type_", "dtype"), [
    (t.INT, pl.Int64()), (t.FLOAT, pl.Float64()), (t.BOOL, pl.Boolean()), (t.STRING, pl.String()),
    (t.DATETIME, pl.Datetime("us", "UTC")), (t.DATE, pl.Date()), (t.DURATION, pl.Duration("us")),
    (ListOf(t.INT), pl.List(pl.Int64())), (Struct((("a", t.STRING),)), pl.Struct({"a": pl.String()})),
])
def test_types_map_to_polars_and_back(type_, dtype) -> None:
    assert to_polars(type_) == dtype
    assert from_polars(dtype) == type_


def test_narrow_polars_types_read_as_the_language_types() -> None:
    assert from_polars(pl.Int32()) == t.INT and from_polars(pl.Float32()) == t.FLOAT
    assert from_polars(pl.Datetime("ns")) == t.DATETIME
    with pytest.raises(ValueError, match="no flowc type"):
        from_polars(pl.Binary())
