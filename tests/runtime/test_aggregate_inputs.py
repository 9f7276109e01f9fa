"""Several inputs (the branches of a union): each has its own watermark and the step takes the minimum,
an input that has delivered nothing holds it back, an ended one no longer does. Random interleavings
of two inputs, in random batches, against a reference loop that tracks every input's watermark."""

from __future__ import annotations

import polars as pl
from aggregate_cases import COMPUTE, US, aggregate, collected, micros, reference_output, tumbling
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_aggregate_windows import streams

from flowc.runtime.stateful.aggregate import build

NEG, POS = float("-inf"), float("inf")
INPUTS_COMPUTE = {n: COMPUTE[n] for n in ("n", "sx", "fx", "cx")}  # watermarks are the point here


def reference_joined(steps: list[tuple], size: int, lag: int) -> list[list[int]]:
    """`steps` are ("record", input, t) and ("end", input); per record, its window start (none: late)."""
    largest: dict[int, int] = {}
    ended: set[int] = set()
    joined = []
    for step in steps:
        if step[0] == "end":
            ended.add(step[1])
            continue
        _, index, t = step
        wm = min(POS if i in ended else (largest[i] - lag if i in largest else NEG) for i in (0, 1))
        start = t - t % size
        joined.append([] if wm >= start + size else [start])
        largest[index] = max(largest.get(index, t), t)
    return joined


@given(streams(), st.lists(st.integers(0, 1), min_size=16, max_size=16),
       st.sampled_from([1, 2, 5, 100000]), st.sampled_from([0, 5, 30]), st.booleans())
def test_the_step_watermark_is_the_minimum_over_inputs(records, inputs, size_cap, lag, first_then_second):
    if first_then_second:  # as the executor reads bounded sources: all of one, its end, then the other
        inputs = sorted(inputs[: records.height])
    inputs = inputs[: records.height]
    node, plan = aggregate(INPUTS_COMPUTE, window=tumbling(10 * US), lag=lag * US, inputs=2)
    op, results, steps = build(node, plan), [], []
    times = micros(records)
    start = 0
    while start < records.height:  # a batch holds consecutive records of one input, at most size_cap
        index, stop = inputs[start], start
        while stop < records.height and inputs[stop] == index and stop - start < size_cap:
            stop += 1
        results.append(op.process(records.slice(start, stop - start), index))
        steps += [("record", index, times[i]) for i in range(start, stop)]
        if first_then_second and index == 0 and (stop == records.height or inputs[stop] == 1):
            results.append(op.end_of_input(0))
            steps.append(("end", 0))
        start = stop
    for index in (0, 1):
        if ("end", index) not in steps:
            results.append(op.end_of_input(index))
    out, late, count = collected(results)
    joined = reference_joined(steps, 10 * US, lag * US)
    expected = reference_output(records, (), [[(s, s + 10 * US) for s in w] for w in joined], INPUTS_COMPUTE)
    if out is None:
        assert expected.height == 0
    else:
        assert_frame_equal(out, expected, rel_tol=1e-9)
    assert count == sum(1 for w in joined if not w)
    if count:
        assert_frame_equal(late, records.filter(pl.Series([not w for w in joined])))
