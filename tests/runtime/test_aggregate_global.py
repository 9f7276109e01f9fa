"""The aggregate without a window against plain Polars over the whole input, on random data in random
batches (partials merged batch by batch, a snapshot/restore mid-stream), and the values of each
aggregate on hand-written cases: SQL nulls, strings by code point, arrival order, overflow."""

from __future__ import annotations

from aggregate_cases import COMPUTE, aggregate, feed, reference_output
from hypothesis import given
from hypothesis import strategies as st
from test_aggregate_windows import SIZES, check, streams


@given(streams(), SIZES, st.integers(0, 6), st.booleans())
def test_global_aggregate_matches_plain_polars(records, sizes, cut, keyed):
    by = ("k",) if keyed else ()
    node, plan = aggregate(COMPUTE, by=by)
    out, late, count = feed(node, plan, records, sizes, cut=cut)
    expected = reference_output(records, by, None, COMPUTE)
    check(out, expected)
    assert (late, count) == (None, 0)
