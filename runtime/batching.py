"""One micro-batch through the plan: the fused source query, then every node downstream of it.

Per source, the scan and the stateless chain right after it form ONE lazy query that the runner
consumes with `collect_batches`, so Polars still pushes projections and filters into the file scan.
The chain stops before a node that reads several inputs (`union`), one that must see whole batches
(`explode`: a list split across two batches would break resuming by row number), a `sql` step, a node
that calls `now()` (its value is per batch), a node with several readers (its batch is shared), and
right after the first node that can fail (its rows are split on the error column). Error-free filters
may follow a failing node whose output needs no finishing: they let error rows through.

Everything downstream runs per batch on the collected frame; a node with several readers is collected
once and shared (fan-out evaluates a shared input once per batch). A stateful node (aggregate, dedupe,
enrich) is a barrier: its input is collected and handed to the run's engine, and what the engine emits
flows on to its readers in the same batch; its late records, enveloped with `_error.code: late`, are
the output of its `Late` node.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import BRANCH, ERROR, HIDDEN, ROW, NodeContext, Staged, lower_node
from flowc.compiler.plan import Plan
from flowc.compiler.source_types import fast_conversions
from flowc.dsl import ast
from flowc.runtime.arrival_order import arrival_order
from flowc.runtime.engines import Branch, Engines
from flowc.runtime.envelope import Policy, RecordFailed, split_errors
from flowc.runtime.sources.line_chunks import prefetched
from flowc.runtime.stateful.base import Emitted

_FUSABLE = (ir.Filter, ir.Map, ir.Select, ir.Drop, ir.Rename, ir.Validate)


@dataclass(frozen=True, slots=True)
class SourceQuery:
    frame: pl.LazyFrame  # raw scan + fused chain (with ERROR when `failing` is not None)
    chain: tuple[ir.Node, ...]  # the scan and the nodes fused after it
    end: ir.Node  # the last fused node: the batch is its output
    failing: ir.Node | None  # the node whose errors the ERROR column holds
    staged: Staged  # the end's staging (its `record` and `finish`)


def main_readers(plan: Plan, node: ir.Node) -> tuple[ir.Node, ...]:
    """Readers of `node`'s main output (not its `.errors`, which travel beside it, nor its `.late`)."""
    return tuple(r for r in plan.readers(node) if not isinstance(r, ir.Errors | ir.Late))


def calls_now(node: ir.Node) -> bool:
    expressions = [getattr(node, "predicate", None), *(a.value for a in getattr(node, "assignments", ())),
                   *(r.predicate for r in getattr(node, "rules", ()))]
    return any(isinstance(n, ast.Call) and n.name == "now"
               for e in expressions if e is not None and e.expr is not None for n in ast.walk(e.expr))


def source_query(plan: Plan, scan: ir.Scan, raw: pl.LazyFrame, now: datetime, fast: bool = False) -> SourceQuery:
    """`fast`: the scan was lowered as a fast query, whose error column only ever holds the switch to
    the exact path (`compiler/source_types.py`): no row of it is a record error, so every error-free
    node may follow it (carrying the column, which must stay in the output to be evaluated)."""
    staged = lower_node(scan, NodeContext(plan, now, (raw,)))
    chain: list[ir.Node] = [scan]
    failing = scan if staged.fails else None
    while staged.finish is None:
        readers = main_readers(plan, chain[-1])
        if len(readers) != 1 or not isinstance(readers[0], _FUSABLE) or calls_now(readers[0]):
            break
        nxt = readers[0]
        if failing is not None and not isinstance(nxt, ir.Filter) and not (fast and failing is scan):
            break
        step = lower_node(nxt, NodeContext(plan, now, (staged.frame,), carry_error=failing is not None))
        if failing is not None and step.fails:
            break
        if failing is not None:
            staged = Staged(step.frame, True, staged.record, None)
        else:
            staged, failing = step, (nxt if step.fails else None)
        chain.append(nxt)
    return SourceQuery(staged.frame, tuple(chain), chain[-1], failing, staged)


