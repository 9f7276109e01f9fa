"""Each Kafka partition keeps its own watermark (SPEC §4): the step's watermark is the minimum over the
partitions assigned to this process, delivering or not, and never goes back, so a window is emitted
once. `ListFeed` plays the Kafka feed (its partitions are all assigned); the real feed's assignment is
covered through the CLI in tests/cli/test_kafka_windows.py."""

from __future__ import annotations

import polars as pl
from feed_cases import ListFeed, run_feeds
from runner_cases import records, write_spec

from flowc.runtime.stateful.windows import NEG_INF, TIME, WM, Watermarks

KAFKA_WINDOWS = """
settings: {batch_size: 1}
sources:
  clicks:
    type: kafka
    topic: clicks
    bootstrap_servers: "127.0.0.1:9"
    format: json
    schema: {k: string, ts: datetime}
    event_time: {field: ts}
steps:
  - name: per_minute
    aggregate:
      window: {type: tumbling, size: 1m}
      compute: {n: count()}
sinks:
  out: {type: file, path: out.jsonl}
  late: {type: file, from: per_minute.late, path: late.jsonl}
"""


def click(partition: int, offset: int, second: int) -> dict:
    """A Kafka record of `clicks` at `second` seconds past midnight, as the feed delivers it."""
    ts = f"2026-01-01T00:{second // 60:02d}:{second % 60:02d}Z"
    return {"k": "x", "ts": ts, "_key": None, "_topic": "clicks", "_partition": partition, "_offset": offset,
            "_timestamp": ts}


# partition 0 races ahead to 00:01:30 while partition 1 is still in the first minute
RACING_PARTITIONS = (click(0, 0, 10), click(1, 0, 20), click(0, 1, 90), click(1, 1, 40), click(1, 2, 70))


def test_each_kafka_partition_has_its_own_watermark(tmp_path):
    """SPEC §4: partition 0 racing ahead to 00:01:30 must not close the first minute while partition 1
    is still at 00:00:20; its record at 00:00:40 is on time, and the window closes once partition 1
    passes 00:01 (one watermark per source would have made that record late)."""
    items = list(RACING_PARTITIONS)
    feed = ListFeed(items, tmp_path / ".flow" / "p")
    outcome = run_feeds(write_spec(tmp_path, KAFKA_WINDOWS), {"clicks": feed})
    assert outcome.status == "stopped" and outcome.totals.late == 0
    assert records(tmp_path / "out.jsonl") == [
        {"window_start": "2026-01-01T00:00:00.000000Z", "window_end": "2026-01-01T00:01:00.000000Z", "n": 3}]
    assert not (tmp_path / "late.jsonl").exists() or records(tmp_path / "late.jsonl") == []


def test_partition_watermarks_survive_a_resume(tmp_path):
    items = list(RACING_PARTITIONS)
    spec_path = write_spec(tmp_path, KAFKA_WINDOWS)
    first = ListFeed(items, tmp_path / ".flow" / "p")
    assert run_feeds(spec_path, {"clicks": first}, stop_when=lambda: first.next >= 3).status == "stopped"
    assert not (tmp_path / "out.jsonl").exists() or records(tmp_path / "out.jsonl") == []  # p1 holds it open
    second = ListFeed(items, tmp_path / ".flow" / "p")
    outcome = run_feeds(spec_path, {"clicks": second})
    assert second.calls[0] == ("open", {"next": 3})
    assert outcome.totals.late == 0
    assert [r["n"] for r in records(tmp_path / "out.jsonl")] == [3]


def test_a_partition_that_has_not_delivered_yet_holds_the_window(tmp_path):
    """Partition 0 delivers up to 00:01:30 before partition 1 delivers anything: the first minute
    waits for partition 1 (it used to be emitted with partition 0's record alone, then emitted again
    with partition 1's)."""
    items = [click(0, 0, 10), click(0, 1, 90), click(1, 0, 20), click(1, 1, 70)]
    feed = ListFeed(items, tmp_path / ".flow" / "p")
    outcome = run_feeds(write_spec(tmp_path, KAFKA_WINDOWS), {"clicks": feed})
    assert outcome.totals.late == 0
    assert records(tmp_path / "out.jsonl") == [
        {"window_start": "2026-01-01T00:00:00.000000Z", "window_end": "2026-01-01T00:01:00.000000Z", "n": 2}]


