"""Session windows (SPEC §4): per key, records less than `gap` apart form one session; a session ends at
its last record's time plus `gap`, and a record within `gap` of two sessions merges them.

Lateness. A record at `t` is late when the watermark before it (`wm`) has reached
`t + gap + lateness`, or when it would join or merge with a session already emitted. A session that
can be joined by a record at `t` has its last time `m > t - gap`; it has been emitted when
`m + gap + lateness <= wm`, so `t < wm - lateness`. Records with `t >= wm - lateness` therefore never
meet an emitted session whatever came before them: they are decided at once, vectorised. The few
records behind the watermark by more than `lateness` are decided one by one in arrival order against
the sessions their key has at that moment (open sessions of the state, earlier records of the batch
that were kept, and the end of the key's last emitted session; two binary searches per record); that
is what makes the result the same for every batch size. Each decision can change the next one's (a
late record does not extend a session), so this part is a loop, over those records' keys only.

Labelling. Kept records and the open sessions of the state, as intervals `[lo, hi]`, sorted by key and
`lo`: an interval starts a new session when `lo` is at or after the largest `hi + gap` before it.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import defaultdict

import polars as pl

from flowc.runtime.stateful.windows import NEG_INF, TIME, WM

SID = "__agg_sid"  # a session's label, unique within a key
TMIN, TMAX = "__agg_tmin", "__agg_tmax"  # the session's first and last event time
EEND = "__agg_eend"  # per key: the end (last time + gap) of its latest emitted session
_ROW = "__agg_row"


def session_late(records: pl.DataFrame, by: list[str], gap: int, lateness: int,
                 sessions: pl.DataFrame, emitted: pl.DataFrame) -> pl.Series:
    """Per record of `records` (by fields, TIME, WM; arrival order): is it late. `sessions` are the
    open sessions (by, TMIN, TMAX), `emitted` the keys' latest emitted session ends (by, EEND)."""
    t, wm = pl.col(TIME), pl.col(WM)
    flags = records.select(late=wm >= t + (gap + lateness), behind=(t + lateness < wm) & (wm < t + gap + lateness))
    late = flags.get_column("late")
    if not flags.get_column("behind").any():
        return late
    indexed = records.with_row_index(_ROW).with_columns(flags)
    keys = indexed.filter(pl.col("behind")).select(by).unique() if by else None
    if keys is not None:
        indexed = indexed.join(keys, on=by, how="semi", nulls_equal=True, maintain_order="left")
        sessions = sessions.join(keys, on=by, how="semi", nulls_equal=True)
        emitted = emitted.join(keys, on=by, how="semi", nulls_equal=True)
    decided = _decide(indexed, by, gap, lateness, _intervals(sessions, by), _ends(emitted, by))
    values = late.to_list()
    for row, is_late in decided.items():
        values[row] = is_late
    return pl.Series("late", values, dtype=pl.Boolean)


def _intervals(sessions: pl.DataFrame, by: list[str]) -> dict[tuple, list[tuple[int, int]]]:
    found: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for row in sessions.select(*by, TMIN, TMAX).iter_rows():
        found[row[:-2]].append((row[-2], row[-1]))
    return found


def _ends(emitted: pl.DataFrame, by: list[str]) -> dict[tuple, int]:
    return {row[:-1]: row[-1] for row in emitted.select(*by, EEND).iter_rows()}


def _decide(indexed: pl.DataFrame, by: list[str], gap: int, lateness: int,
            intervals: dict[tuple, list[tuple[int, int]]], ends: dict[tuple, int]) -> dict[int, bool]:
    """Lateness of the records behind the watermark, in arrival order (the others only feed sessions).
    Per key: the state's open sessions (sorted, fixed during the batch) and the batch's kept times
    (kept sorted), so each decision is a pair of binary searches."""
    decided: dict[int, bool] = {}
    spans = {key: sorted(found) for key, found in intervals.items()}
    starts = {key: [lo for lo, _ in found] for key, found in spans.items()}
    kept: dict[tuple, list[int]] = defaultdict(list)
    for row in indexed.select(_ROW, TIME, WM, "late", "behind", *by).iter_rows():
        index, t, wm, late, behind, key = row[0], row[1], row[2], row[3], row[4], row[5:]
        if behind:
            closed = _meets_emitted(t, wm, gap, lateness, kept[key], spans.get(key, []), starts.get(key, []))
            late = decided[index] = t < ends.get(key, NEG_INF) or closed
        if not late:
            insort(kept[key], t)
    return decided


def _meets_emitted(t: int, wm: int, gap: int, lateness: int, times: list[int], spans: list[tuple[int, int]],
                   starts: list[int]) -> bool:
    """Would a record at `t` (not late by the watermark alone) join a session that `wm` has closed?

    Only the session just before `t` can be closed: with `last` the largest end time of the key's
    sessions starting at or before `t` and `after` the first start after it, that session is joined
    when `t < last + gap`, closed when `last + gap + lateness <= wm`, and really ends at `last` unless
    `after` continues it (`after < last + gap`)."""
    last = after = None
    i = bisect_right(times, t)
    if i:
        last = times[i - 1]
    if i < len(times):
        after = times[i]
    j = bisect_right(starts, t)
    if j:
        last = spans[j - 1][1] if last is None else max(last, spans[j - 1][1])
    if j < len(starts):
        after = starts[j] if after is None else min(after, starts[j])
    if last is None or last >= t:
        return False
    continued = after is not None and after < last + gap
    return t < last + gap and last + gap + lateness <= wm and not continued


def label_sessions(kept: pl.DataFrame, sessions: pl.DataFrame, by: list[str], gap: int
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`kept` records and the state's open `sessions` with SID set to their (possibly merged) session
    (one query: the labels come back in input order, the sessions' first)."""
    points = kept.lazy().select(*by, lo=pl.col(TIME), hi=pl.col(TIME))
    spans = sessions.lazy().select(*by, lo=pl.col(TMIN), hi=pl.col(TMAX))
    reach = (pl.col("hi") + gap).cum_max().shift(1)
    reach = reach.over(by) if by else reach
    starts = (reach.is_null() | (pl.col("lo") >= reach)).cast(pl.Int64)
    labels = (pl.concat([spans, points], how="vertical_relaxed").with_row_index(_ROW)
              .sort([*by, "lo"], nulls_last=True).with_columns(starts.cum_sum().alias(SID))
              .sort(_ROW).select(SID).collect().to_series())
    count = sessions.height
    return kept.with_columns(labels.slice(count)), sessions.with_columns(labels.slice(0, count))
