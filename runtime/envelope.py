"""Record errors under their policy (SPEC §6): fail the run, skip the record, or envelope it.

A dead-lettered record is the record the failing node read, plus `_error: {step, code, message}`
and `_source: {name, position}`. `position` is text: `file:line` for csv and jsonl files,
`file[index]` for json and parquet, `records[i]` for inline and `_n=i` for generated records; null
for records an `aggregate` made (a `sql` step keeps the row numbers: `SqlBatch.finish`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import ERROR, HIDDEN, ROW


@dataclass(frozen=True, slots=True)
class Policy:
    source: str  # the name of the source whose batch this is
    positions: Callable[[pl.Expr], pl.Expr]  # row number -> position text


class RecordFailed(Exception):
    """A record error under the `fail` policy: the run stops at this batch."""

    def __init__(self, step: str, source: str, position: str | None, reason: str) -> None:
        where = f" at {source} {position}" if position else f" from source '{source}'"
        super().__init__(f"step '{step}' failed on the record{where}: {reason}")
        self.step, self.source, self.position, self.reason = step, source, position, reason


def split_errors(node: ir.Node, rows: pl.DataFrame, policy: Policy) -> pl.DataFrame | None:
    """`rows` (the record's fields, `ROW`, `ERROR`) as envelopes; None under `skip`; raises under `fail`."""
    parts = pl.col(ERROR).str.splitn(": ", 2)
    described = rows.rechunk().with_columns(  # Polars 2.1's `pl.format` can panic on an empty first chunk
        _code=parts.struct.field("field_0"), _message=parts.struct.field("field_1"),
        _position=policy.positions(pl.col(ROW)).cast(pl.String),
    )
    if node.on_error == ir.FAIL:
        first = described.row(0, named=True)
        raise RecordFailed(node.step, policy.source, first["_position"], f"{first['_code']}: {first['_message']}")
    if node.on_error == ir.SKIP:
        return None
    record = [c for c in rows.columns if c not in (*HIDDEN, "_error", "_source")]
    return described.select(
        *record,
        pl.struct(step=pl.lit(node.step), code=pl.col("_code"), message=pl.col("_message")).alias("_error"),
        pl.struct(name=pl.lit(policy.source), position=pl.col("_position")).alias("_source"),
        ROW,  # hidden (sinks drop it), kept so a step reading `.errors` can fail a record in its turn
    )
