"""Running a plan over bounded sources in micro-batches, exactly once into file sinks (SPEC §6, §7, §9).

Per batch: read it from the source's one streaming query, run it through the plan, write every sink,
make every sink durable, then append `batch_committed` and `checkpoint_saved` (sink positions and the
source's row number). A crash anywhere replays from the last checkpoint: the sinks are cut back to
their checkpointed positions and the source skips the rows the checkpoint covers. Sources are read
one after another, in the order the spec declares them, so the order of batches depends on nothing
but the data. A stop request is honoured between batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.plan import Plan, format_plan
from flowc.runtime import events as ev
from flowc.runtime.batching import BatchRunner, source_query
from flowc.runtime.envelope import Policy, RecordFailed
from flowc.runtime.lifecycle import Counts, PipelineState, Status, fold
from flowc.runtime.run_setup import Prepared, open_sinks, schema_json, sources_hash


class RunRefused(Exception):
    """The state directory cannot be resumed with this spec (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class BatchReport:
    batch: int
    source: str
    counts: Counts
    totals: Counts


@dataclass(frozen=True, slots=True)
class RunOptions:
    limit: int | None = None  # records per source in this run
    reset: bool = False
    clock: Callable[[], datetime] = ev.utc_now
    should_stop: Callable[[], bool] = lambda: False
    on_batch: Callable[[BatchReport], None] | None = None


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
        log.append(ev.RESET, {})
        state = PipelineState()
    if state.status is Status.COMPLETED:
        return RunOutcome("already_completed", state.totals, state.checkpoint.batch if state.checkpoint else 0)
    _ensure_compatible(prepared, log, state)
    log.append(ev.COMPILED, {"spec_hash": prepared.spec_hash, "plan_hash": _hash(format_plan(prepared.plan)),
                             "schema": schema_json(prepared.schemas), "sources_hash": sources_hash(prepared.spec)})
    log.append(ev.RUN_STARTED, {"limit": options.limit})
    return _Run(prepared, log, options, state).run()


def _hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _ensure_compatible(prepared: Prepared, log: ev.EventLog, state: PipelineState) -> None:
    """SPEC §9: a checkpoint resumes only with the same sources (stateless steps and sinks may change)."""
    if state.checkpoint is None:
        return
    compiled = [e for e in log.events if e.type == ev.COMPILED]
    recorded = compiled[-1].data.get("sources_hash") if compiled else None
    if recorded is not None and recorded != sources_hash(prepared.spec):
        raise RunRefused("the sources changed since the last checkpoint, so its positions mean nothing now; "
                         "run with --reset to start over")


@dataclass
class _Run:
    prepared: Prepared
    log: ev.EventLog
    options: RunOptions
    state: PipelineState
    totals: Counts = field(init=False)
    batch: int = field(init=False)

    def __post_init__(self) -> None:
        checkpoint = self.state.checkpoint
        self.totals, self.batch = self.state.totals, checkpoint.batch if checkpoint else 0
        recorded = checkpoint.sources if checkpoint else {}
        self.positions = {s.step: _Position(**recorded.get(s.step, {})) for s in self.plan.scans}
        self.sinks = open_sinks(self.plan, self.prepared.base_dir, self.prepared.console)
        for node, writer in self.sinks.items():
            writer.restore(checkpoint.sinks.get(node.step) if checkpoint else None)

    @property
    def plan(self) -> Plan:
        return self.prepared.plan

    def run(self) -> RunOutcome:
        try:
            limited = False
            for scan in self.plan.scans:
                if self.options.should_stop():
                    return self._stop("stop requested")
                limited |= self._read(scan)
                if self.options.should_stop() and not self.positions[scan.step].done:
                    return self._stop("stop requested")
            if limited:
                return self._stop("--limit reached")
            return self._complete()
        except RecordFailed as failure:
            return self._fail(str(failure))
        except (pl.exceptions.PolarsError, OSError, ValueError) as error:
            return self._fail(f"{type(error).__name__}: {error}")
        except Exception as error:  # a bug: record the failure so the log does not say 'running', then show it
            self._fail(f"internal error: {type(error).__name__}: {error}")
            raise

    def _read(self, scan: ir.Scan) -> bool:
        """Read `scan` to its end (or the limit, or a stop request); True when the limit cut it short."""
        position, reader = self.positions[scan.step], self.prepared.readers[scan.step]
        if position.done:
            return False
        begin = position.row
        raw = reader.frame(self.prepared.schemas[scan.step], begin, self.options.limit)
        query = source_query(self.plan, scan, raw, self.options.clock())
        runner = BatchRunner(self.plan, query, Policy(scan.step, reader.positions))
        for batch in query.frame.collect_batches(chunk_size=self.prepared.spec.settings.batch_size,
                                                 maintain_order=True):
            if batch.height:
                self._commit(scan, runner, batch)
            if self.options.should_stop():
                return False
        total = reader.count()
        consumed = (begin if begin is not None else -1) + 1 + (self.options.limit or 0)
        if self.options.limit is not None and total > consumed:
            return True
        self._finish_source(scan, total)
        return False

    def _commit(self, scan: ir.Scan, runner: BatchRunner, batch: pl.DataFrame) -> None:
        position = self.positions[scan.step]
        result = runner.run(batch, self.options.clock())
        last = int(batch.get_column(ROW).max())
        read = last - (position.row if position.row is not None else -1)
        written: dict[str, int] = {}
        for node, writer in self.sinks.items():
            for frame in result.outputs.get(node, []):
                writer.write(frame)
                written[node.step] = written.get(node.step, 0) + frame.height
        position.row = last
        self._checkpoint(scan.step, Counts(read, written, result.skipped, result.dead_lettered))

    def _finish_source(self, scan: ir.Scan, total: int) -> None:
        """Count what filters fused into the scan dropped after the last batch, and mark the source done."""
        position = self.positions[scan.step]
        tail = total - ((position.row if position.row is not None else -1) + 1)
        position.done = True
        position.row = total - 1 if total else position.row
        self._checkpoint(scan.step, Counts(read=max(tail, 0)))

    def _checkpoint(self, source: str, counts: Counts, close: bool = False) -> None:
        self.batch += 1
        sinks = {n.step: (w.close() if close else w.durable()) for n, w in self.sinks.items()}
        self.log.append(ev.BATCH_COMMITTED, {"batch": self.batch, "source": source, "counts": _counts_json(counts)})
        self.log.append(ev.CHECKPOINT_SAVED, {"batch": self.batch, "state": None, "sinks": sinks,
                                              "sources": {k: p.json() for k, p in self.positions.items()}})
        for node, writer in self.sinks.items():
            writer.release(sinks[node.step])
        self.totals = self.totals + counts
        if self.options.on_batch is not None:
            self.options.on_batch(BatchReport(self.batch, source, counts, self.totals))

    def _complete(self) -> RunOutcome:
        self._checkpoint("", Counts(), close=True)
        self.log.append(ev.COMPLETED, {"counts": _counts_json(self.totals)})
        return RunOutcome("completed", self.totals, self.batch)

    def _stop(self, reason: str) -> RunOutcome:
        self.log.append(ev.STOPPED, {"reason": reason, "counts": _counts_json(self.totals)})
        return RunOutcome("stopped", self.totals, self.batch, reason)

    def _fail(self, reason: str) -> RunOutcome:
        self.log.append(ev.FAILED, {"reason": reason})
        return RunOutcome("failed", self.totals, self.batch, reason)


def _counts_json(counts: Counts) -> dict:
    return {"read": counts.read, "written": dict(counts.written), "skipped": counts.skipped,
            "dead_lettered": counts.dead_lettered, "late": counts.late}


