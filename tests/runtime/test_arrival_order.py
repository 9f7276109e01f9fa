"""The order of a sink's records from several inputs (runtime/arrival_order.py) against a plain
stable sort of the concatenated records by source row, nulls last."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from flowc.runtime.arrival_order import arrival_order, in_order, merged, one_after_the_other

ROW = "row"
rows = st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=6)


def _frames(row_lists: list[list[int | None]], same_fields: bool) -> list[pl.DataFrame]:
    """Frame i has a `tag` (which frame, which record) and, unless `same_fields`, a field of its own."""
    frames = []
    for i, values in enumerate(row_lists):
        frame = pl.DataFrame({ROW: pl.Series(values, dtype=pl.Int64), "tag": [f"{i}.{k}" for k in range(len(values))]})
        frames.append(frame if same_fields else frame.with_columns(pl.lit(i).alias(f"own{i}")))
    return frames


def _expected(frames: list[pl.DataFrame]) -> list[str]:
    """By row, nulls last, stable; the records of a lone input as they come (what one step wrote)."""
    records = [(r[ROW], n, r["tag"]) for n, r in enumerate(r for f in frames for r in f.iter_rows(named=True))]
    if sum(1 for f in frames if f.height) < 2:
        return [tag for _, _, tag in records]
    return [tag for _, _, tag in sorted(records, key=lambda x: (x[0] is None, x[0] or 0, x[1]))]


@given(st.lists(rows, min_size=1, max_size=4), st.booleans())
def test_in_order_is_a_stable_sort_by_row_with_nulls_last(row_lists, same_fields):
    frames = _frames(row_lists, same_fields)
    order = arrival_order(frames, ROW)
    rearranged = in_order(frames, order)
    assert [t for f in rearranged for t in f.get_column("tag").to_list()] == _expected(frames)
    if order is None:
        assert rearranged is frames
    elif same_fields:
        assert len(rearranged) == 1 and merged(frames, order) is not None
    else:
        assert merged(frames, order) is None


@given(st.lists(rows, min_size=1, max_size=3), st.lists(rows, min_size=1, max_size=3))
def test_two_lanes_one_after_the_other(first_rows, second_rows):
    first, second = _frames(first_rows, True), _frames(second_rows, True)
    order = one_after_the_other(first, arrival_order(first, ROW), second, arrival_order(second, ROW))
    tags = [t for f in in_order([*first, *second], order) for t in f.get_column("tag").to_list()]
    second_tags = [t for f in in_order(second, arrival_order(second, ROW)) for t in f.get_column("tag").to_list()]
    assert tags == _expected(first) + second_tags
