"""Watermarks, emission and lateness on hand-written streams (SPEC §4), one input and two, and batch-size
independence on a longer random stream; snapshots through the real checkpoint store."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from aggregate_cases import (
    COMPUTE,
    US,
    aggregate,
    collected,
    feed,
    frame,
    micros,
    reference_output,
    reference_windows,
    session,
    sliding,
    tumbling,
)
from polars.testing import assert_frame_equal

from flowc.compiler.lower_plan import ROW
from flowc.runtime.checkpoint import CheckpointStore
from flowc.runtime.stateful.aggregate import build

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float, k: str = "a", x: int | None = 1) -> dict:
    return {"k": k, "ts": T0 + timedelta(seconds=seconds), "x": x}


def windows_of(out: pl.DataFrame | None) -> list[tuple]:
    if out is None:
        return []
    cols = out.select(((pl.col("window_start") - T0).dt.total_seconds()), (pl.col("window_end") - T0).dt.total_seconds(),
                      "n")
    return [tuple(r) for r in cols.iter_rows()]


def test_a_window_is_emitted_when_the_watermark_reaches_its_end_and_a_record_at_the_end_is_in_the_next():
    node, plan = aggregate({"n": "count()"}, window=tumbling(60 * US), lag=10 * US)
    op = build(node, plan)
    assert op.process(frame([at(0), at(60), at(69)])).output is None  # watermark 59: [0, 60) still open
    emitted = op.process(frame([at(70), at(1)], first_row=3))  # 70 - 10 = 60 reaches the end: emitted
    assert windows_of(emitted.output) == [(0, 60, 1)]
    assert emitted.late_count == 1 and emitted.late.get_column(ROW).to_list() == [4]
    assert windows_of(op.end_of_input().output) == [(60, 120, 3)]


def test_lateness_is_judged_with_the_watermark_of_the_records_before_it_in_the_same_batch():
    node, plan = aggregate({"n": "count()"}, window=tumbling(10 * US, lateness=5 * US))
    records = frame([at(1), at(14), at(2), at(15), at(3)])  # 14 does not close [0, 10) + 5s; 15 does
    for sizes in ([1], [2], [100000]):
        out, late, count = feed(node, plan, records, sizes)
        assert windows_of(out) == [(0, 10, 2), (10, 20, 2)]
        assert count == 1 and late.get_column(ROW).to_list() == [4]


def test_a_sliding_record_joins_only_its_open_windows_and_is_late_when_all_are_emitted():
    node, plan = aggregate({"n": "count()"}, window=sliding(30 * US, 10 * US))
    out, late, count = feed(node, plan, frame([at(5), at(25), at(12), at(61), at(55), at(39)]), [1])
    # 12 arrives at watermark 25: [0, 30) is open, [-10, 20) and [-20, 10) are emitted; 39 (watermark 61)
    # has only emitted windows left, so it is late; 55 (watermark 61) misses [30, 60), which then has no record
    assert windows_of(out) == [(-20, 10, 1), (-10, 20, 1), (0, 30, 3), (10, 40, 2), (20, 50, 1), (40, 70, 2),
                               (50, 80, 2), (60, 90, 1)]
    assert count == 1 and late.get_column(ROW).to_list() == [5]


def test_a_session_merges_through_a_bridging_record_and_refuses_one_that_would_join_an_emitted_session():
    node, plan = aggregate({"n": "count()", "xs": "collect(x)"}, by=("k",), window=session(10 * US), lag=30 * US)
    rows = [at(0, x=1), at(15, x=2), at(8, x=3), at(40, "b", x=4), at(31, x=5), at(50, "b", x=6)]
    out, late, count = feed(node, plan, frame(rows), [2])
    # 8 merges [0, 10) and [15, 25) into [0, 25); 31 starts a new session (31 >= 15 + 10), so does b's 50
    assert out.select("k", "n", "xs").rows() == [("a", 3, [1, 2, 3]), ("a", 1, [5]), ("b", 1, [4]), ("b", 1, [6])]
    assert count == 0
    node, plan = aggregate({"n": "count()"}, window=session(10 * US))
    rows = [at(0), at(12), at(9)]  # 9 + 10 is beyond the watermark 12, but [0, 10) was emitted at 12
    out, late, count = feed(node, plan, frame(rows), [1])
    assert count == 1 and late.get_column(ROW).to_list() == [2]
    assert windows_of(out) == [(0, 10, 1), (12, 22, 1)]


def test_each_input_has_its_own_watermark_and_the_step_takes_the_minimum():
    node, plan = aggregate({"n": "count()"}, window=tumbling(10 * US), inputs=2)
    op = build(node, plan)
    assert op.process(frame([at(0), at(100)]), 0).output is None  # input 1 has delivered nothing: -inf
    assert windows_of(op.process(frame([at(15)]), 1).output) == [(0, 10, 1)]  # min(100, 15) = 15
    assert op.process(frame([at(3)]), 1).late_count == 1  # the step's watermark 15 passed [0, 10)
    assert windows_of(op.end_of_input(1).output) == [(10, 20, 1)]  # input 1 ended: the watermark is 100
    assert windows_of(op.end_of_input(0).output) == [(100, 110, 1)]


def test_results_and_late_records_do_not_depend_on_batch_sizes():
    rng = random.Random(7)
    rows = [{"k": rng.choice(["a", "b", None]), "ts": T0 + timedelta(seconds=i + rng.randint(-120, 30)),
             "x": rng.choice([None, rng.randint(-50, 50)]), "f": rng.random(), "s": rng.choice(["p", "q", None])}
            for i in range(3000)]
    records = frame(rows)
    node, plan = aggregate(COMPUTE, by=("k",), window=tumbling(60 * US), lag=30 * US)
    joined = reference_windows(micros(records), 60 * US, 60 * US, 30 * US, 0)
    expected = reference_output(records, ("k",), [[(s, s + 60 * US) for s in w] for w in joined], COMPUTE)
    runs = [feed(node, plan, records, sizes) for sizes in ([100000], [1000], [7, 1000, 1, 333])]
    for out, late, count in runs:
        assert_frame_equal(out, expected, rel_tol=1e-9)
        assert_frame_equal(late, runs[0][1])
        assert count == runs[0][2] > 0


def test_a_resumed_engine_restored_from_the_checkpoint_store_emits_what_an_uninterrupted_one_would(tmp_path):
    node, plan = aggregate({"n": "count()", "xs": "collect(x)", "l": "last(x)"}, by=("k",),
                           window=session(10 * US), lag=5 * US)
    rows = [at(i * 3 % 50, "ab"[i % 2], x=i) for i in range(40)]
    first, second = frame(rows[:25]), frame(rows[25:], first_row=25)
    whole = build(node, plan)
    uninterrupted = collected([whole.process(first), whole.process(second), whole.end_of_input()])
    op = build(node, plan)
    before = op.process(first)
    store = CheckpointStore(tmp_path)
    ref = store.save_snapshot(1, op.snapshot())
    resumed = build(node, plan)
    resumed.restore(store.load_snapshot(ref))
    after = collected([before, resumed.process(second), resumed.end_of_input()])
    assert_frame_equal(after[0], uninterrupted[0])
    assert_frame_equal(after[1], uninterrupted[1])


def test_a_record_without_event_time_is_refused():
    node, plan = aggregate({"n": "count()"}, window=tumbling(10 * US))
    with pytest.raises(ValueError, match="without event time"):
        build(node, plan).process(frame([{"k": "a", "ts": None}]))


def test_an_event_time_that_is_not_a_datetime_is_refused():
    node, plan = aggregate({"n": "count()"}, window=tumbling(10 * US))
    text = frame([{"k": "a"}]).with_columns(pl.lit("2026-01-01T00:00:00Z").alias("ts"))
    with pytest.raises(ValueError, match="event-time field 'ts' holds String, not datetimes"):
        build(node, plan).process(text)


def test_a_sliding_batch_too_big_to_explode_at_once_is_merged_in_slices(monkeypatch):
    from flowc.runtime.stateful import agg_windowed

    node, plan = aggregate({"n": "count()", "xs": "collect(x)", "f": "first(x)"}, by=("k",),
                           window=sliding(50 * US, 10 * US))
    rows = [at(i * 3 % 200, "ab"[i % 2], x=i) for i in range(300)]
    whole = feed(node, plan, frame(rows), [100000])
    monkeypatch.setattr(agg_windowed, "_EXPLODED_ROWS", 40)  # 8 records per slice
    sliced = feed(node, plan, frame(rows), [100000])
    assert_frame_equal(sliced[0], whole[0])
    assert sliced[2] == whole[2]


def test_a_key_column_typed_null_in_one_batch_merges_with_text_keys_of_the_next():
    for window in (None, tumbling(10 * US), session(10 * US)):
        node, plan = aggregate({"n": "count()", "c": "collect(x)"}, by=("k",), window=window)
        op = build(node, plan)
        only_nulls = pl.DataFrame({"k": [None], "ts": [T0], "x": [1]})  # k is of Polars type Null here
        op.process(only_nulls.with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC"))))
        op.process(frame([at(1, "a", x=2), at(1, None, x=3)]))
        out = op.end_of_input().output
        assert out.select("k", "n", "c").rows() == [("a", 1, [2]), (None, 2, [1, 3])]