def prefetched_batches(plan: Plan, scan: ir.Scan, chunks: Iterator[pl.LazyFrame], now: datetime,
                       fast: bool) -> Iterator[pl.DataFrame]:
    """The query (`fast` or exact) of each chunk of a source (`FileReader.chunks`), collected ahead on
    worker threads while the caller runs the one before: the read-ahead is a few chunks, not the file."""

    def queries() -> Iterator[pl.LazyFrame]:
        for chunk in chunks:
            with fast_conversions() if fast else nullcontext():  # the lowering runs on the worker: its own context
                frame = source_query(plan, scan, chunk, now, fast=fast).frame
            yield frame  # outside the block: a generator may be resumed (or closed) in another context

    return prefetched(queries())


@dataclass
class BatchResult:
    outputs: dict[ir.SinkNode, list[pl.DataFrame]] = field(default_factory=dict)
    skipped: int = 0
    dead_lettered: int = 0
    late: int = 0
    # a sink's records from several inputs in the order their source delivered them (arrival_order.py)
    orders: dict[ir.SinkNode, pl.Series] = field(default_factory=dict)


LATE_MESSAGE = "arrived after its window was emitted (the watermark had passed it)"


@dataclass
class _Pass:
    """The frames of one pass through the nodes downstream of a source query."""

    frames: dict[ir.Node, pl.DataFrame | pl.LazyFrame | None] = field(default_factory=dict)
    errors: dict[ir.Node, pl.DataFrame] = field(default_factory=dict)
    late: dict[ir.Node, pl.DataFrame] = field(default_factory=dict)
    result: BatchResult = field(default_factory=BatchResult)


