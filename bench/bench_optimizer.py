"""What the optimizer buys: `flowc run` against `flowc run --no-optimize` against one hand-written Polars query.

    python bench/bench_optimizer.py               # 5M rows
    python bench/bench_optimizer.py --rows 200000 # a quick run

Two jobs, each run three ways in fresh processes (wall time and peak RSS as bench_w1.py measures them),
plus the hand-written query doing the checks SPEC §3/§6 ask of flowc ("polars checked"), and the
source's fused query alone (`collect_batches` of `source_query`, no sinks) for both plans:

- wide: a 30-column CSV of which the pipeline reads 3 (`filter`, `map`, `select`); the 27 unread columns
  are declared `string` (attribute text), so `prune_columns` may leave them out of the scan.
- W1, with the filter written after the map: `map` (total, upper(country), domain) then `filter`;
  `push_filters` moves the filter below the map, into the source's fused query.

The optimized and unoptimized runs must write byte-identical files; the hand-written query's record
count must match. Data is generated once per (rows, seed) into `$FLOWC_BENCH_CACHE` (as gen_orders.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_w1 import ISO, W1_FILTER, W1_MAP, digest, machine, measure
from bench_w1 import polars_w1 as polars_w1_checked
from gen_orders import ORDERS_SOURCE, _mix, _pick, cached

WIDE_COLUMNS = 30
WIDE_SPEC = """version: 1
pipeline: wide
settings: {{state_dir: {state}}}
sources:
  wide:
    type: file
    path: {csv}
    schema: {{id: int, amount: float, status: string, {others}}}
steps:
  - filter: status == "paid"
  - map: {{total: amount * 1.1}}
  - select: [id, total]
sinks:
  out: {{type: file, path: {out}}}
"""
# W1 with the filter written after the map (the optimizer moves it back below the map)
W1_SPEC = ("version: 1\npipeline: w1\nsettings: {{state_dir: {state}}}\n" + ORDERS_SOURCE
           + "steps:\n" + W1_MAP + W1_FILTER + "sinks:\n  out: {{type: file, path: {out}}}\n")


def wide_csv(rows: int, seed: int) -> Path:
    folder = Path(os.environ.get("FLOWC_BENCH_CACHE", Path.home() / ".cache" / "flowc-bench"))
    path = folder / f"wide-{rows}-{seed}.csv"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    i = pl.int_range(rows, dtype=pl.UInt64)
    columns = {"id": (i + 1).cast(pl.Int64), "amount": ((_mix(i, seed, 0) % 100_000).cast(pl.Float64) / 100),
               "status": _pick(["paid", "open", "void"], _mix(i, seed, 1))}
    for k in range(WIDE_COLUMNS - 3):
        columns[f"attr{k:02d}"] = pl.format("v{}", _mix(i, seed, k + 2) % 10_000)
    temp = path.with_suffix(".tmp")
    pl.LazyFrame().select(**columns).sink_csv(temp, maintain_order=True)
    temp.replace(path)
    return path


def polars_wide(csv: str, out: str) -> None:
    schema = {"id": pl.Int64, "amount": pl.Float64, "status": pl.String,
              **{f"attr{k:02d}": pl.String for k in range(WIDE_COLUMNS - 3)}}
    (pl.scan_csv(csv, schema=schema).filter(pl.col("status") == "paid")
     .select("id", total=pl.col("amount") * 1.1).sink_ndjson(out, maintain_order=True, engine="streaming"))


def polars_wide_checked(csv: str, out: str) -> None:
    """The wide job with the checks SPEC §3 asks of flowc: every line has exactly the header's fields (a
    line with more is a record error: Polars sees extra fields only when it reads every column, so every
    column is read), and `id` and `amount` convert on every line, also where the filter drops it (a
    strict typed read fails the query on a text that does not). A short line (null fields) passes the
    filter, as a record error would go on to the error output, so the check is not pushed past it."""
    schema = {"id": pl.Int64, "amount": pl.Float64, "status": pl.String,
              **{f"attr{k:02d}": pl.String for k in range(WIDE_COLUMNS - 3)}}
    (pl.scan_csv(csv, schema=schema).filter((pl.col("status") == "paid") | pl.any_horizontal(pl.all().is_null()))
     .select("id", total=pl.col("amount") * 1.1).sink_ndjson(out, maintain_order=True, engine="streaming"))


def polars_w1(csv: str, out: str) -> None:
    dtypes = {"order_id": pl.Int64, "user_id": pl.Int64, "ts": pl.String, "status": pl.String, "amount": pl.Float64,
              "qty": pl.Int64, "country": pl.String, "email": pl.String}
    (pl.scan_csv(csv, schema=dtypes)
     .filter(pl.col("status").is_in(["paid", "shipped"]) & (pl.col("amount") > 10))
     .with_columns(total=pl.col("amount") * pl.col("qty"), country=pl.col("country").str.to_uppercase(),
                   domain=pl.col("email").str.extract("@(.*)$", 1),
                   ts=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us").dt.to_string(ISO))
     .sink_ndjson(out, maintain_order=True, engine="streaming"))


HAND = {"wide": polars_wide, "w1": polars_w1}
HAND_CHECKED = {"wide": polars_wide_checked, "w1": lambda csv, out: polars_w1_checked(csv, out, checked=True)}


def source_query_only(spec_path: str, optimize: str) -> None:
    """Consume the source's fused query alone (what scan pruning and pushed filters change), no sinks."""
    from datetime import UTC, datetime

    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_document
    from flowc.runtime.batching import source_query
    from flowc.runtime.run_setup import prepare

    document, _ = load_document(spec_path)
    spec, _ = normalize_spec(document)
    prepared = prepare(spec, document.text, optimize=optimize == "1")
    scan = prepared.plan.scans[0]
    raw = prepared.readers[scan.step].frame(prepared.schemas[scan.step], None, None)
    query = source_query(prepared.plan, scan, raw, datetime.now(UTC))
    for _ in query.frame.collect_batches(chunk_size=spec.settings.batch_size, maintain_order=True):
        pass


