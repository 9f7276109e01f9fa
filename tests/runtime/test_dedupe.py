"""dedupe against a plain Python reference of SPEC §4's rule, over batch sizes, snapshots and restores."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Source
from flowc.runtime.checkpoint import CheckpointStore, decode_part, encode_part
from flowc.runtime.stateful import dedupe

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SCAN = ir.Scan(source=Source("events", "inline", {}, None, None))


def node(key=("k",), within: int | None = 10, ooo: int = 0, event_time: str | None = "ts") -> ir.Dedupe:
    return ir.Dedupe(input=SCAN, key=key, within=within, step="dd", event_time=event_time, max_out_of_orderness=ooo)


def frame(records: list[tuple], start: int = 0) -> pl.DataFrame:
    """(k, t µs[, v]) tuples -> a frame with a datetime `ts`, a payload and ROW numbers from `start`."""
    return pl.DataFrame(
        {"k": [r[0] for r in records], "ts": [EPOCH + timedelta(microseconds=r[1]) for r in records],
         "v": [r[2] if len(r) > 2 else i for i, r in enumerate(records)], ROW: range(start, start + len(records))},
        schema={"k": pl.String, "ts": pl.Datetime("us", "UTC"), "v": pl.Int64, ROW: pl.Int64},
    )


def reference(records: list[tuple], within: int | None, ooo: int) -> list[int]:
    """Indices of the kept records, by the rule read literally, one record at a time: dropped when a
    kept record of its key, not yet forgotten (the watermark has not passed its time + within), is
    less than `within` away."""
    kept_at: dict[object, list[int]] = {}
    seen: int | None = None
    kept = []
    for i, (k, t, *_) in enumerate(records):
        watermark = None if seen is None else seen - ooo
        remembered = [s for s in kept_at.get(k, []) if within is None or watermark is None or watermark <= s + within]
        if remembered and (within is None or any(abs(t - s) < within for s in remembered)):
            pass
        else:
            kept.append(i)
            kept_at.setdefault(k, []).append(t)
        seen = t if seen is None else max(seen, t)
    return kept


def run(engine, records: list[tuple], size: int, start: int = 0) -> list[int]:
    rows: list[int] = []
    for at in range(0, len(records), size):
        out = engine.process(frame(records[at:at + size], start + at)).output
        rows += out.get_column(ROW).to_list() if out is not None else []
    return rows


def restored(engine, within, ooo):
    """A fresh engine given `engine`'s snapshot after the round trip a checkpoint makes."""
    parts = {}
    for name, part in engine.snapshot().items():
        suffix, content = encode_part(part)
        parts[name] = decode_part(f"part.{suffix}", content)
    fresh = dedupe.build(node(within=within, ooo=ooo), plan=None)
    fresh.restore(parts)
    return fresh


records_st = st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(0, 60)), max_size=60)


@given(records=records_st, within=st.sampled_from([None, 0, 1, 5, 20]), ooo=st.sampled_from([0, 3, 100]),
       size=st.sampled_from([1, 7, 1000]), cut=st.integers(0, 60))
def test_matches_the_reference_for_every_batch_size_and_a_restore_anywhere(records, within, ooo, size, cut):
    expected = reference(records, within, ooo)
    assert run(dedupe.build(node(within=within, ooo=ooo), plan=None), records, size) == expected
    cut = min(cut, len(records))
    first = dedupe.build(node(within=within, ooo=ooo), plan=None)
    rows = run(first, records[:cut], size)
    rows += run(restored(first, within, ooo), records[cut:], size, start=cut)
    assert rows == expected


def test_the_spec_example_a_kept_record_restarts_the_span():
    records = [("a", 0), ("a", 9), ("a", 10), ("a", 19), ("a", 20), ("b", 5)]
    assert run(dedupe.build(node(within=10), plan=None), records, 1000) == [0, 2, 4, 5]


def test_records_keep_every_column_and_their_row_numbers():
    out = dedupe.build(node(), plan=None).process(frame([("a", 0, 7), ("a", 1, 8), ("b", 2, 9)], 40)).output
    assert out.columns == ["k", "ts", "v", ROW]
    assert out.rows() == [("a", EPOCH, 7, 40), ("b", EPOCH + timedelta(microseconds=2), 9, 42)]


def test_a_batch_of_only_duplicates_emits_nothing():
    engine = dedupe.build(node(within=None), plan=None)
    engine.process(frame([("a", 0)]))
    assert engine.process(frame([("a", 5), ("a", 6)])).output is None
    assert engine.process(pl.DataFrame(schema=frame([]).schema)).output is None


