"""The aggregate engine (SPEC §4 "Aggregation"): `build(node, plan)` gives the StatefulOperator.

Per batch the records are reduced to partial aggregates per group (`agg_partials`), which merge into
the state in one Polars `group_by`; the state is one row per open group (window x key), never the
records. Without a window the whole input is one window, emitted when every input has ended. With a
window, lateness is decided per record against the watermark before it (`windows`, `agg_sessions`),
the kept records join their open windows, and after the batch every window the watermark has passed
(`window_end + allowed_lateness <= watermark`) is emitted once, final, ordered by `window_end` and
then by the `by` values (nulls last), and dropped from the state.

Modules: `agg_partials` (the aggregates as mergeable partials), `agg_engine` (what every kind shares,
and the global aggregate), `agg_windowed` (tumbling, sliding, session), `windows` (watermarks, window
assignment), `agg_sessions` (session lateness and merging). This module resolves the node: argument
typing and lowering, inputs, window parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_expr import lower
from flowc.compiler.lowered import InternalError, LowerContext, first_error
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.compiler.typecheck import check_expression
from flowc.dsl.ast import Expr
from flowc.dsl.types import Type
from flowc.runtime.stateful import agg_partials as ap
from flowc.runtime.stateful.agg_engine import GlobalAggregate, Shape
from flowc.runtime.stateful.agg_partials import Aggregation
from flowc.runtime.stateful.agg_windowed import SessionAggregate, WindowAggregate
from flowc.runtime.stateful.base import StatefulOperator, input_count

__all__ = ["build"]


def build(node: ir.Aggregate, plan: Plan) -> StatefulOperator:
    """The engine for `node`: global, tumbling or sliding, or session windows."""
    shape = _shape(node, plan)
    window = node.window
    if window is None:
        return GlobalAggregate(shape, input_count(node))
    lag = node.max_out_of_orderness or window.max_out_of_orderness
    if window.type == "session":
        assert window.gap is not None
        return SessionAggregate(shape, input_count(node), lag, window.gap, window.allowed_lateness)
    size = window.size
    every = window.every if window.type == "sliding" else size
    assert size is not None and every is not None and size % every == 0, "checked by the compiler (E308)"
    return WindowAggregate(shape, input_count(node), lag, size, every, window.allowed_lateness)


def _shape(node: ir.Aggregate, plan: Plan) -> Shape:
    schema = plan.schemas.get(node.input)
    if schema is None:
        raise InternalError(f"aggregate '{node.step}': the schema of its input is unknown")
    types: dict[Expr, Type] = dict(plan.types.get(node, {}))
    ctx = LowerContext(types=types, now=datetime.now(UTC))
    aggs, args, errors = [], [], []
    for index, computation in enumerate(node.compute):
        assert computation.function is not None, "checked by the compiler (E106)"
        arg_type = None
        if computation.args:
            arg = computation.args[0]
            if arg not in types:
                typed = check_expression(arg, schema, where=f"aggregate '{computation.name}'")
                if typed.problems:
                    raise InternalError(f"aggregate '{node.step}': '{computation.name}' is not well typed")
                types.update(typed.types)
            arg_type = types[arg]
        agg = Aggregation(index, computation.name, computation.function, arg_type)
        if computation.args:
            lowered = lower(computation.args[0], ctx)
            dtype = ap.argument_dtype(agg)
            args.append(lowered.value if dtype is None else lowered.value.cast(dtype))
            errors.append(lowered.error)
        else:
            args.append(pl.lit(None))
        aggs.append(agg)
    event_time = node.event_time or (node.window.time.name if node.window and node.window.time else None)
    scans = [n for n in ir.topological((node,)) if isinstance(n, ir.Scan)]
    return Shape(node.step, scans[0].step if scans else node.step, list(node.by), tuple(aggs), tuple(args),
                 first_error(*errors), {n: to_polars(ft) for n, ft in schema.fields}, event_time)
