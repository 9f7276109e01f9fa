"""The Polars side of the function library: one implementation per `flowc.dsl.functions` entry.

`POLARS_FUNCTIONS[name](args, arg_types, result_type) -> Lowered`, with `args` the call's arguments
already lowered (in order) and the types the type checker gave them. A call site lowers a call as

    args = tuple(lower(arg, ctx) for arg in node.args)
    POLARS_FUNCTIONS[node.name](args, tuple(ctx.types[a] for a in node.args), ctx.types[node])

`now()` is not here: it is the batch's start time, which the expression lowering knows.
Each implementation computes what the reference `FunctionDef.evaluate` computes, row by row, and the
same error texts; `tests/compiler/test_lower_functions.py` holds the two together.
"""

from __future__ import annotations

from flowc.compiler.lower_fn_convert import CONVERT_IMPLEMENTATIONS
from flowc.compiler.lower_fn_numbers import NUMBER_IMPLEMENTATIONS
from flowc.compiler.lower_fn_support import Impl
from flowc.compiler.lower_fn_text import TEXT_IMPLEMENTATIONS
from flowc.compiler.lower_fn_time import TIME_IMPLEMENTATIONS

POLARS_FUNCTIONS: dict[str, Impl] = {
    **TEXT_IMPLEMENTATIONS, **NUMBER_IMPLEMENTATIONS, **CONVERT_IMPLEMENTATIONS, **TIME_IMPLEMENTATIONS,
}
