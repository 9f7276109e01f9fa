"""The records a sink receives from several inputs in one batch, in the order their source delivered them.

Only the dead-letter sink reads several inputs (each step's unread `.errors` and `.late`). Written
input after input, a batch's conversion errors would come before its validation errors, so the file's
order would depend on where batches end: a run resumed after `--limit`, or with another `batch_size`,
would write another order than an uninterrupted run (SPEC §7: each output file as an uninterrupted
run leaves it). So a batch's records are ordered by the source row they come from; the records of one
row (an exploded list's) keep their input order, and records a step made (an aggregate's, no row) go
last in input order.

An order is a permutation of the positions in the concatenation of the inputs' frames. The file sink
applies it to one concatenated frame, or to the encoded lines when the inputs' fields differ
(`FileSinkWriter.write_interleaved`); slicing the frames into runs instead made a dead letter fed
alternately by two steps write one frame per record (100,000 records: 85 s against 1.5 s), so runs
are only for the other sinks (`in_order`).
"""

from __future__ import annotations

import polars as pl

_POSITION = "__flowc_position"


def arrival_order(frames: list[pl.DataFrame], row: str) -> pl.Series | None:
    """The positions of the concatenation of `frames` by their column `row` (null last), ties in
    concatenation order; None when that is the concatenation's own order."""
    if sum(1 for f in frames if f.height) < 2:
        return None
    rows = pl.concat([f.select(pl.col(row).cast(pl.Int64)) if row in f.columns
                      else pl.DataFrame({row: pl.Series([None] * f.height, dtype=pl.Int64)}) for f in frames])
    order = rows.with_row_index(_POSITION).sort(row, _POSITION, nulls_last=True).get_column(_POSITION)
    return None if order.is_sorted() else order.cast(pl.Int64)


def one_after_the_other(first: list[pl.DataFrame], first_order: pl.Series | None,
                        second: list[pl.DataFrame], second_order: pl.Series | None) -> pl.Series | None:
    """The order of the frames `first + second`: `first`'s records in their order, then `second`'s
    (the lanes of one Kafka batch, each ordered on its own)."""
    if first_order is None and second_order is None:
        return None
    before = sum(f.height for f in first)
    head = first_order if first_order is not None else pl.int_range(before, dtype=pl.Int64, eager=True)
    tail = second_order if second_order is not None else pl.int_range(sum(f.height for f in second),
                                                                       dtype=pl.Int64, eager=True)
    return pl.concat([head, tail + before])


def merged(frames: list[pl.DataFrame], order: pl.Series) -> pl.DataFrame | None:
    """`frames` as one frame in `order`, when those with records have the same columns and types (else
    None; an empty frame holds no position of `order`)."""
    present = [f for f in frames if f.height]
    if any(f.schema != present[0].schema for f in present[1:]):
        return None
    return pl.concat(present, rechunk=False)[order]


def in_order(frames: list[pl.DataFrame], order: pl.Series | None) -> list[pl.DataFrame]:
    """`frames` rearranged to `order`: one frame when they can be concatenated, else slices of them,
    one per run of consecutive records of one frame (for sinks that write frame by frame)."""
    if order is None:
        return frames
    whole = merged(frames, order)
    if whole is not None:
        return [whole]
    starts = [0]
    for frame in frames:
        starts.append(starts[-1] + frame.height)
    frame_of = pl.Series(starts[1:]).search_sorted(order, side="right")  # the frame holding each position
    runs = (pl.DataFrame({_POSITION: order, "frame": frame_of})
            .with_columns(run=((pl.col("frame") != pl.col("frame").shift())
                               | (pl.col(_POSITION) != pl.col(_POSITION).shift() + 1)).fill_null(True).cum_sum())
            .group_by("run", maintain_order=True).agg(pl.col("frame").first(), pl.col(_POSITION).first(), pl.len()))
    return [frames[i].slice(at - starts[i], n) for i, at, n in runs.select("frame", _POSITION, "len").iter_rows()]
