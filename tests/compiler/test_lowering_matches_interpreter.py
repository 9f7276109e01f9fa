"""The property at the heart of the expression language: on every generated record, the Polars
lowering computes exactly what the reference interpreter computes, value or record error.

Schemas, records and well-typed expressions come from `typed_strategies`. Floats must be equal or
both NaN; everything else exactly equal (an int is not a float, a missing struct key reads as null).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import polars as pl
from hypothesis import example, given, note
from typed_strategies import typed_cases

from flowc.compiler.lower_expr import lower, lower_predicate
from flowc.compiler.lowered import LowerContext
from flowc.compiler.polars_types import to_polars
from flowc.compiler.typecheck import check_expression
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.interpret import evaluate
from flowc.dsl.operators import INT_MIN
from flowc.dsl.parser import parse_expression
from flowc.dsl.record_errors import RecordError
from flowc.dsl.types import Struct

NOW = datetime(2024, 5, 17, 12, 30, 15, 123456, tzinfo=UTC)
# `[null][a]` with a = INT_MIN: Polars 2.1 panicked on the index INT_MIN (HYPOTHESIS_PROFILE=explore)
INDEX_INT_MIN = (Struct((("a", t.INT),)), ast.Index(obj=ast.ListLit(items=(ast.NullLit(),)), index=ast.Field(name="a")),
                 [{"a": INT_MIN}])


def frame(schema: Struct, rows: list[dict[str, object]]) -> pl.DataFrame:
    """The rows as a DataFrame with the schema's dtypes; a missing key becomes null."""
    return pl.DataFrame({name: pl.Series(name, [row.get(name) for row in rows], dtype=to_polars(type_))
                         for name, type_ in schema.fields})


def evaluated(frame_: pl.DataFrame, **columns: pl.Expr) -> pl.DataFrame:
    """`frame_.with_columns(**columns)`, a Polars panic turned into a test failure.

    A panic is `pyo3_runtime.PanicException`, a `BaseException`: Hypothesis would let it through
    unshrunk. As an `AssertionError` it fails the test and is shrunk like any disagreement.
    """
    try:
        return frame_.with_columns(**columns)
    except BaseException as panic:
        if type(panic).__name__ != "PanicException":
            raise
        raise AssertionError(f"Polars panicked: {panic}") from panic


def interpret_rows(expr, rows, types) -> list[tuple[object, str | None]]:
    results = []
    for row in rows:
        try:
            results.append((evaluate(expr, row, now=NOW, types=types), None))
        except RecordError as error:
            results.append((None, str(error)))
    return results


def same(expected: object, actual: object) -> bool:
    """Equal values of equal types; floats also when both NaN; a struct's missing key is null."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) and isinstance(actual, float):
        return expected == actual or (math.isnan(expected) and math.isnan(actual))
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(same, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(same(expected.get(k), actual.get(k)) for k in {*expected, *actual})
    return type(expected) is type(actual) and expected == actual


def typed(schema, expr):
    result = check_expression(expr, schema, where="test")
    assert not result.problems, f"the generator made an ill-typed expression: {result.problems}"
    return result


@given(typed_cases())
@example(INDEX_INT_MIN)
def test_lowering_computes_what_the_interpreter_computes(case) -> None:
    schema, expr, rows = case
    note(f"expr = {expr!r}")
    result = typed(schema, expr)
    lowered = lower(expr, LowerContext(types=result.types, now=NOW))
    error = lowered.error if lowered.error is not None else pl.lit(None, dtype=pl.String)
    out = evaluated(frame(schema, rows), __value=lowered.value, __error=error)
    if result.type != t.NULL:
        assert out.schema["__value"] == to_polars(result.type)
    expected = interpret_rows(expr, rows, result.types)
    for i, ((value, message), got, got_error) in enumerate(
        zip(expected, out["__value"].to_list(), out["__error"].to_list(), strict=True)
    ):
        note(f"row {i}: {rows[i]!r}")
        assert got_error == message
        if message is None:
            assert same(value, got), f"row {i}: interpreter {value!r}, Polars {got!r}"
    if lowered.error is None:
        assert all(message is None for _, message in expected), "an error the lowering cannot produce"


@given(typed_cases(wanted=t.BOOL))
@example(INDEX_INT_MIN)
def test_predicate_keeps_exactly_the_rows_that_are_true(case) -> None:
    schema, expr, rows = case
    note(f"expr = {expr!r}")
    result = typed(schema, expr)
    lowered = lower_predicate(expr, LowerContext(types=result.types, now=NOW))
    kept = evaluated(frame(schema, rows), __keep=lowered.value)["__keep"].to_list()
    for (value, message), keep in zip(interpret_rows(expr, rows, result.types), kept, strict=True):
        if message is None:
            assert keep is (value is True)


def test_division_by_a_constant_is_the_interpreters_correctly_rounded_division() -> None:
    """Polars divides by a constant by multiplying by its reciprocal, one ulp off in places
    (7.0 / 9): the lowering divides by a column instead (found by the property above)."""
    schema = Struct((("x", t.FLOAT), ("s", t.STRING)))
    rows = [{"x": None, "s": "a"}, {"x": 7.0, "s": ""}, {"x": -7.0}, {"x": 5.044322276450325e16, "s": "a"},
            {"x": 0.1, "s": ""}]
    for text in ("x / 9", "x // 9", "x % 9", "x / 0.3", "x // 0.3", "x % 0.3", "9 / x", "7.0 / 9 + x",
                 "[0 / 0.0, 7 / 9.0][len(s)]"):  # a constant divided by a constant stays a constant
        expr = parse_expression(text)
        result = typed(schema, expr)
        lowered = lower(expr, LowerContext(types=result.types, now=NOW))
        got = evaluated(frame(schema, rows), v=lowered.value)["v"].to_list()
        expected = [value for value, _ in interpret_rows(expr, rows, result.types)]
        assert all(map(same, expected, got)), (text, expected, got)


def test_an_index_of_int_min_is_out_of_every_list() -> None:
    """Polars 2.1 panics on `list.get(INT_MIN)`; the interpreter reads null (an overflowed index, which
    wraps to INT_MIN in Polars, is the overflow error)."""
    schema = Struct((("a", t.INT), ("xs", t.ListOf(t.INT))))
    rows = [{"a": INT_MIN, "xs": [1, 2]}, {"a": INT_MIN, "xs": []}, {"a": INT_MIN}, {"a": -2, "xs": [1, 2]},
            {"a": None, "xs": [3]}]
    for text in ("xs[a]", "[true][a]", "[1, 2][a] > 0", "xs[-a]", "xs[a - 1 + 1]", "[true][9223372036854775807 + 1]",
                 "xs[9223372036854775807 + 1]", "xs[-9223372036854775807]"):
        expr = parse_expression(text)
        result = typed(schema, expr)
        lowered = lower(expr, LowerContext(types=result.types, now=NOW))
        error = lowered.error if lowered.error is not None else pl.lit(None, dtype=pl.String)
        out = evaluated(frame(schema, rows), v=lowered.value, e=error)
        expected = interpret_rows(expr, rows, result.types)
        assert out["e"].to_list() == [message for _, message in expected], text
        assert all(map(same, [value for value, _ in expected], out["v"].to_list())), text
