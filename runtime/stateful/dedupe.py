"""`dedupe` (SPEC §4): keep the first record of a key, drop a record less than `within` from a kept one.

The rule, per record in arrival order, with `S` the event times of the key's kept records still
remembered and `W` the step's watermark before the record: each input (a union's branch, a Kafka
partition) has its own, the largest event time it delivered minus `max_out_of_orderness`, and `W` is
the minimum over the inputs (SPEC §4; an input that has delivered nothing yet holds it at minus
infinity, an ended one does not hold it at all; `windows.Watermarks`), so a fast input cannot make the
state a slow one needs forgotten:

    s is remembered    while  W is unknown or W <= s + within    (forgotten once W passes s + within)
    drop the record    when   some remembered s has abs(t - s) < within
    otherwise keep it, and remember t                            (each kept record restarts the span)

Every kept record counts, not only the key's last: an out-of-order record near an earlier kept one is
a duplicate of it (kept at 00:01 and 00:02 with `within: 1m`, a record at 00:00:30 is dropped). With
in-order records the last kept one is the nearest, and a key remembers ~1 + max_out_of_orderness /
within of them. With `within` absent a key is remembered for the whole run: every record after its
first is dropped. Because `W` is taken per record (not per batch), the kept records do not depend on
the batch size. After a batch, the kept times the watermark has passed (`W > s + within`) are
forgotten for good.

Without `event_time` every record of a batch gets the batch time: the `clock` the executor gives,
its per-batch `now()`, recorded with the batch, so a batch replayed after a crash decides as its first
attempt did (docs/runtime.md); `flowc test` pins it with a test's `now:`.

Vectorised per batch: records whose key occurs once in the batch are decided by one join against the
state; only records whose key repeats within the batch are walked in a Python loop, per key in arrival
order, since each decision depends on the records of the same key kept before it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.plan import Plan
from flowc.runtime.stateful.base import Emitted, StateParts, input_count
from flowc.runtime.stateful.windows import NEG_INF, TIME, Watermarks

_T, _W, _S, _I, _G, _N = "__flowc_t", "__flowc_w", "__flowc_s", "__flowc_i", "__flowc_g", "__flowc_n"
STATE, CLOCK = "keys", "clock"  # snapshot part names


def build(node: ir.Dedupe, plan: Plan, *, clock: Callable[[], datetime] | None = None) -> Dedupe:
    """The engine of `node`; `clock` gives the batch time when the node has no event time (tests pin it)."""
    return Dedupe(node, clock or (lambda: datetime.now(UTC)), input_count(node))


class Dedupe:
    def __init__(self, node: ir.Dedupe, clock: Callable[[], datetime], inputs: int = 1) -> None:
        self.node, self.clock = node, clock
        self.state: pl.DataFrame | None = None  # key fields + _T: a remembered kept record's time, a row each
        self.watermarks = Watermarks(node.max_out_of_orderness, inputs)

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        if frame.height == 0:
            return Emitted()
        work = self._work(frame, input_index)
        drop = self._drop_mask(work)
        kept = work.filter(~drop)
        self.watermarks.delivered(input_index, work.get_column(_T))
        self._remember(kept.select(*self.node.key, _T))
        output = frame.filter(~drop)
        return Emitted(output=output if output.height else None)

    def end_of_input(self, input_index: int = 0) -> Emitted:
        self.watermarks.end(input_index)  # an ended input no longer holds the watermark back
        return Emitted()

    def snapshot(self) -> StateParts:
        state = self.state if self.state is not None else pl.DataFrame()
        return {STATE: state, CLOCK: self.watermarks.frame()}

    def restore(self, parts: StateParts) -> None:
        state, clock = parts[STATE], parts[CLOCK]
        assert isinstance(state, pl.DataFrame) and isinstance(clock, pl.DataFrame)
        self.state = state if state.width else None
        if "max_seen" in clock.columns:  # a snapshot from before per-input watermarks: one input
            seen = clock.item(0, "max_seen")
            self.watermarks.largest = {} if seen is None else {0: seen}
        else:
            self.watermarks.restore(clock)

    # --- one batch ---

    def _work(self, frame: pl.DataFrame, input_index: int) -> pl.DataFrame:
        """Key fields, event time, watermark before each record, the key's remembered times (a list),
        row index, and the key's first row index and count in this batch."""
        times = self._times(frame)
        marks = pl.DataFrame({TIME: times}).select(self.watermarks.before(input_index)).to_series()
        work = frame.select(*self.node.key).with_columns(
            times.alias(_T), marks.alias(_W), pl.int_range(frame.height, dtype=pl.Int64).alias(_I),
        )
        if self.state is None:
            work = work.with_columns(pl.lit(None, dtype=pl.List(pl.Int64)).alias(_S))
        else:
            work, state = _aligned(work, self.state, self.node.key)
            remembered = state.group_by(list(self.node.key), maintain_order=True).agg(pl.col(_T).alias(_S))
            work = work.join(remembered, on=list(self.node.key), how="left", nulls_equal=True, maintain_order="left")
        return work.with_columns(pl.col(_I).first().over(self.node.key).alias(_G),
                                 pl.len().over(self.node.key).alias(_N))

    def _times(self, frame: pl.DataFrame) -> pl.Series:
        name = self.node.event_time
        if name is None:
            now = int(self.clock().timestamp() * 1_000_000)
            return pl.Series(_T, [now] * frame.height, dtype=pl.Int64)
        column = frame.get_column(name)
        if not column.dtype.is_temporal() or column.dtype in (pl.Duration, pl.Time):
            raise ValueError(f"dedupe '{self.node.step}': event time '{name}' is {column.dtype}, not a datetime")
        if column.null_count():
            raise ValueError(f"dedupe '{self.node.step}': a record has a null event time '{name}' "
                             f"(row {frame.get_column(ROW).filter(column.is_null())[0]} of its source)")
        if column.dtype == pl.Date:
            column = column.cast(pl.Datetime("us"))
        return column.dt.epoch("us").alias(_T)

    def _drop_mask(self, work: pl.DataFrame) -> pl.Series:
        """True for the records to drop: singletons by a join of their remembered times, repeated keys by
        walking them."""
        hits = (work.filter(pl.col(_N) == 1).select(_I, _T, _W, _S).explode(_S)
                .filter(_duplicate(pl.col(_T), pl.col(_W), pl.col(_S), self.node.within)).get_column(_I))
        drop = work.select(pl.col(_I).is_in(hits.implode()).alias("drop")).to_series()
        repeated = work.filter(pl.col(_N) > 1).sort(_G, _I, maintain_order=True)
        if repeated.height == 0:
            return drop
        decisions = _walk(repeated.get_column(_G).to_list(), repeated.get_column(_T).to_list(),
                          repeated.get_column(_W).to_list(), repeated.get_column(_S).to_list(), self.node.within)
        return drop.scatter(repeated.get_column(_I), pl.Series(decisions, dtype=pl.Boolean))

    def _remember(self, kept: pl.DataFrame) -> None:
        """The kept records' times join the state; then the times the watermark passed are forgotten."""
        if self.state is None:
            state = kept
        else:
            kept, old = _aligned(kept, self.state, self.node.key)
            state = pl.concat([old, kept])
        watermark = self.watermarks.current()
        if self.node.within is not None and watermark > NEG_INF:
            state = state.filter(pl.col(_T) + self.node.within >= watermark)
        self.state = state