def test_state_is_forgotten_once_the_watermark_passes_and_a_late_duplicate_is_then_kept():
    engine = dedupe.build(node(within=10, ooo=5), plan=None)
    run(engine, [("a", 0), ("b", 14)], 1000)
    assert engine.state.get_column("k").to_list() == ["a", "b"]  # watermark 9 <= 0 + 10
    run(engine, [("b", 15)], 1000)
    assert engine.state.get_column("k").to_list() == ["a", "b"]  # watermark 10 reaches 0 + 10, not past it
    assert run(engine, [("a", 4)], 1000) == []  # 4 is less than 10 from 0: a duplicate still
    run(engine, [("b", 16)], 1000)  # 2 from 14: dropped, and the watermark moves to 11
    assert engine.state.get_column("k").to_list() == ["b"]  # watermark 11 > 0 + 10: 'a' forgotten
    assert run(engine, [("a", 3)], 1000) == [0]  # 3 is less than 10 from 0, but 'a' was forgotten


def test_every_kept_record_counts_not_only_the_last():
    """SPEC §4: dropped when its key has *a* kept record less than `within` away: kept at 60 and 120
    (exactly `within` apart), a record at 30 is 30 from the first and dropped (an audit found it kept,
    judged only against the last kept record)."""
    engine = dedupe.build(node(within=60, ooo=1000), plan=None)
    assert run(engine, [("a", 60), ("a", 120), ("a", 30)], 1000) == [0, 1]
    assert run(dedupe.build(node(within=60, ooo=1000), plan=None), [("a", 60), ("a", 120), ("a", 30)], 1) == [0, 1]


def test_without_within_keys_are_remembered_for_the_whole_run():
    engine = dedupe.build(node(within=None), plan=None)
    assert run(engine, [("a", 0), ("b", 10**12), ("a", 2 * 10**12), (None, 0), (None, 1)], 2) == [0, 1, 3]
    assert engine.state.height == 3


def test_several_key_fields_and_null_values_in_a_key():
    frame_ = pl.DataFrame({"u": [1, 1, 1, None, None], "d": ["x", "y", "x", None, None], "ts": [EPOCH] * 5})
    out = dedupe.build(node(key=("u", "d"), within=None), plan=None).process(frame_).output
    assert out.rows() == [(1, "x", EPOCH), (1, "y", EPOCH), (None, None, EPOCH)]


def test_without_event_time_the_batch_time_decides():
    now = [EPOCH]
    engine = dedupe.build(node(within=60_000_000, event_time=None), plan=None, clock=lambda: now[0])
    assert run(engine, [("a", 0), ("a", 0), ("b", 0)], 1000) == [0, 2]
    now[0] = EPOCH + timedelta(seconds=59)
    assert run(engine, [("a", 0)], 1000) == []
    now[0] = EPOCH + timedelta(seconds=60)
    assert run(engine, [("a", 0), ("b", 0)], 1000) == [0, 1]


def test_a_null_event_time_fails_with_the_row_named():
    broken = frame([("a", 0), ("a", 1)]).with_columns(pl.when(pl.col(ROW) == 1).then(pl.col("ts")).alias("ts"))
    with pytest.raises(ValueError, match=r"dedupe 'dd': a record has a null event time 'ts' \(row 0 of its source\)"):
        dedupe.build(node(), plan=None).process(broken)


def test_the_snapshot_survives_a_checkpoint_store(tmp_path):
    engine = dedupe.build(node(within=10), plan=None)
    run(engine, [("a", 0), ("b", 3)], 1000)
    store = CheckpointStore(tmp_path)
    fresh = dedupe.build(node(within=10), plan=None)
    fresh.restore(store.load_snapshot(store.save_snapshot(1, engine.snapshot())))
    assert_frame_equal(fresh.state, engine.state)
    assert fresh.watermarks.current() == engine.watermarks.current() == int(EPOCH.timestamp() * 1_000_000) + 3
    assert run(fresh, [("a", 9), ("b", 13)], 1000) == [1]


def test_an_empty_engine_snapshots_and_restores():
    engine = restored(dedupe.build(node(), plan=None), 10, 0)
    assert engine.state is None and engine.watermarks.largest == {}
    assert run(engine, [("a", 0), ("a", 1)], 1000) == [0]


