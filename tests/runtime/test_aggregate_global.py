"""The aggregate without a window against plain Polars over the whole input, on random data in random
batches (partials merged batch by batch, a snapshot/restore mid-stream), and the values of each
aggregate on hand-written cases: SQL nulls, strings by code point, arrival order, overflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from aggregate_cases import COMPUTE, SCHEMA, aggregate, feed, frame, reference_output, roundtrip
from hypothesis import given
from hypothesis import strategies as st
from test_aggregate_windows import SIZES, check, streams

from flowc.compiler.lower_plan import ERROR, ROW
from flowc.dsl import types as ft
from flowc.dsl.types import Struct
from flowc.runtime.stateful.agg_partials import AggregateOverflow
from flowc.runtime.stateful.aggregate import build


@given(streams(), SIZES, st.integers(0, 6), st.booleans())
def test_global_aggregate_matches_plain_polars(records, sizes, cut, keyed):
    by = ("k",) if keyed else ()
    node, plan = aggregate(COMPUTE, by=by)
    out, late, count = feed(node, plan, records, sizes, cut=cut)
    expected = reference_output(records, by, None, COMPUTE)
    check(out, expected)
    assert (late, count) == (None, 0)


def _one(compute: dict[str, str], rows: list[dict], schema=SCHEMA, by: tuple[str, ...] = ()) -> dict:
    node, plan = aggregate(compute, by=by, schema=schema)
    out, _, _ = feed(node, plan, frame(rows, schema), [2])
    assert out is not None and out.height == 1
    return out.drop(ROW).row(0, named=True)


def test_sql_nulls_and_arrival_order():
    rows = [{"k": "a", "x": None, "s": None}, {"k": "a", "x": None, "s": "b"}, {"k": "a", "x": None, "s": "b"}]
    got = _one({"n": "count()", "nx": "count(x)", "ns": "count(s)", "d": "count_distinct(s)", "sx": "sum(x)",
                "ax": "avg(x)", "mn": "min(x)", "mx": "max(s)", "fs": "first(s)", "ls": "last(x)",
                "cs": "collect(s)"}, rows)
    assert got == {"n": 3, "nx": 0, "ns": 2, "d": 1, "sx": None, "ax": None, "mn": None, "mx": "b", "fs": None,
                   "ls": None, "cs": [None, "b", "b"]}


def test_strings_compare_by_code_point():
    texts = ["a", "Z", "é", "\U0001f600", "z", "\uffff"]
    got = _one({"mn": "min(s)", "mx": "max(s)"}, [{"s": s} for s in texts])
    assert got == {"mn": "Z", "mx": "\U0001f600"}  # U+1F600 is above U+FFFF though its UTF-16 form is not


def test_int_sum_that_leaves_64_bits_fails_the_run():
    big = 2**63 - 1
    assert _one({"sx": "sum(x)"}, [{"x": big}, {"x": 1}, {"x": -1}]) == {"sx": big}  # only the result counts
    node, plan = aggregate({"revenue": "sum(x)"}, by=("k",))
    with pytest.raises(AggregateOverflow, match=r"step 'agg': integer overflow in sum 'revenue'"):
        feed(node, plan, frame([{"k": "a", "x": big}, {"k": "a", "x": 1}]), [1])
    # an avg's sum is exact (Int128) and its mean fits: no failure
    assert _one({"a": "avg(x)"}, [{"x": big}, {"x": big}, {"x": big - 3}]) == {"a": float(big - 1)}


def test_durations_booleans_and_datetimes():
    schema = Struct((("d", ft.DURATION), ("b", ft.BOOL), ("ts", ft.DATETIME)))
    us = timedelta(microseconds=1)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"d": 2 * us, "b": True, "ts": t0}, {"d": -1 * us, "b": None, "ts": t0 - us}, {"d": None, "b": False}]
    got = _one({"sd": "sum(d)", "ad": "avg(d)", "mnb": "min(b)", "mxb": "max(b)", "mnt": "min(ts)"}, rows, schema)
    assert got == {"sd": us, "ad": timedelta(0), "mnb": False, "mxb": True, "mnt": t0 - us}  # avg truncates


def test_a_literal_null_argument():
    got = _one({"s": "sum(null)", "a": "avg(null)", "c": "count(null)", "f": "first(null)"}, [{"x": 1}])
    assert got == {"s": None, "a": None, "c": 0, "f": None}


def test_a_record_error_in_an_argument_is_given_back_and_left_out():
    # SPEC §6: a record error, under the step's policy (the runner's); the other records are aggregated
    node, plan = aggregate({"n": "sum(to_int(s))", "c": "count()"})
    op = build(node, plan)
    first = op.process(frame([{"s": "1"}, {"s": "x"}]), 0)
    second = op.process(frame([{"s": "y"}, {"s": "2"}], first_row=2), 0)
    assert first.errors is not None and second.errors is not None
    assert first.errors.select("s", ROW, ERROR).rows() == [("x", 1, "conversion: cannot convert 'x' to int")]
    assert second.errors.get_column(ROW).to_list() == [2]
    assert op.end_of_input(0).output.drop(ROW).rows(named=True) == [{"n": 3, "c": 2}]


def test_without_input_one_record_without_by_and_none_with_by():
    assert _one({"n": "count()", "s": "sum(x)", "c": "collect(x)", "d": "count_distinct(x)"}, []) == \
        {"n": 0, "s": None, "c": [], "d": 0}
    node, plan = aggregate({"n": "count()"}, by=("k",))
    assert feed(node, plan, frame([]), [1]) == (None, None, 0)


def test_output_columns_order_types_and_null_keys_last():
    node, plan = aggregate({"n": "count()", "total": "sum(f)"}, by=("k", "s"))
    rows = [{"k": None, "s": "a", "f": 1.0}, {"k": "b", "s": "a", "f": 2.5}, {"k": "a", "s": None}]
    out, _, _ = feed(node, plan, frame(rows), [1])
    assert out.schema == {"k": pl.String, "s": pl.String, "n": pl.Int64, "total": pl.Float64, ROW: pl.Int64}
    assert out.get_column("k").to_list() == ["a", "b", None]
    assert out.get_column(ROW).null_count() == out.height


def test_global_emits_once_every_input_has_ended():
    node, plan = aggregate({"n": "count()"}, inputs=2)
    op = build(node, plan)
    op.process(frame([{"x": 1}]), 0)
    op.process(frame([{"x": 2}, {"x": 3}]), 1)
    assert op.end_of_input(1).output is None
    restored = build(node, plan)
    restored.restore(roundtrip(op.snapshot()))
    out = restored.end_of_input(0).output
    assert out is not None and out.get_column("n").to_list() == [3]


def test_the_whole_input_is_emitted_once():
    node, plan = aggregate({"n": "count()"})
    op = build(node, plan)
    op.process(frame([{"x": 1}]))
    assert op.end_of_input().output.get_column("n").to_list() == [1]
    assert op.end_of_input().output is None