def _aligned(batch: pl.DataFrame, state: pl.DataFrame, key: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both frames with the same key types: a key column with no value (null-typed, e.g. a batch where
    the field is always null) takes the other's type; otherwise the state follows the batch."""
    to_batch, to_state = {}, {}
    for k in key:
        b, s = batch.schema[k], state.schema[k]
        if b == s:
            continue
        if b == pl.Null:
            to_batch[k] = s
        else:
            to_state[k] = b
    return batch.cast(to_batch), state.cast(to_state)  # type: ignore[arg-type]


def _duplicate(t: pl.Expr, w: pl.Expr, s: pl.Expr, within: int | None) -> pl.Expr:
    """Whether the remembered time `s` makes a record at `t` a duplicate (the rule of the module
    docstring; a null `s`: no state, so not a duplicate)."""
    if within is None:
        return s.is_not_null()
    remembered = w.is_null() | (w <= s + within)
    return (s.is_not_null() & remembered & ((t - s).abs() < within)).fill_null(False)


def _walk(groups: list, times: list, marks: list, states: list, within: int | None) -> list[bool]:
    """The rule of the module docstring, record by record; rows sorted by key group, then arrival."""
    decisions: list[bool] = []
    group, kept = None, []
    for g, t, w, s in zip(groups, times, marks, states, strict=True):
        if g != group:
            group, kept = g, list(s or ())
        if within is None:
            duplicate = bool(kept)
        else:  # the watermark never goes back: a time it passed is forgotten for the key's later records too
            kept = [k for k in kept if w is None or w <= k + within]
            duplicate = any(abs(t - k) < within for k in kept)
        decisions.append(duplicate)
        if not duplicate:
            kept.append(t)
    return decisions