def test_a_snapshot_from_before_per_input_watermarks_restores_as_one_input():
    engine = dedupe.build(node(within=10), plan=None)
    seen = int(EPOCH.timestamp() * 1_000_000) + 30
    engine.restore({"keys": pl.DataFrame({"k": ["a"], "__flowc_t": [seen - 25]}),
                    "clock": pl.DataFrame({"max_seen": [seen]}, schema={"max_seen": pl.Int64})})
    assert engine.watermarks.largest == {0: seen}
    assert run(engine, [("a", 8)], 1000) == [0]  # a's state (at 5) was forgotten: the watermark is past 15


def test_a_slow_input_keeps_the_state_a_fast_one_would_have_forgotten():
    """SPEC §4: the step's watermark is the minimum over its inputs. Input 1 (fast) reaches t=100 while
    input 0 (slow) is at 1: a's state from input 0 (t=1) must survive for input 0's duplicate at 5."""
    engine = dedupe.Dedupe(node(within=10), lambda: EPOCH, inputs=2)
    assert engine.process(frame([("a", 1)]), 0).output.height == 1
    assert engine.process(frame([("b", 100)], 1), 1).output.height == 1
    assert engine.process(frame([("a", 5)], 2), 0).output is None  # a duplicate: still within 10 of 1
    engine.end_of_input(0)  # the slow input ended: the fast one's watermark (100) now forgets a
    assert engine.process(frame([("a", 95)], 3), 1).output.height == 1


def test_a_large_batch_with_repeating_keys_is_fast():
    # 200k records over 1,000 keys, every key repeating within each batch, so every record takes the walk:
    # about 0.2 s on an idle core; CPU time (all threads), which other processes on a loaded machine do
    # not inflate: the bound catches a walk that went quadratic, not a slow machine
    records = [(f"k{i % 1000}", i * 7) for i in range(200_000)]
    batches = [frame(records[at:at + 100_000], at) for at in (0, 100_000)]
    engine = dedupe.build(node(within=5_000), plan=None)
    began = time.process_time()
    outputs = [engine.process(batch).output for batch in batches]
    elapsed = time.process_time() - began
    assert sum(o.height for o in outputs) == len(reference(records, 5_000, 0))
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_a_batch_whose_key_is_always_null_matches_only_the_null_key():
    engine = dedupe.build(node(within=None), plan=None)
    run(engine, [("a", 0), (None, 1)], 1000)
    nulls = pl.DataFrame({"k": [None, None], "ts": [EPOCH, EPOCH], ROW: [5, 6]},
                         schema={"k": pl.Null, "ts": pl.Datetime("us", "UTC"), ROW: pl.Int64})
    assert engine.process(nulls).output is None  # the null key was kept before
    fresh = dedupe.build(node(within=None), plan=None)
    run(fresh, [("a", 0)], 1000)
    assert fresh.process(nulls).output.get_column(ROW).to_list() == [5]
    assert run(fresh, [("a", 3), (None, 4), ("b", 5)], 1000) == [2]


def test_an_event_time_that_is_not_a_datetime_is_named():
    text_times = frame([("a", 0)]).with_columns(pl.col("ts").dt.to_string())
    with pytest.raises(ValueError, match=r"dedupe 'dd': event time 'ts' is String, not a datetime"):
        dedupe.build(node(), plan=None).process(text_times)


@settings(max_examples=min(settings().max_examples, 100))  # the one-column property above carries the weight
@given(records=st.lists(st.tuples(st.tuples(st.sampled_from([1, 2, None]), st.booleans()), st.integers(0, 40)),
                        max_size=40),
       within=st.sampled_from([None, 3, 15]), size=st.sampled_from([1, 7, 1000]))
def test_two_key_fields_with_nulls_match_the_reference(records, within, size):
    engine = dedupe.build(node(key=("u", "flag"), within=within), plan=None)
    rows: list[int] = []
    for at in range(0, len(records), size):
        part = records[at:at + size]
        batch = pl.DataFrame(
            {"u": [k[0] for k, _ in part], "flag": [k[1] for k, _ in part],
             "ts": [EPOCH + timedelta(microseconds=t) for _, t in part], ROW: range(at, at + len(part))},
            schema={"u": pl.Int64, "flag": pl.Boolean, "ts": pl.Datetime("us", "UTC"), ROW: pl.Int64})
        out = engine.process(batch).output
        rows += out.get_column(ROW).to_list() if out is not None else []
    assert rows == reference(records, within, 0)
