"""Watermarks and window assignment for the windowed aggregate (SPEC §4).

Each input has its own watermark: the largest event time it has delivered minus
`max_out_of_orderness`; before it delivers anything it holds the step at minus infinity, after its end
at plus infinity. The step's watermark is the minimum over inputs. A Kafka partition is an input from
the moment it is assigned to this process (it holds the step before its first record, as a source
does) until it is revoked (another process reads it on). The step's watermark never goes back: an
input that joins later (a partition moved here by a rebalance) cannot reopen what was emitted; its
records behind the step's watermark are late.

Lateness is decided per record with the watermark of the records before it, earlier records of the
same batch included: a cumulative max over the batch (shifted by one) gives every record's watermark
at once, so whether a record is late does not depend on where batches are cut. Times are Int64
microseconds; minus and plus infinity are the Int64 extremes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

NEG_INF, POS_INF = -(2**63), 2**63 - 1
TIME = "__agg_t"  # the record's event time, Int64 microseconds
WM = "__agg_wm"  # the step's watermark before the record
START, END = "__agg_ws", "__agg_we"  # a window, Int64 microseconds


@dataclass
class Watermarks:
    """Per-input largest event time delivered (absent: nothing yet) and ended inputs."""

    lag: int  # max_out_of_orderness, microseconds
    inputs: int  # inputs known from the plan (more appear when they deliver or are held)
    largest: dict[int, int] = field(default_factory=dict)
    ended: set[int] = field(default_factory=set)
    waiting: set[int] = field(default_factory=set)  # held before delivering: partitions assigned here
    released: set[int] = field(default_factory=set)  # no longer holding: partitions revoked from here
    floor: int = NEG_INF  # the highest step watermark reached

    def _of(self, index: int) -> int:
        if index in self.ended:
            return POS_INF
        return self.largest[index] - self.lag if index in self.largest else NEG_INF

    def _known(self) -> set[int]:
        return set(range(self.inputs)) | set(self.largest) | self.ended | self.waiting

    def _indexes(self) -> set[int]:
        return self._known() - self.released

    def current(self) -> int:
        self.floor = max(self.floor, min((self._of(i) for i in self._indexes()), default=self.floor))
        return self.floor

    def before(self, index: int) -> pl.Expr:
        """Per record of a batch from input `index` (column TIME, arrival order): the step's watermark
        before it."""
        others = min((self._of(i) for i in self._indexes() if i != index), default=POS_INF)
        seen = pl.col(TIME).cum_max().shift(1)
        if index in self.largest:
            seen = pl.max_horizontal(seen, pl.lit(self.largest[index], dtype=pl.Int64))
        own = (seen - self.lag).fill_null(NEG_INF) if self.lag else seen.fill_null(NEG_INF)
        step = pl.min_horizontal(own, pl.lit(others, dtype=pl.Int64))
        return pl.max_horizontal(step, pl.lit(self.floor, dtype=pl.Int64)).alias(WM)

    def hold(self, held: set[int], family: Callable[[int], bool]) -> None:
        """Of the inputs `family` selects (one source's partitions), exactly `held` hold the step now:
        they are the partitions assigned to this process; the others were revoked."""
        self.waiting = {i for i in self.waiting if not family(i)} | held
        self.released = {i for i in self.released if not family(i)} | {
            i for i in self._known() if family(i) and i not in held}

    def delivered(self, index: int, times: pl.Series) -> None:
        top = times.max()
        if top is not None:
            self.largest[index] = max(self.largest.get(index, NEG_INF), int(top))  # type: ignore[arg-type]

    def end(self, index: int) -> None:
        self.ended.add(index)

    def frame(self) -> pl.DataFrame:
        """Which partitions hold the step is not saved: the resumed run's assignment says it."""
        indexes = sorted(set(range(self.inputs)) | set(self.largest) | self.ended)
        return pl.DataFrame({"input": indexes, "largest": [self.largest.get(i) for i in indexes],
                             "ended": [i in self.ended for i in indexes], "floor": [self.floor] * len(indexes)},
                            schema={"input": pl.Int64, "largest": pl.Int64, "ended": pl.Boolean, "floor": pl.Int64})

    def restore(self, frame: pl.DataFrame) -> None:
        self.largest = {r["input"]: r["largest"] for r in frame.iter_rows(named=True) if r["largest"] is not None}
        self.ended = {r["input"] for r in frame.iter_rows(named=True) if r["ended"]}
        floors = frame.get_column("floor").max() if "floor" in frame.columns else None  # older snapshots lack it
        self.floor = NEG_INF if floors is None else int(floors)  # type: ignore[arg-type]


def last_window_end(size: int, every: int) -> pl.Expr:
    """The end of the latest window (of `size`, aligned to the epoch at multiples of `every`) that holds
    the record: its other windows end earlier."""
    return pl.col(TIME) - pl.col(TIME) % every + size  # Polars' % floors like Python's, so negatives align


def assign_windows(records: pl.LazyFrame, size: int, every: int, lateness: int) -> pl.LazyFrame:
    """One row per (record, window still open before it): windows of `size` every `every`, each kept
    while the watermark before the record has not reached `window_end + lateness`."""
    first_start = pl.col(TIME) - pl.col(TIME) % every
    count = size // every
    if count == 1:
        with_start = records.with_columns(first_start.alias(START))
    else:
        starts = pl.int_ranges(first_start - (count - 1) * every, first_start + 1, every, dtype=pl.Int64)
        with_start = records.with_columns(starts.alias(START)).explode(START)
    windows = with_start.with_columns((pl.col(START) + size).alias(END))
    return windows.filter(pl.col(WM) < pl.col(END) + lateness)
