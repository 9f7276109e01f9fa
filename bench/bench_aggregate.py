"""W2: the W1 orders filtered and mapped, then grouped by country (count, sum, avg, min, max).
W3: nested JSON events exploded by items, 1-minute tumbling windows per user tier.

    python bench/bench_aggregate.py                                  # W2 on 5M rows, W3 on 2M events
    python bench/bench_aggregate.py --rows 200000 --events 100000    # a quick run
    python bench/bench_aggregate.py --workload w3

The sides, each in a fresh process started by a launcher that reports its wall time and peak RSS:

- `polars`: the job written by hand as one lazy query (streaming engine), the reference;
- `checked` (W2 only): the same query converting every value of every record first, as SPEC §3/§6
  ask of flowc (a value that does not convert makes its record an error, whatever the filter says):
  all 8 columns parsed, `ts` for every record;
- `engine`: the same filter and map as a hand-written lazy query read in micro-batches with
  `collect_batches(batch_size)`, each batch fed to the aggregate engine
  (`flowc.runtime.stateful.aggregate.build` on the plan the compiler makes from the spec): the
  engine's own cost on top of micro-batching;
- `flowc`: `flowc run` of the spec (reading, checkpoints, event log, sink, start-up included).

The data is the seeded orders CSV of `gen_orders.py`, cached outside the repository. The
outputs must agree (counts exactly, floats within a relative 1e-9: partial sums are added in
another order than one pass).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_w1 import ISO, machine, measure
from gen_orders import ORDERS_SOURCE, cached

SPEC = ("version: 1\npipeline: w2\nsettings: {{state_dir: {state}{batch}}}\n" + ORDERS_SOURCE + """steps:
  - filter: status in ("paid", "shipped") and amount > 10
  - map:
      total: amount * qty
  - aggregate:
      by: [country]
      compute: {{orders: count(), revenue: sum(total), avg_total: avg(total), min_total: min(total),
                max_total: max(total)}}
sinks:
  out: {{type: file, path: {out}}}
""")
SIDES = {"w2": ("polars", "checked", "engine", "flowc"), "w3": ("polars", "engine", "flowc")}
W3_SPEC = """version: 1
pipeline: w3
settings: {{state_dir: {state}{batch}}}
sources:
  events:
    type: file
    path: {csv}
    event_time: {{field: ts, max_out_of_orderness: 30s}}
steps:
  - explode: {{field: items, as: item}}
  - map:
      tier: user.tier
      amount: item.price * item.qty
  - aggregate:
      by: [tier]
      window: {{type: tumbling, size: 1m}}
      compute: {{items: count(), revenue: sum(amount), avg_price: avg(item.price), max_qty: max(item.qty)}}
sinks:
  out: {{type: file, path: {out}}}
