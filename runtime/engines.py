"""The run's stateful operators: one engine per `Aggregate`/`Dedupe`/`Enrich` node for the whole run.

Besides building the engines (through their modules' `build` entry points, imported only when a plan
has such a node), this module answers the two questions the executor asks about inputs:

- which `input_index` a batch from a given source has at a node: a node's *branches* are the inputs of
  the `union` it reads through stateless steps (one branch, index 0, without a union; the output of
  an upstream stateful node is one input), and a source's batch is on the first branch it reaches,
  unless the source reaches several branches of the union: then the runner tags each record with the
  union input it came through (`shared_unions`, `BRANCH`), and each branch has its own watermark;
- when a branch has ended: once every bounded source upstream of it is done, `end_of_input(i)` is
  due, exactly once per run history (the snapshot taken after it remembers it).

A Kafka source's partitions are inputs of their own for a windowed aggregate and a dedupe (SPEC §4: each partition
has its own watermark): a batch of partition `p` on branch `i` has the input index `n * (p + 1) + i`
(`n` branches), and once a branch has delivered through a partition its own index is ended. Before
each batch the executor says which partitions the source reads now (`assigned`): each holds the step's
watermark from its assignment, records or not, until it is revoked (SPEC §4: the minimum over inputs).

Snapshots of all engines are one mapping, each part named `<step>/<part>`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.plan import Plan
from flowc.runtime.stateful.base import Emitted, StatefulOperator, StateParts

_MODULES = {ir.Aggregate: "aggregate", ir.Dedupe: "dedupe", ir.Enrich: "enrich"}
Branch = tuple[ir.Node, int]  # (stateful node, input index)
EngineBuilder = Callable[[ir.Node, Plan, str, Callable[[], datetime]], StatefulOperator]


def build_engine(node: ir.Node, plan: Plan, base_dir: str, clock: Callable[[], datetime]) -> StatefulOperator:
    """`clock` is the batch time of a dedupe without event time: the executor's per-batch `now`, so a
    replayed batch sees the time the first attempt saw."""
    module = importlib.import_module(f"flowc.runtime.stateful.{_MODULES[type(node)]}")
    if isinstance(node, ir.Enrich):
        return module.build(node, plan, base_dir)
    if isinstance(node, ir.Dedupe):
        return module.build(node, plan, clock=clock)
    return module.build(node, plan)


class Engines:
    def __init__(self, plan: Plan, operators: dict[ir.Node, StatefulOperator], done: Iterable[str]) -> None:
        self.plan, self.operators = plan, operators
        self.branches = {node: _branches(node) for node in operators}
        self.scans = {(node, i): _scans(branch) for node, branches in self.branches.items()
                      for i, branch in enumerate(branches)}
        self.ended: set[Branch] = set()
        self.laned: set[Branch] = set()  # branches whose partitions took over their watermark (this run)
        self.newly_ended(done)  # ended before the checkpoint this run resumes from: already told

    def __bool__(self) -> bool:
        return bool(self.operators)

    def index(self, node: ir.Node, source: str) -> int:
        """The input index at `node` of records from `source`."""
        for i in range(len(self.branches[node])):
            if source in self.scans[(node, i)]:
                return i
        return 0

    def newly_ended(self, done: Iterable[str]) -> frozenset[Branch]:
        """The branches whose every source is in `done` that had not ended yet (now marked ended)."""
        finished = set(done)
        found = {key for key, scans in self.scans.items() if key not in self.ended and scans <= finished}
        self.ended |= found
        return frozenset(found)

    def shared_unions(self, source: str) -> frozenset[ir.Node]:
        """The unions whose several inputs bring `source`'s records to a stateful node: the runner tags
        each record with the input it took (`BRANCH`), so each branch keeps its own watermark."""
        return frozenset(_union_above(node) for node, branches in self.branches.items()
                         if sum(source in self.scans[(node, i)] for i in range(len(branches))) > 1)

    def process(self, node: ir.Node, frame, source: str, lane: int | None = None, branch: int | None = None) -> Emitted:
        """`branch`: the union input the records came through (else the first that `source` reaches)."""
        branch = self.index(node, source) if branch is None else branch
        engine = self.operators[node]
        if lane is None or not has_watermarks(node):
            return engine.process(frame, branch)
        emitted = engine.process(frame, len(self.branches[node]) * (lane + 1) + branch)
        if (node, branch) in self.laned:
            return emitted
        self.laned.add((node, branch))
        # The branch's own index never delivers once its partitions do: end it (after the partition's
        # records, so none of them is judged against a watermark that ignored them).
        return _merged(emitted, engine.end_of_input(branch))

    def assigned(self, source: str, lanes: frozenset[int]) -> None:
        """`source` (a Kafka source) reads the partitions `lanes` now: at every node with watermarks it
        reaches, those partitions hold the watermark and any other partition of it stops holding it."""
        for node, engine in self.operators.items():
            if not has_watermarks(node) or (isinstance(node, ir.Dedupe) and node.event_time is None):
                continue  # a dedupe on batch time: one clock for all partitions, none to wait for
            n = len(self.branches[node])
            branches = {i for i in range(n) if source in self.scans[(node, i)]}
            if not branches:
                continue
            held = {n * (lane + 1) + i for lane in lanes for i in branches}
            engine.watermarks.hold(held, lambda index, n=n, branches=branches: index >= n and index % n in branches)

    def end(self, node: ir.Node, index: int) -> Emitted:
        return self.operators[node].end_of_input(index)

    def snapshot(self) -> dict[str, object]:
        parts: dict[str, object] = {}
        for node, engine in self.operators.items():
            for name, value in engine.snapshot().items():
                parts[f"{node.step}/{name}"] = value
        return parts

    def restore(self, parts: StateParts) -> None:
        for node, engine in self.operators.items():
            prefix = f"{node.step}/"
            engine.restore({k.removeprefix(prefix): v for k, v in parts.items() if k.startswith(prefix)})

    def close(self) -> None:
        """Release what engines hold beyond the run (an enrich table's file watcher)."""
        for engine in self.operators.values():
            close = getattr(engine, "close", None)
            if close is not None:
                close()

    def reloads(self) -> list[tuple[str, str]]:
        """(step, table path) of each enrich engine whose table was re-read since the last call."""
        found = []
        for node, engine in self.operators.items():
            take = getattr(engine, "take_reload", None)
            path = take() if take is not None else None
            if path is not None:
                found.append((node.step, path))
        return found


def _merged(first: Emitted, second: Emitted) -> Emitted:
    outputs = [e.output for e in (first, second) if e.output is not None and e.output.height]
    lates = [e.late for e in (first, second) if e.late is not None and e.late.height]
    errors = [e.errors for e in (first, second) if e.errors is not None and e.errors.height]
    return Emitted(output=pl.concat(outputs, how="vertical_relaxed") if outputs else None,
                   late=pl.concat(lates, how="vertical_relaxed") if lates else None,
                   errors=pl.concat(errors, how="vertical_relaxed") if errors else None,
                   late_count=sum(e.late_count or (e.late.height if e.late is not None else 0) for e in (first, second)))


def has_watermarks(node: ir.Node) -> bool:
    """A node whose inputs each keep a watermark (a Kafka partition is one of them)."""
    return (isinstance(node, ir.Aggregate) and node.window is not None) or isinstance(node, ir.Dedupe)


def _union_above(node: ir.Node) -> ir.Node:
    """The union `node` reads through stateless steps (`_branches` found one)."""
    current = ir.inputs(node)[0]
    while not isinstance(current, ir.Union):
        current = ir.inputs(current)[0]
    return current


def _branches(node: ir.Node) -> tuple[ir.Node, ...]:
    """The inputs of the union `node` reads through stateless steps, or its one input. A side output
    (`.errors`, `.late`) or a stateful node's output is one input, as the aggregate engine counts them."""
    current = ir.inputs(node)[0]
    while True:
        if isinstance(current, ir.Union):
            return current.inputs
        if isinstance(current, (ir.Scan, ir.Errors, ir.Late, *ir.STATEFUL)):
            return (ir.inputs(node)[0],)
        current = ir.inputs(current)[0]


def _scans(node: ir.Node) -> frozenset[str]:
    """The names of the sources whose records can reach `node`."""
    return frozenset(n.step for n in ir.topological((node,)) if isinstance(n, ir.Scan))
