"""The optimizer's promise: an optimized plan delivers exactly what the plan it came from delivers.

Random chains of filter/map/select/drop/rename/explode over random schemas and inline records or a
JSON lines file (with values that do not convert, lines that do not parse and expressions that can
fail, under every error policy) run through the
real batch runner twice, unoptimized and optimized: every sink, the dead-letter sink included, gets
the same records with the same fields in the same order, or both runs fail with the same message.
The optimized plan is also a fixed point: optimizing it again changes nothing.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import given
from optimize_helpers import pipelines, prepared_of, run_plan

from flowc.compiler.optimize import optimize


@given(pipelines())
def test_optimized_plan_delivers_what_the_plan_delivers_and_is_a_fixed_point(case):
    text, batch_size, files = case
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            with open(os.path.join(folder, name), "w") as out:
                out.write(content)
        prepared = prepared_of(text, os.path.join(folder, "p.flow.yaml"))
        _check(prepared, batch_size)


def _check(prepared, batch_size: int) -> None:
    optimized = optimize(prepared.plan)
    assert run_plan(prepared, optimized.plan, batch_size) == run_plan(prepared, prepared.plan, batch_size), \
        [str(a) for a in optimized.applied]
    again = optimize(optimized.plan)
    assert again.plan == optimized.plan and not again.applied