@dataclass
class BatchRunner:
    """Runs one source's batches through the nodes downstream of its query's end."""

    plan: Plan
    query: SourceQuery
    policy: Policy  # how to report and envelope errors of this source's records
    engines: Engines | None = None
    lane: int | None = None  # the Kafka partition of every record of this runner's batches (own watermark)

    def __post_init__(self) -> None:
        reach = _downstream(self.plan, self.query.chain)
        self.order = tuple(n for n in self.plan.nodes if n in reach and n not in self.query.chain)
        source = self.query.chain[0].step
        self.tagged = self.engines.shared_unions(source) if self.engines else frozenset()

    def run(self, batch: pl.DataFrame | None, now: datetime, ending: frozenset[Branch] = frozenset()) -> BatchResult:
        """`batch` (the query's output; None for none) through the plan; then each stateful node's inputs
        in `ending` get `end_of_input`, and what that emits flows on in the same pass."""
        state = _Pass()
        if batch is not None:
            state.frames[self.query.end] = self._split(self.query.failing, self.query.staged, batch, state)
        for node in self.order:
            state.frames[node] = self._evaluate(node, state, now, ending)
        return state.result

    def _split(self, failing: ir.Node | None, staged: Staged, frame: pl.DataFrame,
               state: _Pass) -> pl.DataFrame | pl.LazyFrame:
        if failing is None:
            return frame
        if frame.get_column(ERROR).null_count() == frame.height:  # nothing failed: no filter copies the batch
            clean = without(frame, (ERROR,))
            return staged.finish(clean.lazy()) if staged.finish is not None else clean
        bad = frame.filter(pl.col(ERROR).is_not_null())
        if bad.height:
            self._errored(failing, bad.select(*staged.record, ROW, ERROR), state)
        good = frame.filter(pl.col(ERROR).is_null()).drop(ERROR)
        return staged.finish(good.lazy()) if staged.finish is not None else good

    def _errored(self, node: ir.Node, bad: pl.DataFrame, state: _Pass) -> None:
        """`bad` (a record's fields, `ROW`, `ERROR`) under `node`'s policy: counted as skipped, or
        enveloped for its `.errors` (`fail` raises). An enveloped record is counted where it ends: as
        dead-lettered by a sink of the `.errors` (the dead-letter sink's too), or by whatever a step
        reading them does with it (docs/runtime.md, counts)."""
        enveloped = split_errors(node, bad, self.policy)
        if node.on_error == ir.SKIP:
            state.result.skipped += bad.height
            return
        enveloped = _unsourced(enveloped) if _after_aggregate(node) else enveloped
        earlier = state.errors.get(node)  # a stateful node's null event times, then its arguments' errors
        state.errors[node] = enveloped if earlier is None else pl.concat([earlier, enveloped], how="vertical_relaxed")

    def _timeless(self, node: ir.Node, frame: pl.DataFrame, state: _Pass) -> pl.DataFrame:
        """`frame` without its records whose event time is null, which are record errors of `node` (a
        windowed aggregate, a dedupe on event time: such a record has no window, no place in the span)."""
        clock = ir.timed(node)
        if clock is None or clock not in frame.columns or not frame.get_column(clock).null_count():
            return frame
        missing = pl.col(clock).is_null()
        record = [c for c in frame.columns if c not in HIDDEN]
        bad = frame.filter(missing).select(*record, ROW, pl.lit(f"event_time: field '{clock}' is null").alias(ERROR))
        self._errored(node, bad, state)
        return frame.filter(~missing)

    def _evaluate(self, node: ir.Node, state: _Pass, now: datetime,
                  ending: frozenset[Branch]) -> pl.DataFrame | pl.LazyFrame | None:
        if isinstance(node, ir.Errors):
            return state.errors.get(node.of)
        if isinstance(node, ir.Late):
            return state.late.get(node.of)
        given = [state.frames.get(i) for i in ir.inputs(node)]
        present = [f.lazy() for f in given if f is not None]
        if isinstance(node, ir.SinkNode):
            received = [(i, _collected(f)) for i, f in zip(ir.inputs(node), given, strict=True) if f is not None]
            order = arrival_order([f for _, f in received], ROW)
            if order is not None:
                state.result.orders[node] = order
            shown = [(i, without(f, HIDDEN)) for i, f in received]
            state.result.outputs[node] = [f for _, f in shown]
            # a record error is dead-lettered where it ends: a sink of an `.errors` output (the dead-letter
            # sink's inputs too); a late record counts as late, wherever it goes
            state.result.dead_lettered += sum(f.height for i, f in shown if isinstance(i, ir.Errors))
            return None
        if isinstance(node, ir.STATEFUL):
            return self._stateful(node, present, state, ending)
        if not present:
            return None
        if node in self.tagged:  # which branch each record took, for the stateful node below (SPEC §4)
            present = [f.with_columns(pl.lit(i, dtype=pl.Int64).alias(BRANCH))
                       for i, f in enumerate(given) if f is not None]
        staged = lower_node(node, NodeContext(self.plan, now, tuple(present)))
        out = self._split(node, staged, staged.frame.collect(), state) if staged.fails else staged.frame
        return out.collect() if isinstance(out, pl.LazyFrame) and len(main_readers(self.plan, node)) > 1 else out

    def _stateful(self, node: ir.Node, present: list[pl.LazyFrame], state: _Pass,
                  ending: frozenset[Branch]) -> pl.DataFrame | None:
        assert self.engines is not None, "a plan with stateful nodes runs with its engines"
        emitted: list[Emitted] = []
        frame = pl.concat(present).collect() if present else None
        if frame is not None and frame.height:
            frame = self._timeless(node, frame, state)
        if frame is not None and frame.height and BRANCH in frame.columns:  # a union's branches, in order
            for (branch,), part in frame.group_by(BRANCH, maintain_order=True):
                emitted.append(self.engines.process(node, part.drop(BRANCH), self.policy.source, self.lane,
                                                    branch=int(branch)))
        elif frame is not None and frame.height:
            emitted.append(self.engines.process(node, frame, self.policy.source, self.lane))
        emitted += [self.engines.end(node, i) for n, i in sorted(ending, key=lambda b: b[1]) if n == node]
        failed = [e.errors for e in emitted if e.errors is not None and e.errors.height]
        if failed:
            bad = pl.concat(failed, how="vertical_relaxed")
            self._errored(node, bad.select(*(c for c in bad.columns if c not in HIDDEN), ROW, ERROR), state)
        late = [e.late for e in emitted if e.late is not None and e.late.height]
        state.result.late += sum(e.late_count or (e.late.height if e.late is not None else 0) for e in emitted)
        if late:
            state.late[node] = late_envelope(node.step, pl.concat(late, how="vertical_relaxed"), self.policy)
        outputs = [conformed(e.output, self.plan.schemas.get(node)) for e in emitted
                   if e.output is not None and e.output.height]
        return pl.concat(outputs, how="vertical_relaxed") if outputs else None


