"""Plan nodes of the stateful steps (SPEC §4): `aggregate`, `dedupe`, `enrich`.

Each builder returns the node, the typing of its expressions (an aggregate's `compute` arguments, for
the engine's Polars lowering) and its output schema. Event time is resolved here once: `window.time`
with its own `max_out_of_orderness`, else the field that carries the source's event time to the step
(`flowc.compiler.event_time`) with the largest `max_out_of_orderness` among the step's sources (one
bound for every input: an input never waits less than its own source asks).

`definition(node)` is what SPEC §9 compares before resuming: a stateful step's own settings, without
its input (stateless steps before it may change) and without positions in the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from flowc.compiler import ir
from flowc.compiler import spec as s
from flowc.compiler.checks.scope import Scope
from flowc.compiler.checks.step_schemas import output_schema
from flowc.compiler.event_time import input_event_time
from flowc.compiler.typecheck import check_expression
from flowc.dsl import types as t
from flowc.dsl.ast import Expr
from flowc.dsl.types import Struct, Type
from flowc.dsl.units import format_duration

Typings = dict[Expr, Type]


@dataclass(frozen=True, slots=True)
class StatefulContext:
    event_times: Mapping[str, str | None]  # input name -> event-time field (`event_time_fields`)
    out_of_orderness: int  # microseconds: the largest of the step's sources
    table: Struct | None  # an enrich table's schema (declared, or read when the run was prepared)
    on_error: str = ir.FAIL  # the step's policy (a record whose event time is null is a record error)


def build_stateful(step: s.Step, inputs: tuple[ir.Node, ...], schemas: tuple[Struct | None, ...],
                   context: StatefulContext) -> tuple[ir.Node, Typings, Struct | None]:
    config = step.config
    if isinstance(config, s.Aggregate):
        return _aggregate(step, config, inputs[0], schemas[0], context)
    if isinstance(config, s.Dedupe):
        node = ir.Dedupe(input=inputs[0], key=tuple(k.name for k in config.key), within=config.within,
                         step=step.name, event_time=input_event_time(dict(context.event_times), step),
                         max_out_of_orderness=context.out_of_orderness, on_error=context.on_error, span=step.span)
        return node, {}, schemas[0]
    assert isinstance(config, s.Enrich), f"not a stateful step: {step.operator}"
    return _enrich(step, config, inputs[0], schemas[0], context.table)


def _aggregate(step: s.Step, config: s.Aggregate, input_: ir.Node, schema: Struct | None,
               context: StatefulContext) -> tuple[ir.Node, Typings, Struct | None]:
    window = config.window
    if window is not None and window.time is not None:
        event_time, bound = window.time.name, window.max_out_of_orderness
    elif window is not None:
        event_time, bound = input_event_time(dict(context.event_times), step), context.out_of_orderness
    else:
        event_time, bound = None, 0
    typings: Typings = {}
    if schema is not None:
        for computation in config.compute:
            for arg in computation.args:
                typings.update(check_expression(arg, schema, where=f"aggregate '{computation.name}'").types)
    node = ir.Aggregate(input=input_, by=tuple(b.name for b in config.by), window=window, compute=config.compute,
                        step=step.name, event_time=event_time, max_out_of_orderness=bound, on_error=context.on_error,
                        span=step.span)
    return node, typings, output_schema(step, Scope(schema))


def _enrich(step: s.Step, config: s.Enrich, input_: ir.Node, schema: Struct | None,
            table: Struct | None) -> tuple[ir.Node, Typings, Struct | None]:
    table = config.table.schema or table
    key = config.right_on.name
    if config.fields:
        names = tuple(f.name for f in config.fields)
    else:
        names = tuple(n for n, _ in table.fields if n != key) if table is not None else ()
    node = ir.Enrich(input=input_, table=config.table, left_on=config.left_on.name, right_on=key, fields=names,
                     step=step.name, how=config.how, reload=config.reload, span=step.span)
    if schema is None or (table is None and not names):
        return node, {}, None
    added = tuple((n, (table.field(n) if table is not None else None) or t.NULL) for n in names)
    # `fields` overwrite input fields of the same name in place (SPEC §4), new ones are appended.
    return node, {}, Struct(tuple(dict((*schema.fields, *added)).items()))


def definition(node: ir.Node) -> str:
    """A hash of what a stateful node's saved state depends on (SPEC §9: name and definition; for
    `enrich`, its key)."""
    if isinstance(node, ir.Aggregate):
        compute = tuple((c.name, c.expression.text) for c in node.compute)
        text = repr((node.by, node.window, compute, node.event_time, node.max_out_of_orderness))
    elif isinstance(node, ir.Dedupe):
        text = repr((node.key, node.within, node.event_time, node.max_out_of_orderness))
    else:
        assert isinstance(node, ir.Enrich)
        text = repr((node.left_on, node.right_on))
    return "sha256:" + hashlib.sha256(f"{type(node).__name__}{text}".encode()).hexdigest()


def describe(node: ir.Node) -> str:
    """The details `format_plan` prints for a stateful node."""
    if isinstance(node, ir.Aggregate):
        parts = [f"by {', '.join(node.by)}" if node.by else "global"]
        if node.window is not None:
            parts.append(f"window {_window(node.window)}")
            parts.append(f"time {node.event_time} ooo {format_duration(node.max_out_of_orderness)}")
        parts.append("compute " + ", ".join(f"{c.name} = {c.expression.text}" for c in node.compute))
        return " ".join(parts)
    if isinstance(node, ir.Dedupe):
        within = format_duration(node.within) if node.within is not None else "the run"
        time = f"time {node.event_time}" if node.event_time else "batch time"
        return f"key {', '.join(node.key)} within {within} {time}"
    assert isinstance(node, ir.Enrich)
    table = node.table
    return " ".join(x for x in (
        f"table {table.type} {table.format or ''} {table.path}".replace("  ", " "),
        f"on {node.left_on} = {node.right_on}", f"fields {', '.join(node.fields)}", f"how {node.how}",
        "reload" if node.reload else "") if x)


def _window(window: s.Window) -> str:
    durations = [(k, getattr(window, k)) for k in ("size", "every", "gap")]
    shown = [f"{k} {format_duration(v)}" for k, v in durations if v is not None]
    if window.allowed_lateness:
        shown.append(f"allowed_lateness {format_duration(window.allowed_lateness)}")
    return f"{window.type} {' '.join(shown)}"