def test_partitions_of_two_topics_keep_watermarks_apart(tmp_path):
    """`topics: [a, b]`: partition 0 of `a` and partition 0 of `b` are two inputs, not one."""
    spec = KAFKA_WINDOWS.replace("topic: clicks", "topics: [a, b]")
    items = [{**click(0, 0, 10), "_topic": "a"}, {**click(0, 1, 90), "_topic": "a"},
             {**click(0, 0, 20), "_topic": "b"}, {**click(0, 1, 70), "_topic": "b"}]
    feed = ListFeed(items, tmp_path / ".flow" / "p", topics=("a", "b"))
    outcome = run_feeds(write_spec(tmp_path, spec), {"clicks": feed})
    assert outcome.totals.late == 0
    assert [r["n"] for r in records(tmp_path / "out.jsonl")] == [2]


SECOND = 1_000_000


def marks(watermarks: Watermarks, index: int, times: list[int]) -> list[int]:
    """The step's watermark before each record of a batch from input `index`, then deliver the batch."""
    frame = pl.DataFrame({TIME: [t * SECOND for t in times]}, schema={TIME: pl.Int64})
    before = frame.select(watermarks.before(index)).get_column(WM).to_list()
    watermarks.delivered(index, frame.get_column(TIME))
    return before


def in_family(index: int) -> bool:
    return index >= 1  # one branch (index 0); lanes are 1 + partition


def test_a_partition_assigned_after_a_window_was_emitted_cannot_reopen_it():
    """A rebalance hands this process partition 1 after partition 0 alone moved the step to 90 s:
    partition 1's records behind 90 s see a watermark of 90 s (late), not minus infinity."""
    watermarks = Watermarks(lag=0, inputs=1, ended={0})
    watermarks.hold({1}, in_family)
    marks(watermarks, 1, [10, 90])
    assert watermarks.current() == 90 * SECOND
    watermarks.hold({1, 2}, in_family)
    assert watermarks.current() == 90 * SECOND  # partition 2 holds from now on, but nothing goes back
    assert marks(watermarks, 2, [20, 95]) == [90 * SECOND, 90 * SECOND]
    assert watermarks.current() == 90 * SECOND  # partition 2 at 95 s, partition 1 at 90 s


def test_a_revoked_partition_stops_holding_the_step():
    watermarks = Watermarks(lag=0, inputs=1, ended={0})
    watermarks.hold({1, 2}, in_family)
    marks(watermarks, 1, [90])
    assert watermarks.current() == NEG_INF  # partition 2 has delivered nothing
    marks(watermarks, 2, [20])
    assert watermarks.current() == 20 * SECOND
    watermarks.hold({1}, in_family)  # partition 2 went to another process
    assert watermarks.current() == 90 * SECOND
    watermarks.hold({1, 2}, in_family)  # and came back: it holds again, below the floor
    assert watermarks.current() == 90 * SECOND


def test_the_floor_is_part_of_the_snapshot():
    watermarks = Watermarks(lag=0, inputs=1, ended={0})
    watermarks.hold({1}, in_family)
    marks(watermarks, 1, [90])
    assert watermarks.current() == 90 * SECOND
    restored = Watermarks(lag=0, inputs=1)
    restored.restore(watermarks.frame())
    restored.hold({1, 2}, in_family)
    assert restored.current() == 90 * SECOND
    assert marks(restored, 2, [20]) == [90 * SECOND]


def test_a_dedupe_on_batch_time_is_not_held_by_an_idle_partition():
    """Without event time a dedupe's clock is the batch time, one for all partitions: an assigned
    partition that never delivers must not hold it (its key state would never be forgotten)."""
    from flowc.compiler import ir
    from flowc.compiler.spec import Config, Source
    from flowc.runtime.engines import Engines
    from flowc.runtime.stateful import dedupe

    scan = ir.Scan(source=Source("events", "kafka", Config({}), None, None))
    timed = ir.Dedupe(input=scan, key=("k",), within=10, step="timed", event_time="ts", max_out_of_orderness=0)
    untimed = ir.Dedupe(input=scan, key=("k",), within=10, step="untimed", event_time=None, max_out_of_orderness=0)
    operators = {node: dedupe.build(node, plan=None) for node in (timed, untimed)}
    engines = Engines(None, operators, ())
    engines.assigned("events", frozenset({0, 1}))
    assert operators[timed].watermarks.waiting == {1, 2}
    assert operators[untimed].watermarks.waiting == set()
