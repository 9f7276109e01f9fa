"""The aggregate engine's common part and the aggregate without a window (see `aggregate`)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from flowc.compiler.lower_plan import ERROR, ROW
from flowc.runtime.stateful import agg_partials as ap
from flowc.runtime.stateful.agg_partials import SEQ, Aggregation
from flowc.runtime.stateful.base import Emitted, StateParts

_ERROR = "__agg_error"
_ALL = "__agg_all"  # the one group key of an aggregate without `by`
_STACKED_ROWS = 50_000  # partial rows kept unmerged (`Engine.stack`); a state of more groups merges every batch


@dataclass(frozen=True, slots=True)
class Shape:
    """What every kind of aggregate needs to know about its node, resolved once."""

    step: str
    source: str  # the source named in a failure message
    by: list[str]
    aggs: tuple[Aggregation, ...]
    args: tuple[pl.Expr, ...]  # the lowered argument of each aggregation (pl.lit(None) for count())
    error: pl.Expr | None  # the first record error of any argument
    input_schema: dict[str, pl.DataType]
    event_time: str | None


class Engine:
    """What every kind shares: numbering records in arrival order, evaluating arguments, merging."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.seq = 0
        self.state: pl.DataFrame | None = None  # partials, one row per open group

    def prepare(self, frame: pl.DataFrame, extra: tuple[pl.Expr, ...] = ()) -> pl.LazyFrame:
        """The by fields, SEQ, the arguments (and `extra`) of `frame`'s records, in arrival order."""
        shape = self.shape
        columns = [pl.col(b) for b in shape.by] or [pl.lit(0).alias(_ALL)]
        columns.append(pl.int_range(self.seq, self.seq + frame.height, dtype=pl.Int64).alias(SEQ))
        columns += [arg.alias(agg.arg) for agg, arg in zip(shape.aggs, shape.args, strict=True) if agg.arg_type]
        if shape.error is not None:
            columns.append(shape.error.alias(_ERROR))
        self.seq += frame.height
        return frame.lazy().select(*columns, *extra)

    def checked(self, records: pl.LazyFrame | pl.DataFrame,
                frame: pl.DataFrame) -> tuple[pl.LazyFrame, pl.DataFrame | None]:
        """`records` without those an argument failed on, and those records of `frame` (the same
        records as received) with their error in ERROR: record errors of the step (SPEC §6: one bad
        record never takes its batch with it), which the runner puts under the step's policy."""
        if self.shape.error is None:
            return records.lazy(), None
        table = records.collect() if isinstance(records, pl.LazyFrame) else records
        failed = table.get_column(_ERROR).is_not_null()
        if not failed.any():
            return table.lazy().drop(_ERROR), None
        bad = frame.filter(failed).with_columns(table.get_column(_ERROR).filter(failed).alias(ERROR))
        return table.filter(~failed).drop(_ERROR).lazy(), bad

    @property
    def keys(self) -> list[str]:
        return self.shape.by or [_ALL]

    def merge(self, records: pl.LazyFrame, groups: list[str], extra: tuple[pl.Expr, ...] = (),
              merge_extra: tuple[pl.Expr, ...] = ()) -> None:
        """Reduce `records` to partials per `groups` and merge them into the state (one query)."""
        batch = records.group_by(groups).agg(*ap.partial_exprs(self.shape.aggs), *extra)
        if self.state is None or not self.state.height:
            self.state = batch.collect()
            return
        both = pl.concat([self.state.lazy(), batch.select(self.state.columns)], how="vertical_relaxed")  # a key typed null in one batch
        self.state = both.group_by(groups).agg(*ap.merge_exprs(self.shape.aggs), *merge_extra).collect()

    def stack(self, records: pl.LazyFrame, groups: list[str]) -> None:
        """Reduce `records` to partials per `groups` and append them to the state, where a group may then
        have several rows (`merged` makes them one). Merging every batch was a second query, and each query
        waits behind the source query for Polars' thread pool (docs/performance.md, W2): the rows are merged
        only once the state holds more than _STACKED_ROWS, a rule on the state alone, so that a resumed run
        merges where an uninterrupted one does and sums floats in the same order."""
        batch = records.group_by(groups).agg(*ap.partial_exprs(self.shape.aggs)).collect()
        if self.state is None or not self.state.height:
            self.state = batch
            return
        # A key typed null in one batch only: then the types must be reconciled (a query of its own).
        how = "vertical" if batch.schema == self.state.schema else "vertical_relaxed"
        self.state = pl.concat([self.state, batch.select(self.state.columns)], how=how)
        if self.state.height > _STACKED_ROWS:
            self.state = self.merged(self.state, groups).collect()

    def merged(self, partials: pl.DataFrame, groups: list[str]) -> pl.LazyFrame:
        """`partials` (stacked) as one row per group."""
        return partials.lazy().group_by(groups).agg(*ap.merge_exprs(self.shape.aggs))

    def finished(self, partials: pl.DataFrame | pl.LazyFrame, windowed: tuple[pl.Expr, ...],
                 order: list[str]) -> pl.DataFrame:
        """Output records of `partials` (one row per group; by fields, window columns, compute fields,
        ROW), sorted."""
        if any(agg.exact for agg in self.shape.aggs):
            partials = partials.collect() if isinstance(partials, pl.LazyFrame) else partials
            ap.ensure_fits(partials, self.shape.aggs, self.shape.step)
        out = partials.lazy().select(*self.shape.by, *windowed, *ap.finish_exprs(self.shape.aggs),
                                     pl.lit(None, pl.Int64).alias(ROW))
        return out.sort([*order, *self.shape.by], nulls_last=True, maintain_order=True).collect()

    def snapshot_parts(self) -> dict[str, pl.DataFrame]:
        parts = {"seq": pl.DataFrame({"seq": [self.seq]}, schema={"seq": pl.Int64})}
        if self.state is not None:
            parts["partials"] = self.state
        return parts

    def restore_parts(self, parts: StateParts) -> None:
        seq = parts["seq"]
        assert isinstance(seq, pl.DataFrame)
        self.seq = int(seq.item())
        state = parts.get("partials")
        self.state = state if isinstance(state, pl.DataFrame) else None


