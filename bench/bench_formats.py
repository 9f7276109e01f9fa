"""Memory in file size, format by format: W1's filter and map over the orders in each input format
`flowc run` reads in bounded pieces, at two sizes, beside the same job as one Polars query.

    python bench/bench_formats.py                      # 5M and 1M rows, every format (~3 min)
    python bench/bench_formats.py --rows 1000000       # 1M and 200k rows
    python bench/bench_formats.py --formats parquet gz

Formats: `csv` (the fast reading), `exact` (the CSV with a malformed 5th line, so the exact reading
reads the rest; `on_error: skip`), `gz` (the CSV gzipped, `gzip -1`), `jsonl`, `parquet` (zstd, as
Polars writes it). Each input is derived from the seeded orders CSV (`gen_orders.cached`) once and
cached beside it. The goal (issue 3): flowc's peak RSS at the large size within 1.2x of the small.
The Polars side reads the same file with `scan_*` and the same filter and map (plain, not checked:
its memory is the point here, not its speed).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_w1 import W1_FILTER, W1_MAP, machine, measure
from gen_orders import cached

FORMATS = ("csv", "exact", "gz", "jsonl", "parquet")
SCHEMA = ("{order_id: int, user_id: int, ts: datetime, status: string, amount: float, qty: int, country: string, "
          "email: string}")
SPEC = ("version: 1\npipeline: formats\nsettings: {{state_dir: {state}, on_error: skip}}\n"
        "sources:\n  orders: {{type: file, path: {path}, schema: " + SCHEMA.replace("{", "{{").replace("}", "}}")
        + "}}\n"
        "steps:\n" + W1_FILTER + W1_MAP + "sinks:\n  out: {{type: file, path: {out}}}\n")


def derived(rows: int, seed: int, fmt: str) -> Path:
    """The orders in format `fmt`, made from the CSV once and cached beside it."""
    import polars as pl

    csv = cached(rows, seed)
    if fmt == "csv":
        return csv
    path = csv.with_name(f"{csv.stem}.{ {'exact': 'bad.csv', 'gz': 'csv.gz'}.get(fmt, fmt) }")
    if path.exists():
        return path
    temp = path.with_name(path.name + ".tmp")
    if fmt == "exact":
        with open(csv, "rb") as source, open(temp, "wb") as out:
            for number, line in enumerate(source):
                out.write(b"not,an,order\n" if number == 5 else line)
    elif fmt == "gz":
        with open(csv, "rb") as source, gzip.open(temp, "wb", compresslevel=1) as out:
            shutil.copyfileobj(source, out, 1 << 22)
    elif fmt == "jsonl":
        pl.scan_csv(csv, infer_schema=False).sink_ndjson(temp)
    else:
        pl.scan_csv(csv).sink_parquet(temp)
    temp.replace(path)
    return path


def polars_side(path: str, fmt: str, out: str) -> None:
    import polars as pl

    if fmt == "parquet":
        frame = pl.scan_parquet(path)
    elif fmt == "jsonl":
        frame = pl.scan_ndjson(path)
    else:
        frame = pl.scan_csv(path, infer_schema=False, ignore_errors=True, truncate_ragged_lines=True)
    amount = pl.col("amount").cast(pl.Float64, strict=False)
    (frame.filter(pl.col("status").is_in(["paid", "shipped"]) & (amount > 10))
     .with_columns(total=amount * pl.col("qty").cast(pl.Int64, strict=False),
                   country=pl.col("country").str.to_uppercase(), domain=pl.col("email").str.extract("@(.*)$", 1))
     .sink_ndjson(out, engine="streaming"))


def run_format(fmt: str, rows: int, seed: int, work: Path) -> dict:
    path = derived(rows, seed, fmt)
    folder = work / f"{fmt}-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "f.flow.yaml"
    spec.write_text(SPEC.format(state=folder / "state", path=path, out=folder / "flowc.jsonl"))
    flowc = measure([sys.executable, "-m", "flowc", "run", str(spec), "--reset", "--quiet"])
    polars = measure([sys.executable, __file__, "--polars-side", str(path), fmt, str(folder / "polars.jsonl")])
    return {"format": fmt, "rows": rows, "bytes": path.stat().st_size, "flowc": flowc, "polars": polars}


def main() -> None:
    parser = argparse.ArgumentParser(description="Peak RSS against file size, per input format")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--polars-side", nargs=3, metavar=("PATH", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.polars_side:
        polars_side(*args.polars_side)
        return
    print(machine())
    small = max(args.rows // 5, 1)
    started = time.perf_counter()
    lines = ["| format | rows | file MiB | flowc wall s | flowc peak RSS MiB | Polars wall s | Polars peak RSS MiB |",
             "|---|---|---|---|---|---|---|"]
    ratios = []
    with tempfile.TemporaryDirectory(prefix="flowc-bench-") as temp:
        for fmt in args.formats:
            big, little = (run_format(fmt, rows, args.seed, Path(temp)) for rows in (args.rows, small))
            for r in (big, little):
                lines.append(f"| {fmt} | {r['rows']:,} | {r['bytes'] / 2**20:.0f} | {r['flowc']['wall']:.2f} | "
                             f"{r['flowc']['rss']:.0f} | {r['polars']['wall']:.2f} | {r['polars']['rss']:.0f} |")
            ratios.append(f"{fmt}: flowc {big['flowc']['rss'] / little['flowc']['rss']:.2f}, "
                          f"Polars {big['polars']['rss'] / little['polars']['rss']:.2f}")
    print("\n".join(lines))
    print(f"peak RSS {args.rows:,} / {small:,} rows (goal for flowc <= 1.2): " + "; ".join(ratios))
    print(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
