"""The aggregate engine (SPEC §4 "Aggregation"): `build(node, plan)` gives the StatefulOperator.

Per batch the records are reduced to partial aggregates per group (`agg_partials`), which merge into
the state in one Polars `group_by`; the state is one row per open group (window x key), never the
records. Without a window the whole input is one window, emitted when every input has ended. With a
window, lateness is decided per record against the watermark before it (`windows`, `agg_sessions`),
the kept records join their open windows, and after the batch every window the watermark has passed
(`window_end + allowed_lateness <= watermark`) is emitted once, final, ordered by `window_end` and
then by the `by` values (nulls last), and dropped from the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_expr import lower
from flowc.compiler.lower_plan import ROW
from flowc.compiler.lowered import InternalError, LowerContext, first_error
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.compiler.typecheck import check_expression
from flowc.dsl.ast import Expr
from flowc.dsl.types import Type
from flowc.runtime.envelope import RecordFailed
from flowc.runtime.stateful import agg_partials as ap
from flowc.runtime.stateful.agg_partials import SEQ, Aggregation
from flowc.runtime.stateful.agg_sessions import EEND, SID, TMAX, TMIN, label_sessions, session_late
from flowc.runtime.stateful.base import Emitted, StatefulOperator, StateParts
from flowc.runtime.stateful.windows import (
    END,
    POS_INF,
    START,
    TIME,
    WM,
    Watermarks,
    assign_windows,
    last_window_end,
)

_ERROR = "__agg_error"
_ALL = "__agg_all"  # the one group key of an aggregate without `by`
_DATETIME = pl.Datetime("us", "UTC")
LATE = "__agg_late"


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


def build(node: ir.Aggregate, plan: Plan) -> StatefulOperator:
    """The engine for `node`: global, tumbling or sliding, or session windows."""
    shape = _shape(node, plan)
    window = node.window
    if window is None:
        return GlobalAggregate(shape, _input_count(node))
    lag = node.max_out_of_orderness or window.max_out_of_orderness
    if window.type == "session":
        assert window.gap is not None
        return SessionAggregate(shape, _input_count(node), lag, window.gap, window.allowed_lateness)
    size = window.size
    every = window.every if window.type == "sliding" else size
    assert size is not None and every is not None and size % every == 0, "checked by the compiler (E308)"
    return WindowAggregate(shape, _input_count(node), lag, size, every, window.allowed_lateness)


def _input_count(node: ir.Aggregate) -> int:
    """The inputs with a watermark of their own: the branches of the union the node reads through
    stateless steps (the executor numbers `input_index` the same way), else one."""
    current = node.input
    while not isinstance(current, ir.Union | ir.Scan | ir.Errors | ir.Late | ir.Aggregate | ir.Dedupe | ir.Enrich):
        current = ir.inputs(current)[0]
    return len(current.inputs) if isinstance(current, ir.Union) else 1


def _shape(node: ir.Aggregate, plan: Plan) -> Shape:
    schema = plan.schemas.get(node.input)
    if schema is None:
        raise InternalError(f"aggregate '{node.step}': the schema of its input is unknown")
    types: dict[Expr, Type] = dict(plan.types.get(node, {}))
    ctx = LowerContext(types=types, now=datetime.now(UTC))
    aggs, args, errors = [], [], []
    for index, computation in enumerate(node.compute):
        assert computation.function is not None, "checked by the compiler (E106)"
        arg_type = None
        if computation.args:
            arg = computation.args[0]
            if arg not in types:
                typed = check_expression(arg, schema, where=f"aggregate '{computation.name}'")
                if typed.problems:
                    raise InternalError(f"aggregate '{node.step}': '{computation.name}' is not well typed")
                types.update(typed.types)
            arg_type = types[arg]
        agg = Aggregation(index, computation.name, computation.function, arg_type)
        if computation.args:
            lowered = lower(computation.args[0], ctx)
            dtype = ap.argument_dtype(agg)
            args.append(lowered.value if dtype is None else lowered.value.cast(dtype))
            errors.append(lowered.error)
        else:
            args.append(pl.lit(None))
        aggs.append(agg)
    event_time = node.event_time or (node.window.time.name if node.window and node.window.time else None)
    scans = [n for n in ir.topological((node,)) if isinstance(n, ir.Scan)]
    return Shape(node.step, scans[0].step if scans else node.step, list(node.by), tuple(aggs), tuple(args),
                 first_error(*errors), {n: to_polars(ft) for n, ft in schema.fields}, event_time)


class _Engine:
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

    def checked(self, records: pl.LazyFrame | pl.DataFrame, frame: pl.DataFrame) -> pl.LazyFrame:
        """`records` without the error column; fails the run on an argument's record error (the
        aggregate has no error output). `frame` holds the same records as received, for the message."""
        if self.shape.error is None:
            return records.lazy()
        rows = records.lazy().with_row_index("__agg_i").filter(pl.col(_ERROR).is_not_null()).head(1).collect()
        if rows.height:
            row = frame.get_column(ROW)[rows.item(0, "__agg_i")] if ROW in frame.columns else None
            where = f"row {row}" if row is not None else None
            raise RecordFailed(self.shape.step, self.shape.source, where, rows.item(0, _ERROR))
        return records.lazy().drop(_ERROR)

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
        both = pl.concat([self.state.lazy(), batch.select(self.state.columns)], how="vertical")
        self.state = both.group_by(groups).agg(*ap.merge_exprs(self.shape.aggs), *merge_extra).collect()

    def finished(self, partials: pl.DataFrame, windowed: tuple[pl.Expr, ...], order: list[str]) -> pl.DataFrame:
        """Output records of `partials` (by fields, window columns, compute fields, ROW), sorted."""
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


class GlobalAggregate(_Engine):
    """No window: the whole (bounded) input is one window, emitted once every input has ended."""

    def __init__(self, shape: Shape, inputs: int) -> None:
        super().__init__(shape)
        self.inputs, self.ended = inputs, set[int]()

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        if frame.height:
            self.merge(self.checked(self.prepare(frame), frame), self.keys)
        return Emitted()

    def end_of_input(self, input_index: int = 0) -> Emitted:
        everything = set(range(self.inputs))
        already = everything <= self.ended  # emitted before (the executor tells each input once, but be sure)
        self.ended.add(input_index)
        if already or not everything <= self.ended:
            return Emitted()
        partials = self.state
        if partials is None or not partials.height:
            if self.shape.by:
                return Emitted()
            empty = pl.DataFrame(schema=self.shape.input_schema)
            partials = ap.empty_partial(self.prepare(empty).collect(), self.shape.aggs)
        self.state = partials.head(0)
        return Emitted(output=self.finished(partials, (), []))

    def snapshot(self) -> StateParts:
        parts = self.snapshot_parts()
        parts["ended"] = pl.DataFrame({"input": sorted(self.ended)}, schema={"input": pl.Int64})
        return parts

    def restore(self, parts: StateParts) -> None:
        self.restore_parts(parts)
        ended = parts["ended"]
        assert isinstance(ended, pl.DataFrame)
        self.ended = set(ended.get_column("input").to_list())


class _Windowed(_Engine):
    """Shared by tumbling, sliding and session windows: watermarks, late records, emission."""

    def __init__(self, shape: Shape, inputs: int, lag: int, lateness: int) -> None:
        super().__init__(shape)
        if shape.event_time is None:
            raise InternalError(f"aggregate '{shape.step}': a window without an event-time field")
        self.watermarks = Watermarks(lag, inputs)
        self.lateness = lateness

    def judged(self, frame: pl.DataFrame, input_index: int, late: pl.Expr | None) -> pl.DataFrame:
        """The prepared records with TIME, the watermark before each (WM) and, given `late` (an
        expression over them), LATE."""
        dtype = frame.schema.get(self.shape.event_time)  # type: ignore[arg-type]
        if not isinstance(dtype, pl.Datetime):
            raise ValueError(f"step '{self.shape.step}': the event-time field '{self.shape.event_time}' "
                             f"holds {dtype}, not datetimes")
        time = pl.col(self.shape.event_time).dt.epoch("us").alias(TIME)  # type: ignore[arg-type]
        records = self.prepare(frame, (time,)).with_columns(self.watermarks.before(input_index))
        records = (records if late is None else records.with_columns(late.alias(LATE))).collect()
        times = records.get_column(TIME)
        if times.null_count():
            raise ValueError(f"step '{self.shape.step}': a record without event time reached the aggregate")
        self.watermarks.delivered(input_index, times)
        return records

    def split_late(self, frame: pl.DataFrame, records: pl.DataFrame) -> tuple[pl.LazyFrame, Emitted]:
        """The records that are not late (lazy), and the late ones as they arrived."""
        late = records.get_column(LATE)
        count = int(late.sum())
        if not count:
            return self.checked(records.lazy().drop(LATE), frame), Emitted()
        kept = records.lazy().filter(~pl.col(LATE)).drop(LATE)
        return self.checked(kept, frame.filter(~late)), Emitted(late=frame.filter(late), late_count=count)

    def end_of_input(self, input_index: int = 0) -> Emitted:
        self.watermarks.end(input_index)
        return Emitted(output=self.emit())

    def emit(self) -> pl.DataFrame | None:
        raise NotImplementedError

    def snapshot(self) -> StateParts:
        parts = self.snapshot_parts()
        parts["watermarks"] = self.watermarks.frame()
        return parts

    def restore(self, parts: StateParts) -> None:
        self.restore_parts(parts)
        watermarks = parts["watermarks"]
        assert isinstance(watermarks, pl.DataFrame)
        self.watermarks.restore(watermarks)


def _with_output(emitted: Emitted, output: pl.DataFrame | None) -> Emitted:
    return Emitted(output=output, late=emitted.late, late_count=emitted.late_count)


class WindowAggregate(_Windowed):
    """Tumbling (`every == size`) and sliding windows, aligned to the epoch at multiples of `every`."""

    def __init__(self, shape: Shape, inputs: int, lag: int, size: int, every: int, lateness: int) -> None:
        super().__init__(shape, inputs, lag, lateness)
        self.size, self.every = size, every

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        late = pl.col(WM) >= last_window_end(self.size, self.every) + self.lateness
        kept, emitted = self.split_late(frame, self.judged(frame, input_index, late))
        self.merge(assign_windows(kept, self.size, self.every, self.lateness), [*self.keys, START, END])
        return _with_output(emitted, self.emit())

    def emit(self) -> pl.DataFrame | None:
        if self.state is None:
            return None
        wm = self.watermarks.current()
        first = self.state.get_column(END).min()
        if first is None or (wm < POS_INF and first + self.lateness > wm):  # type: ignore[operator]
            return None  # nothing to emit: skip the filters
        ready = pl.col(END) + self.lateness <= wm if wm < POS_INF else pl.lit(True)
        done = self.state.filter(ready)
        if not done.height:
            return None
        self.state = self.state.filter(~ready)
        windows = (pl.col(START).cast(_DATETIME).alias("window_start"), pl.col(END).cast(_DATETIME).alias("window_end"))
        return self.finished(done, windows, ["window_end"])


class SessionAggregate(_Windowed):
    """Session windows per key (see `agg_sessions`)."""

    def __init__(self, shape: Shape, inputs: int, lag: int, gap: int, lateness: int) -> None:
        super().__init__(shape, inputs, lag, lateness)
        self.gap = gap
        self.emitted = pl.DataFrame(schema={**{b: shape.input_schema[b] for b in shape.by}, EEND: pl.Int64})

    def _sessions(self) -> pl.DataFrame:
        if self.state is not None:
            return self.state
        schema = {**{b: self.shape.input_schema[b] for b in self.shape.by}, TMIN: pl.Int64, TMAX: pl.Int64}
        return pl.DataFrame(schema={**schema, SID: pl.Int64})

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        records = self.judged(frame, input_index, None)
        late = session_late(records, self.shape.by, self.gap, self.lateness, self._sessions(), self.emitted)
        kept, emitted = self.split_late(frame, records.with_columns(late.alias(LATE)))
        if emitted.late_count < frame.height:
            kept, relabelled = label_sessions(kept.collect(), self._sessions(), self.shape.by, self.gap)
            if self.state is not None:
                self.state = relabelled
            time = pl.col(TIME)
            self.merge(kept.lazy(), [*self.keys, SID], (time.min().alias(TMIN), time.max().alias(TMAX)),
                       (pl.col(TMIN).min(), pl.col(TMAX).max()))
        return _with_output(emitted, self.emit())

    def emit(self) -> pl.DataFrame | None:
        if self.state is None:
            return None
        wm = self.watermarks.current()
        ends = pl.col(TMAX) + self.gap
        ready = ends + self.lateness <= wm if wm < POS_INF else pl.lit(True)
        done = self.state.filter(ready)
        self.state = self.state.filter(~ready)
        self._remember(done, wm)
        if not done.height:
            return None
        windows = (pl.col(TMIN).cast(_DATETIME).alias("window_start"), ends.cast(_DATETIME).alias("window_end"))
        return self.finished(done, windows, ["window_end"])

    def _remember(self, done: pl.DataFrame, wm: int) -> None:
        """Keep each key's latest emitted session end while a record could still join it (SPEC §4)."""
        by = self.shape.by
        ends = done.select(*by, (pl.col(TMAX) + self.gap).alias(EEND))
        both = pl.concat([self.emitted, ends.select(self.emitted.columns)])
        latest = both.group_by(by).agg(pl.col(EEND).max()) if by else both.select(pl.col(EEND).max()).drop_nulls()
        self.emitted = latest.filter(pl.col(EEND) + self.gap + self.lateness > wm) if wm < POS_INF else latest.head(0)

    def snapshot(self) -> StateParts:
        return {**super().snapshot(), "emitted": self.emitted}

    def restore(self, parts: StateParts) -> None:
        super().restore(parts)
        emitted = parts["emitted"]
        assert isinstance(emitted, pl.DataFrame)
        self.emitted = emitted
