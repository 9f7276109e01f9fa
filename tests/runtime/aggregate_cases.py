"""Helpers for the aggregate engine tests: build an `ir.Aggregate` over a schema, feed it batches."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.compiler.spec import Computation, Config, Expression, Source, Window
from flowc.dsl import ast
from flowc.dsl import types as ft
from flowc.dsl.parser import parse_expression
from flowc.dsl.types import Struct
from flowc.runtime.checkpoint import decode_part, encode_part
from flowc.runtime.stateful.aggregate import build
from flowc.runtime.stateful.base import Emitted, StateParts

US = 1_000_000
SCHEMA = Struct((("k", ft.STRING), ("ts", ft.DATETIME), ("x", ft.INT), ("f", ft.FLOAT), ("s", ft.STRING)))


@functools.cache
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


def roundtrip(parts: StateParts) -> dict[str, pl.DataFrame | bytes]:
    """A snapshot as the checkpoint store writes and reads it."""
    out: dict[str, pl.DataFrame | bytes] = {}
    for name, part in parts.items():
        suffix, content = encode_part(part)
        out[name] = decode_part(f"part.{suffix}", content)
    return out


def feed(node: ir.Aggregate, plan: Plan, records: pl.DataFrame, sizes: Iterable[int], inputs: int = 1,
         cut: int | None = None) -> tuple[pl.DataFrame | None, pl.DataFrame | None, int]:
    """Run `records` through a fresh engine in batches of `sizes` (cycled); all outputs and late records.
    After batch number `cut` the engine is replaced by a new one restored from its snapshot."""
    op = build(node, plan)
    results: list[Emitted] = []
    sizes = list(sizes)
    start, i = 0, 0
    while start < records.height:
        size = sizes[i % len(sizes)]
        results.append(op.process(records.slice(start, size), 0))
        start, i = start + size, i + 1
        if i == cut:
            parts = roundtrip(op.snapshot())
            op = build(node, plan)
            op.restore(parts)
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


# --- an independent reference: lateness by a plain loop, one record at a time; values by plain Polars ---

NEG = float("-inf")
COMPUTE = {
    "n": "count()", "nx": "count(x)", "ds": "count_distinct(s)", "sx": "sum(x)", "sf": "sum(f)",
    "s2": "sum(x * 2 + 1)", "ax": "avg(x)", "af": "avg(f)", "mns": "min(s)", "mxs": "max(s)", "mnx": "min(x)",
    "mxf": "max(f)", "fx": "first(x)", "ls": "last(s)", "cx": "collect(x)", "cs": "collect(s)",
}

WINDOW_COMPUTE = {n: COMPUTE[n] for n in ("n", "nx", "ds", "sx", "af", "mns", "mxf", "fx", "ls", "cx")}
SESSION_COMPUTE = {n: COMPUTE[n] for n in ("n", "ds", "sx", "fx", "ls", "cx")}


def _some(e: pl.Expr, value: pl.Expr) -> pl.Expr:
    return pl.when(e.count() > 0).then(value)


x, f, s = pl.col("x"), pl.col("f"), pl.col("s")
REFERENCE = {
    "n": pl.len().cast(pl.Int64), "nx": x.count().cast(pl.Int64), "ds": s.drop_nulls().n_unique().cast(pl.Int64),
    "sx": _some(x, x.sum()), "sf": _some(f, f.sum()), "s2": _some(x, (x * 2 + 1).sum()), "ax": x.mean(),
    "af": f.mean(), "mns": s.min(), "mxs": s.max(), "mnx": x.min(), "mxf": f.max(), "fx": x.first(),
    "ls": s.last(), "cx": x, "cs": s,
}


def micros(records: pl.DataFrame) -> list[int]:
    return records.get_column("ts").dt.epoch("us").to_list()


def reference_windows(times: list[int], size: int, every: int, lag: int, lateness: int) -> list[list[int]]:
    """Per record, the starts of the windows it joins (none: it is late)."""
    largest, joined = None, []
    for t in times:
        wm = NEG if largest is None else largest - lag
        first = t - t % every
        starts = [first - k * every for k in range(size // every)]
        joined.append([st for st in starts if not wm >= st + size + lateness])
        largest = t if largest is None else max(largest, t)
    return joined


def reference_sessions(keys: list, times: list[int], gap: int, lag: int, lateness: int) -> list[tuple | None]:
    """Per record, the (start, end) of the session it ends up in (None: late)."""
    largest = None
    open_: dict = {}  # key -> list of [lo, hi, members]
    closed: dict = {}  # key -> list of (lo, hi)
    final: dict[int, tuple] = {}
    for i, (key, t) in enumerate(zip(keys, times, strict=True)):
        wm = NEG if largest is None else largest - lag
        near = [(lo, hi) for lo, hi in closed.get(key, []) if lo - gap < t < hi + gap]
        if wm < t + gap + lateness and not near:
            sessions = open_.setdefault(key, [])
            touching = [ss for ss in sessions if ss[0] - gap < t < ss[1] + gap]
            merged = [min([t, *(ss[0] for ss in touching)]), max([t, *(ss[1] for ss in touching)]),
                      [i, *(m for ss in touching for m in ss[2])]]
            open_[key] = [ss for ss in sessions if ss not in touching] + [merged]
        largest = t if largest is None else max(largest, t)
        _close(open_, closed, final, gap, lateness, largest - lag)
    _close(open_, closed, final, gap, lateness, float("inf"))
    return [final.get(i) for i in range(len(times))]


def _close(open_: dict, closed: dict, final: dict, gap: int, lateness: int, wm: float) -> None:
    for key, sessions in open_.items():
        for ss in [ss for ss in sessions if ss[1] + gap + lateness <= wm]:
            sessions.remove(ss)
            closed.setdefault(key, []).append((ss[0], ss[1]))
            for member in ss[2]:
                final[member] = (ss[0], ss[1] + gap)


def reference_output(records: pl.DataFrame, by: tuple[str, ...], windows: list[list[tuple[int, int]]] | None,
                     compute: dict[str, str]) -> pl.DataFrame:
    """Plain Polars over the records in arrival order: `windows` gives each record's (start, end) pairs."""
    aggs = [REFERENCE[name].alias(name) for name in compute]
    if windows is None:
        if not by:  # as SQL: one record, also for no input
            whole = [(REFERENCE[n].implode() if n in ("cx", "cs") else REFERENCE[n]).alias(n) for n in compute]
            return records.select(whole).with_columns(pl.lit(None, pl.Int64).alias(ROW))
        grouped = records.group_by(list(by), maintain_order=True).agg(aggs)
        return grouped.with_columns(pl.lit(None, pl.Int64).alias(ROW)).sort(list(by), nulls_last=True)
    dt = pl.Datetime("us", "UTC")
    spans = pl.Series("w", [[list(p) for p in w] for w in windows], dtype=pl.List(pl.List(pl.Int64)))
    rows = records.with_columns(spans).explode("w").drop_nulls("w")
    rows = rows.with_columns(window_start=pl.col("w").list.get(0).cast(dt), window_end=pl.col("w").list.get(1).cast(dt))
    grouped = rows.group_by([*by, "window_start", "window_end"], maintain_order=True).agg(aggs)
    return grouped.with_columns(pl.lit(None, pl.Int64).alias(ROW)).sort(["window_end", *by], nulls_last=True)


def late_mask(windows: list[list]) -> pl.Series:
    return pl.Series([not w for w in windows], dtype=pl.Boolean)