def run_job(name: str, csv: Path, spec_text: str, work: Path, repeat: int) -> dict:
    """Every side `repeat` times, interleaved; the fastest run of each counts (the machine is shared)."""
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    commands = {"polars": [sys.executable, __file__, "--hand", name, str(csv), str(folder / "polars.jsonl")],
                "polars checked": [sys.executable, __file__, "--hand-checked", name, str(csv),
                                   str(folder / "checked.jsonl")]}
    for side, flags in (("optimized", ()), ("no-optimize", ("--no-optimize",))):
        spec = folder / f"{side}.flow.yaml"
        spec.write_text(spec_text.format(state=folder / f"state-{side}", csv=csv, out=folder / f"{side}.jsonl",
                                         others=", ".join(f"attr{k:02d}: string" for k in range(WIDE_COLUMNS - 3))))
        commands[side] = [sys.executable, "-m", "flowc", "run", str(spec), "--reset", "--quiet", *flags]
    for side, flag in (("query optimized", "1"), ("query no-optimize", "0")):
        commands[side] = [sys.executable, __file__, "--query", str(folder / "optimized.flow.yaml"), flag]
    runs: dict[str, list[dict]] = {side: [] for side in commands}
    for _ in range(repeat):
        for side, command in commands.items():
            runs[side].append(measure(command))
    results: dict = {"job": name, **{side: min(r, key=lambda m: m["wall"]) for side, r in runs.items()}}
    results["same_output"] = digest(folder / "optimized.jsonl") == digest(folder / "no-optimize.jsonl")
    results["written"], results["polars_written"], results["checked_written"] = (
        _lines(folder / f"{s}.jsonl") for s in ("optimized", "polars", "checked"))
    return results


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def table(rows: int, results: list[dict]) -> str:
    lines = ["| job | run | wall s | records/s | peak RSS MiB | / hand-written Polars | / Polars checked |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        for side in ("polars", "polars checked", "no-optimize", "optimized", "query no-optimize", "query optimized"):
            m = r[side]
            lines.append(f"| {r['job']} | {side} | {m['wall']:.2f} | {rows / m['wall']:,.0f} | {m['rss']:.0f} | "
                         f"{m['wall'] / r['polars']['wall']:.2f} | {m['wall'] / r['polars checked']['wall']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="optimizer benchmark: flowc run, --no-optimize, hand-written Polars")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="where outputs go (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest counts")
    parser.add_argument("--hand", nargs=3, metavar=("JOB", "CSV", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--hand-checked", nargs=3, metavar=("JOB", "CSV", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--query", nargs=2, metavar=("SPEC", "OPTIMIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hand:
        HAND[args.hand[0]](*args.hand[1:])
        return
    if args.hand_checked:
        HAND_CHECKED[args.hand_checked[0]](*args.hand_checked[1:])
        return
    if args.query:
        source_query_only(*args.query)
        return
    print(machine(), f"fastest of {args.repeat}")
    started = time.perf_counter()
    jobs = [("wide", wide_csv(args.rows, args.seed), WIDE_SPEC), ("w1", cached(args.rows, args.seed), W1_SPEC)]
    with tempfile.TemporaryDirectory(prefix="flowc-bench-") as temp:
        results = [run_job(name, csv, spec, args.work or Path(temp), args.repeat) for name, csv, spec in jobs]
    print(table(args.rows, results))
    for r in results:
        print(f"{r['job']}: optimized / no-optimize {r['optimized']['wall'] / r['no-optimize']['wall']:.2f}; "
              f"optimized / Polars checked {r['optimized']['wall'] / r['polars checked']['wall']:.2f}; "
              f"outputs identical: {r['same_output']}; records {r['written']:,} (hand-written "
              f"{r['polars_written']:,}, checked {r['checked_written']:,})")
    print(f"bench took {time.perf_counter() - started:.0f} s")
    if not all(r["same_output"] and r["written"] == r["polars_written"] == r["checked_written"] for r in results):
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