def _after_aggregate(node: ir.Node) -> bool:
    """`node` reads records an aggregate made (SPEC §6: their `_source` is null)."""
    return any(isinstance(n, ir.Aggregate) for n in ir.topological(ir.inputs(node)))


def _unsourced(enveloped: pl.DataFrame) -> pl.DataFrame:
    """`_source` null on the records an aggregate made (their `ROW` is null); the others past an
    aggregate (its `.late` or `.errors` records, a union's other branches) keep theirs."""
    made = pl.col(ROW).is_null() if ROW in enveloped.columns else pl.lit(True)
    return enveloped.with_columns(pl.when(made).then(pl.lit(None, dtype=enveloped.schema["_source"]))
                                  .otherwise(pl.col("_source")).alias("_source"))


def conformed(frame: pl.DataFrame, schema) -> pl.DataFrame:
    """An engine's output in its node's schema order, with `ROW` (null on records the engine made)."""
    if ROW not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(ROW))
    names = [n for n, _ in schema.fields] if schema is not None else []
    if names and all(n in frame.columns for n in names):
        return frame.select(*names, ROW)
    return frame


def late_envelope(step: str, rows: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Late records (their fields and `ROW`) with `_error: {step, code: late, message}` and `_source`
    (SPEC §6); `ROW` stays, so a step reading `<step>.late` can run on them."""
    if ROW not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias(ROW))
    rows = rows.rechunk()  # Polars 2.1's `pl.format` can panic on a column whose first chunk is empty
    record = [c for c in rows.columns if c != ROW]
    return rows.select(
        *record,
        pl.struct(step=pl.lit(step), code=pl.lit("late"), message=pl.lit(LATE_MESSAGE)).alias("_error"),
        pl.when(pl.col(ROW).is_not_null())  # null for a record an aggregate made (SPEC §6)
        .then(pl.struct(name=pl.lit(policy.source), position=policy.positions(pl.col(ROW)).cast(pl.String)))
        .alias("_source"),
        ROW,
    )


def _collected(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def without(frame: pl.DataFrame, names: tuple[str, ...]) -> pl.DataFrame:
    """`frame` without the columns `names`, made from its own columns: an eager `drop` is a Polars
    query, and during a run each query waits its turn on the thread pool busy with the source's
    chunks (~10 ms a batch, on the runner's thread)."""
    kept = [column for column in frame.iter_columns() if column.name not in names]
    if len(kept) == frame.width:
        return frame
    return pl.DataFrame(kept) if kept else frame.drop(names, strict=False)  # no columns: keep the height


def _downstream(plan: Plan, chain: tuple[ir.Node, ...]) -> set[ir.Node]:
    reach = set(chain)
    for node in plan.nodes:  # topological: inputs come first
        if any(i in reach for i in ir.inputs(node)):
            reach.add(node)
    return reach


__all__ = ["BatchResult", "BatchRunner", "RecordFailed", "SourceQuery", "source_query"]
