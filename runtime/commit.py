"""Committing a batch: its outputs written to the sinks, then its checkpoint recorded (SPEC §9).

`Committer.record` makes every sink durable, saves the engines' snapshot, then appends
`batch_committed` and `checkpoint_saved` with one durable write: a checkpoint never names output that
is not on disk. A checkpoint that moved no record (a bounded source's end, the run's end, which close
the sinks or tell the stateful steps) records `checkpoint_saved` alone, under the last batch's number.
What the checkpoint records (`Checkpoint`) is taken by the executor when the batch has run; the writes
and the record may then run on the sink thread (`runtime/behind.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowc.compiler import ir
from flowc.runtime import events as ev
from flowc.runtime.arrival_order import in_order
from flowc.runtime.batching import BatchResult
from flowc.runtime.checkpoint import CheckpointStore
from flowc.runtime.lifecycle import Counts
from flowc.runtime.sinks.file_writer import Encoded, FileSinkWriter

Encodings = dict[ir.SinkNode, list[Encoded]]  # per file sink, its outputs' encodings in order


@dataclass(frozen=True, slots=True)
class BatchReport:
    batch: int
    source: str
    counts: Counts
    totals: Counts


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a batch's checkpoint records, taken when the batch has run."""

    batch: int
    source: str
    counts: Counts
    totals: Counts
    reloads: list[tuple[str, str]]  # (enrich step, table path) re-read since the last checkpoint
    state: dict[str, Any] | None  # the engines' snapshot parts
    now: datetime  # the next batch's `now()`
    sources: dict[str, Any]
    feeds: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Committer:
    sinks: dict[ir.SinkNode, Any]  # sink writers (runtime/sinks)
    log: ev.EventLog
    store: CheckpointStore

    def encode(self, result: BatchResult) -> Encodings:
        """`result`'s outputs in their file sinks' formats, made before `write` (on a thread with a free
        core: encoding reads only the batch)."""
        return {node: ([writer.encode_interleaved(result.outputs[node], result.orders[node])] if node in result.orders
                       else [writer.encode(frame) for frame in result.outputs.get(node, [])])
                for node, writer in self.sinks.items() if isinstance(writer, FileSinkWriter)}

    def written(self, result: BatchResult) -> dict[str, int]:
        """Records each sink `result` reaches will write of it, told before the write: all it receives,
        but a console with `limit` only those it prints (`taking`)."""
        written: dict[str, int] = {}
        for node, writer in self.sinks.items():
            if node in result.outputs:
                received = sum(frame.height for frame in result.outputs[node])
                taking = getattr(writer, "taking", None)
                written[node.step] = received if taking is None else taking(received)
        return written

    def write(self, result: BatchResult, encoded: Encodings | None = None) -> dict[str, int]:
        """`result`'s outputs appended to their sinks (`encoded`: from `encode`); records written per sink."""
        written = self.written(result)
        for node, writer in self.sinks.items():
            made = (encoded or {}).get(node)
            if node in result.orders and isinstance(writer, FileSinkWriter):
                writer.write_interleaved(result.outputs[node], result.orders[node], made[0] if made else None)
                continue
            for i, frame in enumerate(in_order(result.outputs.get(node, []), result.orders.get(node))):
                if made is not None:
                    writer.write(frame, made[i])
                else:
                    writer.write(frame)
        return written

    def write_and_record(self, result: BatchResult, checkpoint: Checkpoint,
                         encoded: Encodings | None = None) -> BatchReport:
        self.write(result, encoded)
        return self.record(checkpoint)

    def record(self, checkpoint: Checkpoint, close: bool = False) -> BatchReport:
        """Make the sinks durable (`close`: finish them), save the snapshot and record the checkpoint."""
        for step, path in checkpoint.reloads:
            self.log.append(ev.ENRICH_RELOADED, {"batch": checkpoint.batch, "step": step, "path": path})
        sinks = {n.step: (w.close() if close else w.durable()) for n, w in self.sinks.items()}
        state = self.store.save_snapshot(checkpoint.batch, checkpoint.state) if checkpoint.state is not None else None
        committed = [] if checkpoint.counts.nothing else [  # a checkpoint of no batch (a source's end)
            (ev.BATCH_COMMITTED, {"batch": checkpoint.batch, "source": checkpoint.source,
                                  "counts": counts_json(checkpoint.counts)})]
        self.log.append_all([*committed,  # one durable write for the two
                             (ev.CHECKPOINT_SAVED, {"batch": checkpoint.batch, "state": state, "sinks": sinks,
                                                    "sources": checkpoint.sources, "now": checkpoint.now.isoformat(),
                                                    **checkpoint.feeds})])
        if state is not None:
            self.store.prune(keep=state)
        for node, writer in self.sinks.items():
            writer.release(sinks[node.step])
        return BatchReport(checkpoint.batch, checkpoint.source, checkpoint.counts, checkpoint.totals)


def counts_json(counts: Counts) -> dict:
    return {"read": counts.read, "written": dict(counts.written), "skipped": counts.skipped,
            "dead_lettered": counts.dead_lettered, "late": counts.late}