class GlobalAggregate(Engine):
    """No window: the whole (bounded) input is one window, emitted once every input has ended."""

    def __init__(self, shape: Shape, inputs: int) -> None:
        super().__init__(shape)
        self.inputs, self.ended = inputs, set[int]()

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        if not frame.height:
            return Emitted()
        kept, errors = self.checked(self.prepare(frame), frame)
        self.stack(kept, self.keys)
        return Emitted(errors=errors)

    def end_of_input(self, input_index: int = 0) -> Emitted:
        everything = set(range(self.inputs))
        already = everything <= self.ended  # emitted before (the executor tells each input once, but be sure)
        self.ended.add(input_index)
        if already or not everything <= self.ended:
            return Emitted()
        stacked = self.state
        if stacked is None or not stacked.height:
            if self.shape.by:
                return Emitted()
            empty = pl.DataFrame(schema=self.shape.input_schema)
            partials = ap.empty_partial(self.prepare(empty).collect(), self.shape.aggs)
            self.state = partials.head(0)
            return Emitted(output=self.finished(partials, (), []))
        self.state = stacked.head(0)
        return Emitted(output=self.finished(self.merged(stacked, self.keys), (), []))

    def snapshot(self) -> StateParts:
        parts = self.snapshot_parts()
        parts["ended"] = pl.DataFrame({"input": sorted(self.ended)}, schema={"input": pl.Int64})
        return parts

    def restore(self, parts: StateParts) -> None:
        self.restore_parts(parts)
        ended = parts["ended"]
        assert isinstance(ended, pl.DataFrame)
        self.ended = set(ended.get_column("input").to_list())
