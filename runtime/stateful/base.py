"""The contract between the executor and a stateful engine (aggregate, dedupe, enrich).

The executor calls, for one operator, in this order only:

    restore(parts)                 once, when resuming from a checkpoint that holds a snapshot
    process(frame, input_index)    per batch, with the records that reached the operator's input
    end_of_input(input_index)      when that bounded input has delivered everything
    snapshot()                     after every batch, saved with the checkpoint

`frame` holds the records in arrival order with their user fields plus the hidden column
`flowc.compiler.lower_plan.ROW` (Int64, the record's row number in its source); engines keep `ROW` on
records they pass through (dedupe, enrich, late records) and set it null on records they make
(aggregate results). `input_index` says which input delivered the batch (0 for one input; the
position in a union's inputs upstream otherwise), for per-input watermarks. The engines of nodes with
per-input watermarks (a windowed aggregate, a dedupe) keep them as `watermarks`
(`flowc.runtime.stateful.windows.Watermarks`), which the executor tells which Kafka partitions this
process reads (`Watermarks.hold`), between batches.

Outputs are DataFrames in their final column order (the aggregate's: `by` fields, `window_start`,
`window_end`, compute fields; SPEC §4), or None when empty. A state snapshot is a mapping of part
name -> DataFrame (or bytes), written by `flowc.runtime.checkpoint.CheckpointStore`; engines must
restore exactly the state that `snapshot()` described, so a resumed run emits exactly what an
uninterrupted one would. Engines never change a frame in place once `snapshot()` returned it (they
build new frames): the store saves a part that is the same object as last time by linking its file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from flowc.compiler import ir

StateParts = Mapping[str, pl.DataFrame | bytes]


@dataclass(frozen=True, slots=True)
class Emitted:
    output: pl.DataFrame | None = None  # records for the operator's main output
    late: pl.DataFrame | None = None  # late input records (aggregate only), as they arrived, with ROW
    late_count: int = 0
    # input records an aggregate argument failed on (`sum(to_int(s))` of "x"), as they arrived, with ROW
    # and the error text in `lower_plan.ERROR`: record errors of the step, put under its policy (SPEC §6)
    errors: pl.DataFrame | None = None


class StatefulOperator(Protocol):
    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted: ...

    def end_of_input(self, input_index: int = 0) -> Emitted: ...

    def snapshot(self) -> StateParts: ...

    def restore(self, parts: StateParts) -> None: ...


def input_count(node: ir.Aggregate | ir.Dedupe) -> int:
    """The inputs with a watermark of their own: the branches of the union the node reads through
    stateless steps (the executor numbers `input_index` the same way, `runtime/engines.py`), else one.
    Kafka partitions add inputs of their own when they deliver."""
    current = node.input
    while not isinstance(current, ir.Union | ir.Scan | ir.Errors | ir.Late | ir.Aggregate | ir.Dedupe | ir.Enrich):
        current = ir.inputs(current)[0]
    return len(current.inputs) if isinstance(current, ir.Union) else 1
