"""Helpers for the aggregate engine tests: build an `ir.Aggregate` over a schema, feed it batches."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.compiler.spec import Computation, Config, Expression, Source, Window
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.parser import parse_expression
from flowc.dsl.types import Struct
from flowc.runtime.stateful.aggregate import build
from flowc.runtime.stateful.base import Emitted

US = 1_000_000
SCHEMA = Struct((("k", t.STRING), ("ts", t.DATETIME), ("x", t.INT), ("f", t.FLOAT), ("s", t.STRING)))


def computation(name: str, text: str) -> Computation:
    call = parse_expression(text)
    assert isinstance(call, ast.Call)
    return Computation(name, call.name, call.args, Expression(text, call))


def aggregate(compute: dict[str, str], by: tuple[str, ...] = (), window: Window | None = None,
              schema: Struct = SCHEMA, lag: int = 0, inputs: int = 1) -> tuple[ir.Aggregate, Plan]:
    scans = tuple(ir.Scan(source=Source(name=f"src{i}", type="inline", config=Config(), schema=schema,
                                        event_time=None)) for i in range(inputs))
    upstream: ir.Node = scans[0] if inputs == 1 else ir.Union(inputs=scans, step="both")
    node = ir.Aggregate(input=upstream, by=by, window=window, step="agg",
                        compute=tuple(computation(n, e) for n, e in compute.items()),
                        event_time="ts" if window is not None else None, max_out_of_orderness=lag)
    nodes = (*scans, upstream, node) if inputs > 1 else (*scans, node)
    return node, Plan((), nodes, {n: schema for n in nodes if n is not node}, {})


def frame(rows: list[dict], schema: Struct = SCHEMA, first_row: int = 0) -> pl.DataFrame:
    polars_schema = {n: to_polars(ft) for n, ft in schema.fields}
    out = pl.DataFrame(rows, schema=polars_schema, orient="row") if rows else pl.DataFrame(schema=polars_schema)
    return out.with_columns(pl.int_range(first_row, first_row + out.height, dtype=pl.Int64).alias(ROW))


def feed(node: ir.Aggregate, plan: Plan, records: pl.DataFrame, sizes: Iterable[int],
         inputs: int = 1) -> tuple[pl.DataFrame | None, pl.DataFrame | None, int]:
    """Run `records` through a fresh engine in batches of `sizes` (cycled); all outputs and late records."""
    op = build(node, plan)
    results: list[Emitted] = []
    sizes = list(sizes)
    start, i = 0, 0
    while start < records.height:
        size = sizes[i % len(sizes)]
        results.append(op.process(records.slice(start, size), 0))
        start, i = start + size, i + 1
    for index in range(inputs):
        results.append(op.end_of_input(index))
    return collected(results)


def collected(results: list[Emitted]) -> tuple[pl.DataFrame | None, pl.DataFrame | None, int]:
    outputs = [r.output for r in results if r.output is not None]
    lates = [r.late for r in results if r.late is not None]
    return (pl.concat(outputs) if outputs else None, pl.concat(lates) if lates else None,
            sum(r.late_count for r in results))


def tumbling(size: int, lateness: int = 0) -> Window:
    return Window("tumbling", size=size, allowed_lateness=lateness)


def sliding(size: int, every: int, lateness: int = 0) -> Window:
    return Window("sliding", size=size, every=every, allowed_lateness=lateness)


def session(gap: int, lateness: int = 0) -> Window:
    return Window("session", gap=gap, allowed_lateness=lateness)
