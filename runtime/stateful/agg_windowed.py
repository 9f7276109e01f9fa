"""Windowed aggregates: tumbling and sliding windows, sessions (see `aggregate`, `windows`, `agg_sessions`)."""

from __future__ import annotations

import polars as pl

from flowc.compiler.lowered import InternalError
from flowc.runtime.stateful.agg_engine import Engine, Shape
from flowc.runtime.stateful.agg_sessions import EEND, SID, TMAX, TMIN, label_sessions, session_late
from flowc.runtime.stateful.base import Emitted, StateParts
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

LATE = "__agg_late"
_EXPLODED_ROWS = 4_000_000  # at most this many (record, window) rows in one merge
_DATETIME = pl.Datetime("us", "UTC")


class _Windowed(Engine):
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
        """The records that are neither late nor record errors (lazy), and the late ones and the
        errors as they arrived (a late record's arguments are not evaluated: it joins no window)."""
        late = records.get_column(LATE)
        count = int(late.sum())
        if not count:
            kept, errors = self.checked(records.lazy().drop(LATE), frame)
            return kept, Emitted(errors=errors)
        kept, errors = self.checked(records.lazy().filter(~pl.col(LATE)).drop(LATE), frame.filter(~late))
        return kept, Emitted(late=frame.filter(late), late_count=count, errors=errors)

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
    return Emitted(output=output, late=emitted.late, late_count=emitted.late_count, errors=emitted.errors)


class WindowAggregate(_Windowed):
    """Tumbling (`every == size`) and sliding windows, aligned to the epoch at multiples of `every`."""

    def __init__(self, shape: Shape, inputs: int, lag: int, size: int, every: int, lateness: int) -> None:
        super().__init__(shape, inputs, lag, lateness)
        self.size, self.every = size, every

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        late = pl.col(WM) >= last_window_end(self.size, self.every) + self.lateness
        kept, emitted = self.split_late(frame, self.judged(frame, input_index, late))
        copies = self.size // self.every  # a sliding record is one row per window while being merged
        if copies == 1 or frame.height * copies <= _EXPLODED_ROWS:
            self._merge_windows(kept)
        else:  # bound the exploded rows: merge in slices (merging is associative, SEQ keeps the order)
            records, step = kept.collect(), max(_EXPLODED_ROWS // copies, 1)
            for start in range(0, records.height, step):
                self._merge_windows(records.slice(start, step).lazy())
        return _with_output(emitted, self.emit())

    def _merge_windows(self, records: pl.LazyFrame) -> None:
        self.stack(assign_windows(records, self.size, self.every, self.lateness), self._groups)

    @property
    def _groups(self) -> list[str]:
        return [*self.keys, START, END]

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
        return self.finished(self.merged(done, self._groups), windows, ["window_end"])  # a window's rows end alike


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
        kept = kept.collect()
        if kept.height:
            kept, relabelled = label_sessions(kept, self._sessions(), self.shape.by, self.gap)
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
        first = self.state.get_column(TMAX).min()
        if first is None or (wm < POS_INF and first + self.gap + self.lateness > wm):  # type: ignore[operator]
            return None  # nothing to emit; the emitted ends kept a while longer never make a record late
        ends = pl.col(TMAX) + self.gap
        ready = ends + self.lateness <= wm if wm < POS_INF else pl.lit(True)
        done = self.state.filter(ready)
        self.state = self.state.filter(~ready)
        self._remember(done, wm)
        windows = (pl.col(TMIN).cast(_DATETIME).alias("window_start"), ends.cast(_DATETIME).alias("window_end"))
        return self.finished(done, windows, ["window_end"])

    def _remember(self, done: pl.DataFrame, wm: int) -> None:
        """Keep each key's latest emitted session end while a record could still join it (SPEC §4)."""
        by = self.shape.by
        ends = done.select(*by, (pl.col(TMAX) + self.gap).alias(EEND))
        both = pl.concat([self.emitted, ends.select(self.emitted.columns)], how="vertical_relaxed")
        latest = both.group_by(by).agg(pl.col(EEND).max()) if by else both.select(pl.col(EEND).max()).drop_nulls()
        self.emitted = latest.filter(pl.col(EEND) + self.gap + self.lateness > wm) if wm < POS_INF else latest.head(0)

    def snapshot(self) -> StateParts:
        return {**super().snapshot(), "emitted": self.emitted}

    def restore(self, parts: StateParts) -> None:
        super().restore(parts)
        emitted = parts["emitted"]
        assert isinstance(emitted, pl.DataFrame)
        self.emitted = emitted
