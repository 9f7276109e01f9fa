"""W2: the W1 orders filtered and mapped, then grouped by country (count, sum, avg, min, max).

    python bench/bench_aggregate.py                 # 5M rows
    python bench/bench_aggregate.py --rows 200000   # a quick run

Three sides, each in a fresh process started by a launcher that reports its wall time and peak RSS:

- `polars`: the job written by hand as one lazy query (streaming engine), the reference;
- `engine`: the same filter and map as a hand-written lazy query read in micro-batches with
  `collect_batches(batch_size)`, each batch fed to the aggregate engine
  (`flowc.runtime.stateful.aggregate.build` on the plan the compiler makes from the spec): the
  engine's own cost on top of micro-batching;
- `flowc`: `flowc run` of the spec (reading, checkpoints, event log, sink, start-up included).

The data is the seeded orders CSV of `gen_orders.py`, cached outside the repository. The three
outputs must agree (counts exactly, floats within a relative 1e-9: partial sums are added in
another order than one pass).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_w1 import machine, measure
from gen_orders import cached

SPEC = """version: 1
pipeline: w2
settings: {{state_dir: {state}{batch}}}
sources:
  orders:
    type: file
    path: {csv}
    schema: {{order_id: int, user_id: int, ts: datetime, status: string, amount: float, qty: int, country: string,
             email: string}}
steps:
  - filter: status in ("paid", "shipped") and amount > 10
  - map:
      total: amount * qty
  - aggregate:
      by: [country]
      compute: {{orders: count(), revenue: sum(total), avg_total: avg(total), min_total: min(total),
                max_total: max(total)}}
sinks:
  out: {{type: file, path: {out}}}
"""
SIDES = ("polars", "engine", "flowc")


def _filtered(csv: str):
    import polars as pl

    dtypes = {"order_id": pl.Int64, "user_id": pl.Int64, "ts": pl.String, "status": pl.String, "amount": pl.Float64,
              "qty": pl.Int64, "country": pl.String, "email": pl.String}
    return (pl.scan_csv(csv, schema=dtypes)
            .filter(pl.col("status").is_in(["paid", "shipped"]) & (pl.col("amount") > 10))
            .select("country", total=pl.col("amount") * pl.col("qty")))


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

    from flowc.compiler import ir
    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_document
    from flowc.runtime.run_setup import prepare
    from flowc.runtime.stateful.aggregate import build

    document, _ = load_document(spec)
    parsed, _ = normalize_spec(document)
    plan = prepare(parsed, document.text).plan
    node = next(n for n in plan.nodes if isinstance(n, ir.Aggregate))
    engine = build(node, plan)
    for batch in _filtered(csv).collect_batches(chunk_size=batch_size, maintain_order=True):
        engine.process(batch)
    result = engine.end_of_input().output
    assert result is not None
    result.drop(pl.selectors.starts_with("__flowc")).write_ndjson(out)


def run_side(side: str, csv: Path, spec: Path, out: Path, batch_size: int) -> dict:
    if side == "flowc":
        command = [sys.executable, "-m", "flowc", "run", str(spec), "--reset", "--quiet"]
    else:
        command = [sys.executable, __file__, "--side", side, str(csv), str(out), str(spec), str(batch_size)]
    return measure(command)


def compare(reference: Path, other: Path) -> bool:
    """Same countries and counts; floats within a relative 1e-9."""
    want = [json.loads(line) for line in reference.read_text().splitlines()]
    got = sorted((json.loads(line) for line in other.read_text().splitlines()), key=lambda r: r["country"])
    if [(r["country"], r["orders"]) for r in want] != [(r["country"], r["orders"]) for r in got]:
        return False
    return all(abs(w[k] - g[k]) <= 1e-9 * max(abs(w[k]), 1.0) for w, g in zip(want, got, strict=True)
               for k in ("revenue", "avg_total", "min_total", "max_total"))


def main() -> None:
    parser = argparse.ArgumentParser(description="W2 benchmark: group by after filter+map, flowc against Polars")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=100_000)
    parser.add_argument("--work", type=Path, help="where outputs go (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print the raw measurements as JSON too")
    parser.add_argument("--side", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side, csv, out, spec, batch_size = args.side
        {"polars": polars_w2, "engine": engine_w2}[side](csv, out, spec, int(batch_size))
        return
    print(machine())
    started = time.perf_counter()
    csv = cached(args.rows, args.seed)
    with tempfile.TemporaryDirectory(prefix="flowc-bench-") as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        spec = work / "w2.flow.yaml"
        spec.write_text(SPEC.format(state=work / "state", batch=f", batch_size: {args.batch_size}", csv=csv,
                                    out=work / "flowc.jsonl"))
        results = {side: run_side(side, csv, spec, work / f"{side}.jsonl", args.batch_size) for side in SIDES}
        agree = {side: compare(work / "polars.jsonl", work / f"{side}.jsonl") for side in SIDES[1:]}
    print(f"W2 at {args.rows:,} rows, batch size {args.batch_size:,}")
    print("| side | wall s | rows/s | peak RSS MiB | / Polars |\n|---|---|---|---|---|")
    for side, m in results.items():
        ratio = m["wall"] / results["polars"]["wall"]
        print(f"| {side} | {m['wall']:.2f} | {args.rows / m['wall']:,.0f} | {m['rss']:.0f} | {ratio:.2f} |")
    print(f"outputs agree with Polars: {agree}; bench took {time.perf_counter() - started:.0f} s")
    if args.json:
        print(json.dumps({"rows": args.rows, "batch_size": args.batch_size, "results": results, "agree": agree}))
    if not all(agree.values()):
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
