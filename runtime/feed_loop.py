"""Polling the unbounded sources (`Feed`s) once the bounded ones are read (SPEC §3, §9).

The feeds are polled round-robin, each for at most `batch_size` records waiting at most `batch_timeout`
for the first. A non-empty poll is one batch: its raw frame goes through the source's `Scan` lowering
exactly as a bounded batch does (a record the feed could not decode is a source record error), then
through the plan; the sinks are written and made durable, the checkpoint records `feed.position()`,
and only then is the feed told `committed(position)` (Kafka commits its offsets there). `--limit`
counts records over all feeds. A feed that reports `exhausted()` (a one-pass http source) ends its
inputs of the stateful nodes like a bounded source's end.

A feed whose source declares no schema and has none recorded in the event log is opened before the
run starts and polled for its first batch: the schema the feed inferred from it is frozen (recorded
in `compiled`), the plan is built with it, and that batch is the feed's first (SPEC §3). An
expression that does not type-check against it raises `SchemaMismatch` (the feeds are closed, nothing
is committed), as a bounded source's inferred schema does in `prepare`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from flowc.compiler import ir
from flowc.compiler.checks.source_schemas import KAFKA_FIELDS, with_event_time
from flowc.compiler.lower_plan import RAW_ERROR, ROW
from flowc.compiler.polars_types import to_polars
from flowc.dsl.types import Struct
from flowc.runtime.arrival_order import one_after_the_other
from flowc.runtime.batching import BatchResult, BatchRunner, source_query
from flowc.runtime.engines import has_watermarks
from flowc.runtime.envelope import Policy
from flowc.runtime.events import CHECKPOINT_SAVED, LOG_NAME, RESET, read_events
from flowc.runtime.run_setup import Prepared, SchemaMismatch, check_schemas, plan_of
from flowc.runtime.sources import is_feed
from flowc.runtime.sources.base import inferred
from flowc.runtime.sources.feed import Feed
from flowc.runtime.sources.kafka import lane_numbers, source_topics

if TYPE_CHECKING:
    from flowc.runtime.executor import _Run

FeedOpener = Callable[[Any, str, str], Feed]  # (source, base_dir, pipeline) -> a feed, not yet opened


@dataclass
class OpenFeeds:
    """Feeds opened before the run (to infer a schema), and the first batch each delivered."""

    feeds: dict[str, Feed] = field(default_factory=dict)
    pending: dict[str, pl.DataFrame] = field(default_factory=dict)


def infer_feed_schemas(prepared: Prepared, positions: Mapping[str, Any], opener: FeedOpener,
                       should_stop: Callable[[], bool], limit: int | None = None) -> tuple[Prepared, OpenFeeds]:
    """`prepared` with the schema of every feed that had none taken from its first batch (the plan
    rebuilt with it); gives up waiting when a stop is requested (the schema then stays unknown).
    The first batches together hold at most `limit` records (`--limit`; at least one each, to infer).
    Raises `SchemaMismatch` when the expressions do not type-check against the inferred schemas."""
    opened = OpenFeeds()
    remaining = limit
    schemas = dict(prepared.schemas)
    missing = [s.source for s in prepared.plan.scans if is_feed(s.source) and s.step not in schemas]
    try:
        for source in missing:
            feed = opener(source, prepared.base_dir, prepared.spec.pipeline)
            opened.feeds[source.name] = feed
            _hand_stop(feed, should_stop)
            _hand_start_over(feed, prepared.spec.settings.state_dir)
            feed.open(positions.get(source.name))
            while not should_stop() and not feed.exhausted():
                size = prepared.spec.settings.batch_size
                size = size if remaining is None else max(min(size, remaining), 1)
                first = feed.poll(size, prepared.spec.settings.batch_timeout / 1e6)
                if first is not None and first.height:
                    opened.pending[source.name] = first
                    remaining = None if remaining is None else remaining - first.height
                    schemas[source.name] = _schema_of(source, feed, first)
                    break
            if source.name not in schemas and feed.exhausted():
                schemas[source.name] = Struct(())  # a one-pass source that delivered nothing
    except BaseException:  # a broker down, an HTTP error: the feeds opened so far leave no client behind
        for feed in opened.feeds.values():
            feed.close()
        raise
    if any(s.source.name not in schemas for s in prepared.plan.scans if is_feed(s.source)):
        return prepared, opened  # stopped while waiting: the run stops before its first batch
    if len(schemas) == len(prepared.schemas):
        return prepared, opened
    try:
        check_schemas(prepared.spec, schemas, prepared.tables)
    except SchemaMismatch:
        for feed in opened.feeds.values():
            feed.close()
        raise
    plan = plan_of(prepared.spec, schemas, prepared.tables, prepared.optimize)
    return dataclasses.replace(prepared, schemas=schemas, plan=plan), opened


def _hand_stop(feed: Feed, should_stop: Callable[[], bool]) -> None:
    """Tell a feed that may wait past its poll's timeout (a Kafka group join: up to 30 s) of stop
    requests, so SIGTERM during a join stops the run at once (it waited for the join to end)."""
    use_stop = getattr(feed, "use_stop", None)
    if use_stop is not None:
        use_stop(should_stop)


def _hand_start_over(feed: Feed, state_dir: str) -> None:
    """Tell a feed whose reading may resume from elsewhere than the checkpoint (a Kafka group's offsets)
    that the pipeline was reset (`--reset`) and has checkpointed nothing since: SPEC §10's reset starts
    over, and its outputs were removed, so reading from the group's offsets left them without the
    records read before."""
    use_start_over = getattr(feed, "use_start_over", None)
    if use_start_over is not None and reset_since_checkpoint(state_dir):
        use_start_over()


def reset_since_checkpoint(state_dir: str) -> bool:
    """Whether the event log's last reset has no checkpoint after it."""
    events, _ = read_events(Path(state_dir) / LOG_NAME)
    for event in reversed(events):
        if event.type == CHECKPOINT_SAVED:
            return False
        if event.type == RESET:
            return True
    return False


def _schema_of(source: Any, feed: Feed, first: pl.DataFrame) -> Struct:
    """What the feed inferred (typed; its frame holds scalars as text), else the frame's own types."""
    schema = getattr(feed, "schema", None)
    if not isinstance(schema, Struct):
        schema = inferred(first.drop([c for c in (ROW, RAW_ERROR) if c in first.columns]).schema)
    schema = with_event_time(schema, source)
    if source.type == "kafka":
        names = {n for n, _ in schema.fields}
        schema = Struct(schema.fields + tuple(f for f in KAFKA_FIELDS if f[0] not in names))
    return schema


def poll_feeds(run: _Run, opened: OpenFeeds, opener: FeedOpener) -> str | None:
    """Run the feeds until every one is exhausted (None) or a stop request or the limit (the reason)."""
    prepared = run.prepared
    scans = {s.step: s for s in run.plan.scans if s.step in run.feed_positions}
    feeds = dict(opened.feeds)
    try:
        for name, scan in scans.items():
            if name not in feeds:
                feeds[name] = opener(scan.source, prepared.base_dir, prepared.spec.pipeline)
                _hand_stop(feeds[name], run.options.should_stop)
                _hand_start_over(feeds[name], prepared.spec.settings.state_dir)
                use_schema = getattr(feeds[name], "use_schema", None)
                if scan.source.schema is None and use_schema is not None and name in prepared.schemas:
                    use_schema(_delivered(scan, prepared.schemas[name]))
                feeds[name].open(run.feed_positions[name])
        return _loop(run, scans, feeds, dict(opened.pending))
    finally:
        for feed in feeds.values():
            feed.close()
        opened.feeds.clear()


def _delivered(scan: ir.Scan, schema: Struct) -> Struct:
    """A recorded schema as the feed itself delivers it (Kafka adds its metadata fields on its own)."""
    if scan.source.type != "kafka":
        return schema
    return Struct(tuple(f for f in schema.fields if f not in KAFKA_FIELDS))


def _loop(run: _Run, scans: dict[str, ir.Scan], feeds: dict[str, Feed], pending: dict[str, pl.DataFrame]) -> str | None:
    settings = run.prepared.spec.settings
    remaining = run.options.limit
    timeout = settings.batch_timeout / 1_000_000
    while True:  # (first batches polled to infer a schema first: they count against the limit first)
        live = sorted((name for name in feeds if name not in run.exhausted), key=lambda name: name not in pending)
        if not live:
            return None
        for name in live:
            if run.options.should_stop():
                return "stop requested"
            if remaining is not None and remaining <= 0:
                return "--limit reached"
            feed = feeds[name]
            size = settings.batch_size if remaining is None else min(settings.batch_size, remaining)
            raw = pending.pop(name) if name in pending else feed.poll(size, timeout)
            if raw is not None and raw.height:
                _commit(run, scans[name], feed, raw)
                if remaining is not None:
                    remaining -= raw.height
            run.between_batches()  # also after an empty poll: an idle feed must not delay a pause
            if feed.exhausted() and name not in pending:
                run.exhausted.add(name)
                _end(run, scans[name], feed)


def _runner(run: _Run, scan: ir.Scan, feed: Feed, raw: pl.DataFrame,
            lane: int | None = None) -> tuple[BatchRunner, pl.LazyFrame]:
    query = source_query(run.plan, scan, raw.lazy(), run.next_now)
    return BatchRunner(run.plan, query, Policy(scan.step, feed.positions), run.engines or None, lane), query.frame


def _lanes(run: _Run, scan: ir.Scan, feed: Feed, raw: pl.DataFrame) -> list[tuple[int | None, pl.DataFrame]]:
    """The batch per Kafka partition (in arrival order within each) when a windowed aggregate or a
    dedupe is downstream, so each partition keeps its own watermark (SPEC §4); else the batch whole.
    Every partition assigned to this process holds those watermarks, delivering in this batch or not."""
    windowed = run.engines and any(has_watermarks(n) for n in run.engines.operators)
    if scan.source.type != "kafka" or not windowed or "_partition" not in raw.columns:
        return [(None, raw)]
    run.engines.assigned(scan.step, feed.lanes())
    lanes = raw.select(lane_numbers(source_topics(scan.source.config))).to_series()
    return [(int(lane) if lane is not None else None, raw.filter(lanes == lane) if lane is not None
             else raw.filter(lanes.is_null())) for lane in lanes.unique(maintain_order=True).to_list()]


def _commit(run: _Run, scan: ir.Scan, feed: Feed, raw: pl.DataFrame) -> None:
    result = BatchResult()
    for lane, part in _lanes(run, scan, feed, raw):
        runner, frame = _runner(run, scan, feed, part, lane)
        result = _combined(result, runner.run(frame.collect(), run.next_now))
    counts = run.counted(result, raw.height)
    position = feed.position()
    run.feed_positions[scan.step] = position
    run.feed_status[scan.step] = feed.status()
    run.checkpoint(scan.step, counts)
    feed.committed(position)


def _combined(first: BatchResult, second: BatchResult) -> BatchResult:
    nodes = {**first.outputs, **second.outputs}
    outputs = {node: [*first.outputs.get(node, []), *second.outputs.get(node, [])] for node in nodes}
    orders = {node: order for node in nodes if (order := one_after_the_other(
        first.outputs.get(node, []), first.orders.get(node), second.outputs.get(node, []), second.orders.get(node)))
        is not None}
    return BatchResult(outputs, first.skipped + second.skipped, first.dead_lettered + second.dead_lettered,
                       first.late + second.late, orders)


def _end(run: _Run, scan: ir.Scan, feed: Feed) -> None:
    """An exhausted feed: the stateful inputs it ends get `end_of_input`, in a checkpointed batch."""
    if not run.engines:
        return
    schema = run.plan.schemas[scan]
    empty = pl.DataFrame(schema={**({n: to_polars(t) for n, t in schema.fields} if schema else {}), ROW: pl.Int64})
    runner, _ = _runner(run, scan, feed, empty)
    run.end_inputs(scan.step, runner, 0)
