"""Tumbling, sliding and global aggregates against an independent reference, on random out-of-order
streams cut into random batches (1, 7, 1000, 100000 records...), with a snapshot/restore mid-stream:
the same results and the same late records whatever the batch sizes."""

from __future__ import annotations

import polars as pl
from aggregate_cases import (
    US,
    WINDOW_COMPUTE,
    aggregate,
    feed,
    late_mask,
    micros,
    reference_output,
    reference_windows,
    sliding,
    tumbling,
)
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from flowc.compiler.lower_plan import ROW

SIZES = st.lists(st.sampled_from([1, 2, 3, 7, 1000, 100000]), min_size=1, max_size=4)


KEYS = ["a", "b", None, "é"]
TEXTS = [None, "", "a", "b", "Z", "é", "\U0001f600", "ab"]
RECORD = st.tuples(st.integers(0, 3), st.integers(-90, 90), st.none() | st.integers(-1000, 1000),
                   st.integers(0, 7), st.none() | st.integers(-100, 100))


@st.composite
def streams(draw, max_records: int = 16) -> pl.DataFrame:
    """Records of a few keys (null included) with event times that go back and forth."""
    base = draw(st.sampled_from([0, -3_600, 1_767_225_600]))
    step, jitter = draw(st.integers(0, 10)), draw(st.integers(0, 90))
    rows = draw(st.lists(RECORD, max_size=max_records))
    seconds = [base + i * step + r[1] * jitter // 90 for i, r in enumerate(rows)]
    columns = {
        "k": [KEYS[r[0]] for r in rows], "ts": [sec * US for sec in seconds], "x": [r[2] for r in rows],
        "f": [None if r[4] is None else r[4] / 2 for r in rows], "s": [TEXTS[r[3]] for r in rows],
    }
    schema = {"k": pl.String, "ts": pl.Int64, "x": pl.Int64, "f": pl.Float64, "s": pl.String}
    records = pl.DataFrame(columns, schema=schema).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return records.with_columns(pl.int_range(0, len(rows), dtype=pl.Int64).alias(ROW))


def check(out: pl.DataFrame | None, expected: pl.DataFrame) -> None:
    if out is None:
        assert expected.height == 0
        return
    assert_frame_equal(out, expected, rel_tol=1e-9)


@given(streams(), SIZES, st.sampled_from([(10, 10), (60, 60), (20, 10), (60, 20), (30, 1)]),
       st.sampled_from([0, 5, 30]), st.sampled_from([0, 10]), st.integers(0, 6), st.booleans())
def test_windows_match_the_reference(records, sizes, window, lag, lateness, cut, keyed):
    size, every = window[0] * US, window[1] * US
    spec = tumbling(size, lateness * US) if size == every else sliding(size, every, lateness * US)
    by = ("k",) if keyed else ()
    node, plan = aggregate(WINDOW_COMPUTE, by=by, window=spec, lag=lag * US)
    out, late, count = feed(node, plan, records, sizes, cut=cut)
    joined = reference_windows(micros(records), size, every, lag * US, lateness * US)
    expected = reference_output(records, by, [[(s, s + size) for s in w] for w in joined], WINDOW_COMPUTE)
    check(out, expected)
    expected_late = records.filter(late_mask(joined))
    assert count == expected_late.height
    if count:
        assert_frame_equal(late, expected_late)
    else:
        assert late is None