"""


def _filtered(csv: str):
    import polars as pl

    dtypes = {"order_id": pl.Int64, "user_id": pl.Int64, "ts": pl.String, "status": pl.String, "amount": pl.Float64,
              "qty": pl.Int64, "country": pl.String, "email": pl.String}
    return (pl.scan_csv(csv, schema=dtypes)
            .filter(pl.col("status").is_in(["paid", "shipped"]) & (pl.col("amount") > 10))
            .select("country", total=pl.col("amount") * pl.col("qty")))


def checked_w2(csv: str, out: str, spec: str, batch_size: int) -> None:
    """The job by hand with every value converted first (see the module docstring): Polars parses the
    typed columns as it reads; `ts` is parsed for every record (an unparsable one flags its record an
    error, which the grouping keeps apart from the others), and the columns the job does not use are
    read and parsed too (they could hold a record's error)."""
    import polars as pl

    dtypes = {"order_id": pl.Int64, "user_id": pl.Int64, "ts": pl.String, "status": pl.String, "amount": pl.Float64,
              "qty": pl.Int64, "country": pl.String, "email": pl.String}
    parsed = pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", strict=False)
    read = pl.all_horizontal(pl.col(c).is_null() | pl.col(c).is_not_null() for c in ("order_id", "user_id", "email"))
    keep = pl.col("status").is_in(["paid", "shipped"]) & (pl.col("amount") > 10) & read
    total = pl.col("total")
    result = (pl.scan_csv(csv, schema=dtypes)
              .with_columns(error=pl.col("ts").is_not_null() & parsed.is_null())
              .filter(keep | pl.col("error"))  # not `keep & ~error`: Polars would parse `ts` only where `keep`
              .select("country", "error", total=pl.col("amount") * pl.col("qty"))
              .group_by("country", "error")
              .agg(orders=pl.len().cast(pl.Int64), revenue=total.sum(), avg_total=total.mean(), min_total=total.min(),
                   max_total=total.max())
              .filter(~pl.col("error")).drop("error")
              .sort("country").collect(engine="streaming"))
    result.write_ndjson(out)


def polars_w2(csv: str, out: str, spec: str, batch_size: int) -> None:
    """The job by hand: one lazy query, streaming engine."""
    import polars as pl

    total = pl.col("total")
    result = (_filtered(csv).group_by("country")
              .agg(orders=pl.len().cast(pl.Int64), revenue=total.sum(), avg_total=total.mean(), min_total=total.min(),
                   max_total=total.max())
              .sort("country").collect(engine="streaming"))
    result.write_ndjson(out)


def engine_w2(csv: str, out: str, spec: str, batch_size: int) -> None:
    """The same filter and map in micro-batches, aggregated by flowc's engine."""
    import polars as pl

    from flowc.runtime.stateful.aggregate import build

    node, plan = _aggregate_node(spec)
    engine = build(node, plan)
    for batch in _filtered(csv).collect_batches(chunk_size=batch_size, maintain_order=True):
        engine.process(batch)
    result = engine.end_of_input().output
    assert result is not None
    result.drop(pl.selectors.starts_with("__flowc")).write_ndjson(out)


def _exploded(jsonl: str):
    import polars as pl

    return (pl.scan_ndjson(jsonl).explode("items").drop_nulls("items")
            .select(ts=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", time_zone="UTC"),
                    tier=pl.col("user").struct.field("tier"), price=pl.col("items").struct.field("price"),
                    qty=pl.col("items").struct.field("qty"))
            .with_columns(amount=pl.col("price") * pl.col("qty")))


def polars_w3(jsonl: str, out: str, spec: str, batch_size: int) -> None:
    """The job by hand: explode, 1-minute windows per tier (the data has no late records), streaming."""
    import polars as pl

    start = pl.col("ts").dt.truncate("1m")
    result = (_exploded(jsonl).group_by("tier", start.alias("window_start"))
              .agg(items=pl.len().cast(pl.Int64), revenue=pl.col("amount").sum(), avg_price=pl.col("price").mean(),
                   max_qty=pl.col("qty").max())
              .with_columns(window_end=pl.col("window_start").dt.offset_by("1m"))
              .select("tier", "window_start", "window_end", "items", "revenue", "avg_price", "max_qty")
              .sort("window_end", "tier").collect(engine="streaming"))
    result.with_columns(pl.col("window_start", "window_end").dt.to_string(ISO)).write_ndjson(out)


def engine_w3(jsonl: str, out: str, spec: str, batch_size: int) -> None:
    """The same explode and map in micro-batches, windowed by flowc's engine."""
    import polars as pl

    node, plan = _aggregate_node(spec)
    from flowc.runtime.stateful.aggregate import build

    engine = build(node, plan)
    outputs = []
    records = _exploded(jsonl).select("ts", "tier", "amount", item=pl.struct(price="price", qty="qty"))
    for batch in records.collect_batches(chunk_size=batch_size, maintain_order=True):
        outputs.append(engine.process(batch).output)
    outputs.append(engine.end_of_input().output)
    result = pl.concat([o for o in outputs if o is not None]).drop(pl.selectors.starts_with("__flowc"))
    result.with_columns(pl.col("window_start", "window_end").dt.to_string(ISO)).write_ndjson(out)


def _aggregate_node(spec: str):
    from flowc.compiler import ir
    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_document
    from flowc.runtime.run_setup import prepare

    document, _ = load_document(spec)
    parsed, _ = normalize_spec(document)
    plan = prepare(parsed, document.text).plan
    return next(n for n in plan.nodes if isinstance(n, ir.Aggregate)), plan


def events_jsonl(rows: int, seed: int) -> Path:
    """Nested events (user struct, items list of structs; 0-4 items), about 23 a second, up to 20 s out of
    order, as JSON lines; generated once per (rows, seed) beside the orders CSV."""
    import polars as pl
    from gen_orders import _mix, _pick

    folder = Path(os.environ.get("FLOWC_BENCH_CACHE", Path.home() / ".cache" / "flowc-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events-{rows}-{seed}.jsonl"
    if path.exists():
        return path
    i = pl.int_range(rows, dtype=pl.UInt64)
    r = [_mix(i, seed, 100 + k) for k in range(4)]
    ts = pl.lit(1_767_225_600_000_000, pl.Int64) + i.cast(pl.Int64) * 43_200 + (r[0] % 25_000_000).cast(pl.Int64)
    base = pl.LazyFrame().select(
        event_id=pl.format("e{}", i + 1), e=i, n=(r[3] % 5).cast(pl.Int64),
        ts=(ts - 20_000_000).cast(pl.Datetime("us")).dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ"),
        user=pl.struct(id=(r[1] % 100_000).cast(pl.Int64) + 1, tier=_pick(["free", "silver", "gold"], r[2])))
    j = pl.col("e") * 8 + pl.col("k").cast(pl.UInt64)
    item = pl.struct(sku=pl.format("sku{}", _mix(j, seed, 200) % 500),
                     price=(_mix(j, seed, 201) % 10_000).cast(pl.Float64) / 100,
                     qty=(_mix(j, seed, 202) % 4).cast(pl.Int64) + 1)
    items = (base.select("e", k=pl.int_ranges(0, pl.col("n"))).explode("k").drop_nulls("k")
             .select("e", item=item).group_by("e").agg(items=pl.col("item")))
    empty = pl.lit([], dtype=pl.List(pl.Struct({"sku": pl.String, "price": pl.Float64, "qty": pl.Int64})))
    events = base.join(items, on="e", how="left").sort("e").select("event_id", "ts", "user",
                                                                     items=pl.col("items").fill_null(empty))
    temp = path.with_suffix(".tmp")
    events.collect().write_ndjson(temp)
    temp.rename(path)
    return path


def run_side(side: str, workload: str, data: Path, spec: Path, out: Path, batch_size: int) -> dict:
    if side == "flowc":
        command = [sys.executable, "-m", "flowc", "run", str(spec), "--reset", "--quiet"]
    else:
        command = [sys.executable, __file__, "--side", f"{side}_{workload}", str(data), str(out), str(spec),
                   str(batch_size)]
    return measure(command)


def compare(reference: Path, other: Path, keys: tuple[str, ...]) -> bool:
    """The same records in the same order of `keys` (Polars' by the output's order, not by sorting it
    again: flowc promises window_end then the by values); the other fields within a relative 1e-9."""
    want = [json.loads(line) for line in reference.read_text().splitlines()]
    got = [json.loads(line) for line in other.read_text().splitlines()]
    if len(keys) == 1:
        got.sort(key=lambda r: r[keys[0]])  # a global aggregate's order: by values
    if [[r[k] for k in keys] for r in want] != [[r[k] for k in keys] for r in got]:
        return False
    return all(w[k] == g[k] or abs(w[k] - g[k]) <= 1e-9 * max(abs(w[k]), 1.0)
               for w, g in zip(want, got, strict=True) for k in w if k not in keys)


WORKLOADS = {"w2": (SPEC, ("country",), "orders CSV rows"), "w3": (W3_SPEC, ("window_end", "tier"), "nested events")}


def bench(workload: str, rows: int, seed: int, batch_size: int, work: Path) -> bool:
    spec_text, keys, what = WORKLOADS[workload]
    data = cached(rows, seed) if workload == "w2" else events_jsonl(rows, seed)
    folder = work / workload
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{workload}.flow.yaml"
    spec.write_text(spec_text.format(state=folder / "state", batch=f", batch_size: {batch_size}", csv=data,
                                     out=folder / "flowc.jsonl"))
    sides = SIDES[workload]
    results = {side: run_side(side, workload, data, spec, folder / f"{side}.jsonl", batch_size) for side in sides}
    agree = {side: compare(folder / "polars.jsonl", folder / f"{side}.jsonl", keys) for side in sides[1:]}
    print(f"\n{workload.upper()} at {rows:,} {what}, batch size {batch_size:,}")
    print("| side | wall s | CPU s | rows/s | peak RSS MiB | / Polars (wall) | / Polars (CPU) |\n|---|---|---|---|---|---|---|")
    for side, m in results.items():
        ratio = m["wall"] / results["polars"]["wall"]
        cpu = m["cpu"] / results["polars"]["cpu"]
        print(f"| {side} | {m['wall']:.2f} | {m['cpu']:.2f} | {rows / m['wall']:,.0f} | {m['rss']:.0f} | {ratio:.2f} | {cpu:.2f} |")
    if "checked" in results:
        print(f"flowc / Polars with every value converted: wall {results['flowc']['wall'] / results['checked']['wall']:.2f}, "
              f"CPU {results['flowc']['cpu'] / results['checked']['cpu']:.2f}")
    print(f"outputs agree with Polars: {agree}")
    return all(agree.values())


def main() -> None:
    parser = argparse.ArgumentParser(description="W2/W3 benchmarks: aggregates, flowc against Polars")
    parser.add_argument("--rows", type=int, default=5_000_000, help="W2 orders (default 5M)")
    parser.add_argument("--events", type=int, default=2_000_000, help="W3 nested events (default 2M)")
    parser.add_argument("--workload", choices=("w2", "w3", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--work", type=Path, help="where outputs go (default: a temporary folder)")
    parser.add_argument("--side", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side, data, out, spec, batch_size = args.side
        sides = {"polars_w2": polars_w2, "checked_w2": checked_w2, "engine_w2": engine_w2, "polars_w3": polars_w3,
                 "engine_w3": engine_w3}
        sides[side](data, out, spec, int(batch_size))
        return
    print(machine())
    started = time.perf_counter()
    chosen = ("w2", "w3") if args.workload == "both" else (args.workload,)
    with tempfile.TemporaryDirectory(prefix="flowc-bench-") as temp:
        work = args.work or Path(temp)
        ok = [bench(w, args.rows if w == "w2" else args.events, args.seed, args.batch_size, work) for w in chosen]
    print(f"bench took {time.perf_counter() - started:.0f} s")
    if not all(ok):
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
