"""Running a plan in micro-batches, exactly once into file sinks (SPEC §4, §6, §7, §9).

Per batch: read it (from a bounded source's one streaming query, or by polling a feed), run it through
the plan, write every sink, make every sink durable, save the stateful engines' snapshot, then append
`batch_committed` and `checkpoint_saved` (sink positions, every source's position, the snapshot
reference, and the `now` the next batch will use). A crash anywhere replays from the last checkpoint:
the sinks are cut back to their checkpointed positions, the engines restore the snapshot, bounded
sources skip the rows the checkpoint covers and feeds reopen at their recorded positions. Bounded
sources are read first, one after another in the order the spec declares them (so the order of batches
depends on nothing but the data; those known to hold no record first); then the feeds are polled
round-robin until a stop request or until every feed is exhausted. Stop and pause requests are
honoured between batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from flowc.compiler import ir
from flowc.compiler.plan import Plan, format_plan
from flowc.compiler.source_types import NeedsExactReading, fast_conversions
from flowc.runtime import events as ev
from flowc.runtime.batching import BatchResult, BatchRunner, prefetched_batches, source_query
from flowc.runtime.behind import Behind
from flowc.runtime.checkpoint import CheckpointStore, SnapshotCorrupt
from flowc.runtime.commit import BatchReport, Checkpoint, Committer, counts_json
from flowc.runtime.control import PauseGate
from flowc.runtime.engines import EngineBuilder, Engines, build_engine
from flowc.runtime.envelope import Policy, RecordFailed
from flowc.runtime.failure_text import failure_reason
from flowc.runtime.feed_loop import FeedOpener, OpenFeeds, infer_feed_schemas, poll_feeds
from flowc.runtime.lifecycle import Counts, PipelineState, Status, fold
from flowc.runtime.resume import (
    RunRefused,
    ensure_compatible,
    ensure_same_pipeline,
    file_sinks,
    first_now,
    reading,
    remove_outputs,
    stateful_definitions,
)
from flowc.runtime.run_setup import Prepared, open_sinks, schema_json, source_hashes, sources_hash
from flowc.runtime.sinks.backends import SinkRestoreError
from flowc.runtime.sources import is_feed, open_feed
from flowc.runtime.sources.file_rows import limit_end, records_between
from flowc.runtime.sources.generated import GenerateReader, InlineReader


@dataclass(frozen=True, slots=True)
class RunOptions:
    limit: int | None = None  # records per bounded source, and over all feeds, in this run
    reset: bool = False
    clock: Callable[[], datetime] = ev.utc_now
    should_stop: Callable[[], bool] = lambda: False
    on_batch: Callable[[BatchReport], None] | None = None
    on_pause: Callable[[bool], None] | None = None  # True when the run pauses, False when it goes on
    build_engine: EngineBuilder = build_engine  # the engine of each stateful node (tests give their own)
    open_feed: FeedOpener = open_feed  # the feed of each polled source (tests give their own)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: str  # completed, stopped, failed, already_completed
    totals: Counts
    batches: int
    reason: str | None = None


@dataclass
class _Position:
    row: int | None = None  # the last row number a checkpoint covers
    done: bool = False

    def json(self) -> dict:
        return {"row": self.row, "done": self.done}


def start(prepared: Prepared, log: ev.EventLog, options: RunOptions) -> RunOutcome:
    """Run (or resume) `prepared` with the event log of its state directory (the caller holds the lock)."""
    state = fold(log.events)
    if options.reset:
        remove_outputs(log.events, reading(prepared))  # before `reset`: it ends what the log says was written
        log.append(ev.RESET, {})
        state = PipelineState()
    ensure_same_pipeline(prepared, log)  # before "already completed": that history is another pipeline's
    if state.status is Status.COMPLETED:
        return RunOutcome("already_completed", state.totals, state.checkpoint.batch if state.checkpoint else 0)
    ensure_compatible(prepared, log, state)
    positions = state.checkpoint.sources if state.checkpoint else {}
    try:
        prepared, opened = infer_feed_schemas(prepared, positions, options.open_feed, options.should_stop,
                                              options.limit)
    except ValueError as error:  # a feed that cannot be opened (a Kafka client setting): before the run starts
        raise RunRefused(str(error)) from error
    except OSError as error:  # the first poll failed (a broker down, an HTTP 4xx): a run that started and failed
        return _failed_before_compiled(log, state, options, error)
    now = first_now(log, state) or options.clock()
    log.append(ev.COMPILED, {"pipeline": prepared.spec.pipeline, "spec_hash": prepared.spec_hash, "plan_hash": _hash(format_plan(prepared.plan)),
                             "schema": schema_json(prepared.schemas), "sources_hash": sources_hash(prepared.spec),
                             "source_hashes": source_hashes(prepared.spec),
                             "stateful": stateful_definitions(prepared.plan), "sinks": file_sinks(prepared)})
    log.append(ev.RUN_STARTED, {"limit": options.limit, "now": now.isoformat()})
    try:
        run = _Run(prepared, log, options, state, now, opened)
    except (OSError, ValueError) as error:  # a sink that cannot be opened (a Kafka client setting, a folder)
        for feed in opened.feeds.values():
            feed.close()
        reason = failure_reason(error)
        log.append(ev.FAILED, {"reason": reason})
        return RunOutcome("failed", state.totals, state.checkpoint.batch if state.checkpoint else 0, reason)
    return run.run()


def _failed_before_compiled(log: ev.EventLog, state: PipelineState, options: RunOptions,
                            error: OSError) -> RunOutcome:
    """A feed without a schema failed its first poll, so nothing can be compiled yet; the log still says
    the run started and failed (and why), so `flowc status` reads `failed`, not `created` (SPEC §9)."""
    now = first_now(log, state) or options.clock()
    log.append(ev.RUN_STARTED, {"limit": options.limit, "now": now.isoformat()})
    reason = failure_reason(error)
    log.append(ev.FAILED, {"reason": reason})
    return RunOutcome("failed", state.totals, state.checkpoint.batch if state.checkpoint else 0, reason)


def _hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Run:
    prepared: Prepared
    log: ev.EventLog
    options: RunOptions
    state: PipelineState
    next_now: datetime  # what `now()` is in the next batch (recorded in each checkpoint for a replay)
    opened: OpenFeeds  # feeds opened before the run to infer their schema
    totals: Counts = field(init=False)
    batch: int = field(init=False)

    def __post_init__(self) -> None:
        checkpoint = self.state.checkpoint
        self.totals, self.batch = self.state.totals, checkpoint.batch if checkpoint else 0
        recorded = checkpoint.sources if checkpoint else {}
        scans = self.plan.scans
        self.positions = {s.step: _Position(**recorded.get(s.step, {})) for s in scans if not is_feed(s.source)}
        self.feed_positions = {s.step: recorded.get(s.step) for s in scans if is_feed(s.source)}
        self.feed_status: dict[str, Any] = {}  # each feed's last status() (lag, pending files), for `flowc status`
        self.exhausted: set[str] = set()
        self.sinks = open_sinks(self.plan, self.prepared.base_dir, self.prepared.console)
        for node, writer in self.sinks.items():
            try:
                writer.restore(checkpoint.sinks.get(node.step) if checkpoint else None)
            except SinkRestoreError as error:
                raise SinkRestoreError(f"sink '{node.step}': {error}") from error
        state_dir = self.log.path.parent
        self.store = CheckpointStore(state_dir)
        self.committer = Committer(self.sinks, self.log, self.store)
        self.gate = PauseGate(state_dir, self.log, notify=self.options.on_pause or (lambda paused: None))
        self.engines = Engines(self.plan, {}, ())
        self.behind = Behind()

    def _start_engines(self) -> None:
        """One engine per stateful node for the whole run, restored from the checkpoint's snapshot."""
        operators = {n: self.options.build_engine(n, self.plan, self.prepared.base_dir, lambda: self.next_now)
                     for n in self.plan.nodes if isinstance(n, ir.STATEFUL)}
        self.engines = Engines(self.plan, operators, self._done())
        checkpoint = self.state.checkpoint
        if checkpoint is not None and checkpoint.state and self.engines:
            self.engines.restore(self.store.load_snapshot(checkpoint.state))

    @property
    def plan(self) -> Plan:
        return self.prepared.plan

    def _done(self) -> set[str]:
        return {name for name, p in self.positions.items() if p.done} | self.exhausted

    def run(self) -> RunOutcome:
        try:
            if any(self.plan.schemas.get(s) is None for s in self.plan.scans):
                return self._stop("stop requested")  # while waiting for a feed's first batch (its schema)
            self._start_engines()
            limited = False
            for scan in _reading_order(self.plan.scans, self.prepared.readers):
                if scan.step not in self.positions:
                    continue
                if self.options.should_stop():
                    return self._stop("stop requested")
                limited |= self._read(scan)
                if self.options.should_stop() and not self.positions[scan.step].done:
                    return self._stop("stop requested")
            if self.feed_positions and not limited:
                reason = poll_feeds(self, self.opened, self.options.open_feed)
                if reason is not None:
                    return self._stop(reason)
            if limited:
                return self._stop("--limit reached")
            return self._complete()
        except RecordFailed as failure:
            return self._fail(str(failure))
        except (pl.exceptions.PolarsError, OSError, ValueError, SnapshotCorrupt) as error:
            return self._fail(failure_reason(error))
        except Exception as error:  # a bug: record the failure so the log does not say 'running', then show it
            self._fail(f"internal error: {type(error).__name__}: {error}")
            raise
        finally:
            self.behind.close()
            for feed in self.opened.feeds.values():  # opened to infer a schema, never polled by the loop
                feed.close()
            self.engines.close()

    def _read(self, scan: ir.Scan) -> bool:
        """Read `scan` to its end (or the limit, or a stop request); True when the limit cut it short.

        The source is read first as a fast query (`compiler/source_types.py`: casts with no Python in
        the query; `fast_csv`: no lines stream). A record the fast query cannot judge makes it fail
        (with SLOW_PATH, or Polars' own error for a CSV row with too many fields): any failure of the
        fast query, after the batches before it were committed, makes the runner read the rest of the
        source again the exact way from the last checkpoint, which gives the record its error."""
        position, reader = self.positions[scan.step], self.prepared.readers[scan.step]
        if position.done:
            return False
        begin = position.row
        first = begin if begin is not None else -1
        runner = None
        for fast in (True, False):
            limit = self.options.limit
            if limit is not None and position.row is not None:  # what this run may still read (records)
                limit = max(limit - records_between(reader, None if first < 0 else first, position.row), 0)
            size, schema = self.prepared.spec.settings.batch_size, self.prepared.schemas[scan.step]
            with fast_conversions() if fast else nullcontext():  # the reader's part of the query too
                fields = [name for name, _ in self.plan.schemas[scan].fields]  # pruned by the optimizer
                chunked = reader.chunks(schema, position.row, limit, size, fields)
                query = source_query(self.plan, scan, chunked.template, self.next_now, fast)
            runner = BatchRunner(self.plan, query, Policy(scan.step, reader.positions), self.engines or None)
            batches = prefetched_batches(self.plan, scan, chunked.frames, self.next_now, fast)
            try:
                while (batch := _next_batch(batches, fast)) is not None and batch is not _FAST_FAILED:
                    self._commit(scan, runner, batch, chunked.ends.popleft())  # even if a filter kept none
                    self.between_batches()
                    if self.options.should_stop():
                        return False
            finally:
                if (close := getattr(batches, "close", None)) is not None:
                    close()  # a chunked read's worker thread
            if batch is None:  # read to the end (else the fast query failed: read on the exact way)
                break
        end = limit_end(reader, None if first < 0 else first, self.options.limit)
        if end is not None:  # the limit cut the source short: its last records may have been filtered out
            if (tail := records_between(reader, position.row, end)) > 0:
                position.row = end
                self.checkpoint(scan.step, self.counted(BatchResult(), tail))
            return True
        self._finish_source(scan, runner, reader.count())
        return False

    def between_batches(self) -> None:
        self.gate.between_batches(self.options.should_stop, settle=self.behind.drain)

    def _commit(self, scan: ir.Scan, runner: BatchRunner, batch: pl.DataFrame, last: int) -> None:
        """Run `batch`, the records of its chunk up to row `last` that the source query kept; its sinks
        are written and its checkpoint recorded on the sink thread (`Behind`) while the next is read."""
        position = self.positions[scan.step]
        result = runner.run(batch, self.next_now)
        read = records_between(self.prepared.readers[scan.step], position.row, last)
        position.row = last
        encoded = self.committer.encode(result)  # here, while the sink thread writes the batch before
        self.behind.drain()
        written = self.committer.written(result)  # after the drain: a console's room is that of this batch
        pending = self._pending(scan.step, Counts(read, written, result.skipped, result.dead_lettered, result.late))
        self.behind.submit(lambda: self.committer.write_and_record(result, pending, encoded), self._report)

    def counted(self, result: BatchResult, read: int) -> Counts:
        """Write `result`'s outputs to the sinks; the batch's counts."""
        self.behind.drain()
        return Counts(read, self.committer.write(result), result.skipped, result.dead_lettered, result.late)

    def _finish_source(self, scan: ir.Scan, runner: BatchRunner, total: int) -> None:
        """Count what filters fused into the scan dropped after the last batch, mark the source done, and
        tell the stateful nodes whose inputs have now all ended (what they emit goes out in this batch)."""
        position = self.positions[scan.step]
        tail = records_between(self.prepared.readers[scan.step], position.row, total - 1)
        position.done = True
        position.row = total - 1 if total else position.row
        self.end_inputs(scan.step, runner, max(tail, 0))

    def end_inputs(self, source: str, runner: BatchRunner, read: int) -> None:
        ending = self.engines.newly_ended(self._done()) if self.engines else frozenset()
        result = runner.run(None, self.next_now, ending) if ending else BatchResult()
        self.checkpoint(source, self.counted(result, read))

    def checkpoint(self, source: str, counts: Counts, close: bool = False) -> None:
        self.behind.drain()
        self._report(self.committer.record(self._pending(source, counts), close))

    def _pending(self, source: str, counts: Counts) -> Checkpoint:
        """The checkpoint after the batch just run, as of now (the next batch may run before it is recorded).
        A checkpoint that moved no record (a source's end, the run's end) is not a batch: it keeps the
        last batch's number and records no `batch_committed`."""
        if not counts.nothing:
            self.batch += 1
        self.next_now = self.options.clock()
        self.totals = self.totals + counts
        return Checkpoint(
            self.batch, source, counts, self.totals, self.engines.reloads() if self.engines else [],
            self.engines.snapshot() if self.engines else None, self.next_now,
            {**{k: p.json() for k, p in self.positions.items()}, **self.feed_positions},
            {"feeds": dict(self.feed_status)} if self.feed_status else {})

    def _report(self, report: BatchReport) -> None:
        if self.options.on_batch is not None:
            self.options.on_batch(report)

    def _complete(self) -> RunOutcome:
        self.checkpoint("", Counts(), close=True)
        self.log.append(ev.COMPLETED, {"counts": counts_json(self.totals)})
        return RunOutcome("completed", self.totals, self.batch)

    def _stop(self, reason: str) -> RunOutcome:
        self.behind.drain()
        self.log.append(ev.STOPPED, {"reason": reason, "counts": counts_json(self.totals)})
        return RunOutcome("stopped", self.totals, self.batch, reason)

    def _fail(self, reason: str) -> RunOutcome:
        with suppress(Exception):  # the batches before the failing one keep their checkpoint (a second
            self.behind.drain()    # error here is an echo of the first: the run fails with that one)
        self.behind.close()
        self.log.append(ev.FAILED, {"reason": reason})
        # what the checkpoints recorded: a batch counted but never made durable (a sink failed) is not done
        recorded = fold(self.log.events)
        return RunOutcome("failed", recorded.totals, recorded.checkpoint.batch if recorded.checkpoint else 0, reason)


_FAST_FAILED = pl.DataFrame()  # the fast query failed: the rest of the source needs the exact reading


def _reading_order(scans: Iterable[ir.Scan], readers: dict[str, Any]) -> list[ir.Scan]:
    """The bounded sources in the order the spec declares them, except that those known to hold no
    record (inline or generated, of none: `flowc test`'s unnamed sources) come first. They end at once,
    so they never hold a union's watermark back while the others are read."""
    def known_empty(scan: ir.Scan) -> bool:
        reader = readers.get(scan.step)
        return isinstance(reader, InlineReader | GenerateReader) and reader.count() == 0

    return sorted(scans, key=lambda scan: not known_empty(scan))


def _next_batch(batches: Iterator[pl.DataFrame], fast: bool) -> pl.DataFrame | None:
    """The query's next batch, None at its end, `_FAST_FAILED` when a fast query failed (any failure:
    the exact reading judges the record, or fails the run with the true error)."""
    try:
        return next(batches, None)
    except (pl.exceptions.PolarsError, NeedsExactReading):
        if not fast:
            raise
        return _FAST_FAILED


__all__ = ["BatchReport", "RunOptions", "RunOutcome", "RunRefused", "start"]
