"""Polling the unbounded sources (`Feed`s) once the bounded ones are read (SPEC §3, §9).

The feeds are polled round-robin, each for at most `batch_size` records waiting at most `batch_timeout`
for the first. A non-empty poll is one batch: its raw frame goes through the source's `Scan` lowering
exactly as a bounded batch does (a record the feed could not decode is a source record error), then
through the plan; the sinks are written and made durable, the checkpoint records `feed.position()`,
and only then is the feed told `committed(position)` (Kafka commits its offsets there). `--limit`
counts records over all feeds. A feed that reports `exhausted()` (a one-pass http source) ends its
inputs of the stateful nodes like a bounded source's end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.polars_types import to_polars
from flowc.runtime.batching import BatchRunner, source_query
from flowc.runtime.envelope import Policy
from flowc.runtime.sources import open_feed
from flowc.runtime.sources.feed import Feed

if TYPE_CHECKING:
    from flowc.runtime.executor import _Run


def poll_feeds(run: _Run) -> str | None:
    """Run the feeds until every one is exhausted (None) or a stop request or the limit (the reason)."""
    prepared = run.prepared
    scans = {s.step: s for s in run.plan.scans if s.step in run.feed_positions}
    feeds: dict[str, Feed] = {}
    try:
        for name, scan in scans.items():
            feeds[name] = open_feed(scan.source, prepared.base_dir, prepared.spec.pipeline)
            feeds[name].open(run.feed_positions[name])
        return _loop(run, scans, feeds)
    finally:
        for feed in feeds.values():
            feed.close()


def _loop(run: _Run, scans: dict[str, ir.Scan], feeds: dict[str, Feed]) -> str | None:
    settings = run.prepared.spec.settings
    remaining = run.options.limit
    timeout = settings.batch_timeout / 1_000_000
    while True:
        live = [name for name in feeds if name not in run.exhausted]
        if not live:
            return None
        for name in live:
            if run.options.should_stop():
                return "stop requested"
            if remaining is not None and remaining <= 0:
                return "--limit reached"
            feed = feeds[name]
            size = settings.batch_size if remaining is None else min(settings.batch_size, remaining)
            raw = feed.poll(size, timeout)
            if raw is not None and raw.height:
                _commit(run, scans[name], feed, raw)
                if remaining is not None:
                    remaining -= raw.height
                run.between_batches()
            if feed.exhausted():
                run.exhausted.add(name)
                _end(run, scans[name], feed)


def _runner(run: _Run, scan: ir.Scan, feed: Feed, raw: pl.DataFrame) -> tuple[BatchRunner, pl.LazyFrame]:
    query = source_query(run.plan, scan, raw.lazy(), run.next_now)
    return BatchRunner(run.plan, query, Policy(scan.step, feed.positions), run.engines or None), query.frame


def _commit(run: _Run, scan: ir.Scan, feed: Feed, raw: pl.DataFrame) -> None:
    runner, frame = _runner(run, scan, feed, raw)
    result = runner.run(frame.collect(), run.next_now)
    counts = run.counted(result, raw.height)
    position = feed.position()
    run.feed_positions[scan.step] = position
    run.checkpoint(scan.step, counts)
    feed.committed(position)


def _end(run: _Run, scan: ir.Scan, feed: Feed) -> None:
    """An exhausted feed: the stateful inputs it ends get `end_of_input`, in a checkpointed batch."""
    if not run.engines:
        return
    schema = run.plan.schemas[scan]
    empty = pl.DataFrame(schema={**({n: to_polars(t) for n, t in schema.fields} if schema else {}), ROW: pl.Int64})
    runner, _ = _runner(run, scan, feed, empty)
    run.end_inputs(scan.step, runner, 0)
