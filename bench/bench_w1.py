"""W1: filter + map of an orders CSV to JSONL, `flowc run` against the same job as one Polars query.

    python bench/bench_w1.py                 # 5M rows, and 1M rows for the memory check
    python bench/bench_w1.py --rows 200000   # a quick run (the memory check then uses rows / 5)
    python bench/bench_w1.py --quoted        # the CSV with every text field in quotes
    python bench/bench_w1.py --repeat 5      # five rounds of the three sides; medians

Each side runs in a fresh process, started by a fresh launcher process that reports the child's wall
time and peak RSS (`getrusage(RUSAGE_CHILDREN).ru_maxrss` of the launcher: only that child was
waited for). The data is generated once per (rows, seed) into a cache folder outside the repository
(`$FLOWC_BENCH_CACHE`, default `~/.cache/flowc-bench`). The two outputs must be byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_orders import ORDERS_SOURCE, cached

ISO = "%Y-%m-%dT%H:%M:%S%.6fZ"
W1_FILTER = '  - filter: status in ("paid", "shipped") and amount > 10\n'
W1_MAP = """  - map:
      total: amount * qty
      country: upper(country)
      domain: regex_extract(email, "@(.*)$", 1)
"""
SPEC = ("version: 1\npipeline: w1\nsettings: {{state_dir: {state}{batch}}}\n" + ORDERS_SOURCE
        + "steps:\n" + W1_FILTER + W1_MAP + "sinks:\n  out: {{type: file, path: {out}}}\n")


def polars_w1(csv: str, out: str, checked: bool = False) -> None:
    """The same job written by hand: one lazy query, streaming engine, `sink_ndjson`.

    `checked`: every record's values converted before the filter, as SPEC §3/§6 ask of flowc (a value
    that does not convert is a record error even in a record the filter drops); by hand, Polars
    pushes the filter first and parses `ts` only for the 39% of records it keeps."""
    import polars as pl

    dtypes = {"order_id": pl.Int64, "user_id": pl.Int64, "ts": pl.String, "status": pl.String, "amount": pl.Float64,
              "qty": pl.Int64, "country": pl.String, "email": pl.String}
    keep = pl.col("status").is_in(["paid", "shipped"]) & (pl.col("amount") > 10)
    (pl.scan_csv(csv, schema=dtypes)
     .with_columns(ts=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us", strict=not checked))
     .filter(keep | pl.col("ts").is_null() if checked else keep)
     .with_columns(total=pl.col("amount") * pl.col("qty"), country=pl.col("country").str.to_uppercase(),
                   domain=pl.col("email").str.extract("@(.*)$", 1))
     .with_columns(ts=pl.col("ts").dt.to_string(ISO))
     .sink_ndjson(out, maintain_order=True, engine="streaming"))


def measure(command: list[str]) -> dict:
    """Run `command` from a fresh launcher process: its wall time, CPU time, peak RSS (MiB) and peak
    anonymous RSS (MiB, sampled every 20 ms from /proc: without the input file's mapped pages, which
    Polars' CSV reader maps and which count in the RSS of both sides)."""
    launcher = ("import json, resource, subprocess, sys, time\n"
                "def anon(pid):\n"
                "    try:\n"
                "        text = open(f'/proc/{pid}/status').read()\n"
                "    except OSError:\n"
                "        return 0\n"
                "    return max([int(x.split()[1]) for x in text.splitlines() if x.startswith('RssAnon:')] + [0])\n"
                "t = time.perf_counter(); child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
                "peak = 0\n"
                "while child.poll() is None:\n"
                "    peak = max(peak, anon(child.pid)); time.sleep(0.02)\n"
                "wall = time.perf_counter() - t\n"
                "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
                "print(json.dumps({'code': child.returncode, 'wall': wall, 'rss': usage.ru_maxrss / 1024,\n"
                "                  'anon': peak / 1024, 'cpu': usage.ru_utime + usage.ru_stime}))\n")
    # Bytecode caches as an installed flowc has them (this sandbox sets PYTHONDONTWRITEBYTECODE, which
    # would make every flowc start compile its ~100 modules again, about 0.5 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # Each side starts with no dirty pages of the side before: flowc syncs its output every batch (SPEC
    # §7), and on ext4 an fsync can wait for the ~400 MB another side wrote and never synced.
    os.sync()
    done = subprocess.run([sys.executable, "-c", launcher, *command], capture_output=True, text=True, check=True,
                          env=env)
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{command} exited {result['code']}")
    return result


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            sha.update(chunk)
    return sha.hexdigest()


def run_size(rows: int, seed: int, batch_size: int | None, work: Path, quoted: bool = False, repeat: int = 1) -> dict:
    """Each side measured `repeat` times, the sides in turn in each round (a shared machine's speed drifts
    over minutes: a round compares the sides at one speed); each side's median run."""
    csv = cached(rows, seed, quoted=quoted)
    folder = work / f"w1-{rows}"
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "w1.flow.yaml"
    batch = f", batch_size: {batch_size}" if batch_size else ""
    spec.write_text(SPEC.format(state=folder / "state", batch=batch, csv=csv, out=folder / "flowc.jsonl"))
    commands = {"flowc": [sys.executable, "-m", "flowc", "run", str(spec), "--reset", "--quiet"],
                "polars": [sys.executable, __file__, "--polars-only", str(csv), str(folder / "polars.jsonl")],
                "polars checked": [sys.executable, __file__, "--polars-checked", str(csv), str(folder / "checked.jsonl")]}
    rounds = [{side: measure(command) for side, command in commands.items()} for _ in range(repeat)]
    same = digest(folder / "flowc.jsonl") == digest(folder / "polars.jsonl") == digest(folder / "checked.jsonl")
    with open(folder / "flowc.jsonl", "rb") as written:
        records = sum(1 for _ in written)
    return {"rows": rows, **{side: median_run([r[side] for r in rounds]) for side in commands},
            "ratios": [r["flowc"]["wall"] / r["polars"]["wall"] for r in rounds], "same_output": same,
            "written": records}


def median_run(runs: list[dict]) -> dict:
    """The run of median wall time (the lower middle one of an even number)."""
    return sorted(runs, key=lambda run: run["wall"])[(len(runs) - 1) // 2]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import polars

    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, Polars {polars.__version__}, "
            f"load average {os.getloadavg()[0]:.1f} at the start")


def table(results: list[dict]) -> str:
    lines = ["| rows | side | wall s | CPU s | records/s | peak RSS MiB | peak anon RSS MiB | flowc / Polars (wall) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for side in ("polars", "polars checked", "flowc"):
            m = r[side]
            ratio = f"{r['flowc']['wall'] / r['polars']['wall']:.2f}" if side == "flowc" else ""
            lines.append(f"| {r['rows']:,} | {side} | {m['wall']:.2f} | {m['cpu']:.2f} | {r['rows'] / m['wall']:,.0f} | {m['rss']:.0f} "
                         f"| {m['anon']:.0f} "
                         f"| {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="W1 benchmark: flowc run against one Polars query")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small-rows", type=int, help="the size of the memory check (default rows / 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, help="settings.batch_size (default: the spec default)")
    parser.add_argument("--work", type=Path, help="where outputs go (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print the raw measurements as JSON too")
    parser.add_argument("--quoted", action="store_true", help="the CSV with every text field in quotes")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three sides (medians reported)")
    parser.add_argument("--polars-only", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--polars-checked", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.polars_only or args.polars_checked:
        polars_w1(*(args.polars_only or args.polars_checked), checked=bool(args.polars_checked))
        return
    print(machine())
    with tempfile.TemporaryDirectory(prefix="flowc-bench-") as temp:
        work = args.work or Path(temp)
        small = args.small_rows or max(args.rows // 5, 1)
        started = time.perf_counter()
        results = [run_size(rows, args.seed, args.batch_size, work, args.quoted, args.repeat)
                   for rows in (args.rows, small)]
    print(table(results))
    big, little = results
    ratio = big["flowc"]["wall"] / big["polars"]["wall"]
    cpu_ratio = big["flowc"]["cpu"] / big["polars"]["cpu"]
    print(f"flowc / Polars at {big['rows']:,} rows: wall {ratio:.2f}, CPU {cpu_ratio:.2f} (goal <= 1.25)")
    if args.repeat > 1:
        rounds = sorted(big["ratios"])
        print(f"flowc / Polars (wall) per round at {big['rows']:,} rows: {', '.join(f'{r:.2f}' for r in big['ratios'])}; "
              f"median {rounds[(len(rounds) - 1) // 2]:.2f}")
    checked = big["polars checked"]
    print(f"flowc / Polars with every value converted before the filter: wall {big['flowc']['wall'] / checked['wall']:.2f}, "
          f"CPU {big['flowc']['cpu'] / checked['cpu']:.2f}")
    for key, what in (("rss", "peak RSS"), ("anon", "peak anonymous RSS")):
        print(f"{what} {big['rows']:,} / {little['rows']:,} rows: flowc {big['flowc'][key] / little['flowc'][key]:.2f}, "
              f"Polars {big['polars'][key] / little['polars'][key]:.2f} (goal for flowc <= 1.2)")
    print(f"outputs identical: {all(r['same_output'] for r in results)} ({big['written']:,} and {little['written']:,} "
          f"records); bench took {time.perf_counter() - started:.0f} s")
    if args.json:
        print(json.dumps(results))
    if not all(r["same_output"] for r in results):
        raise SystemExit("the outputs differ")


if __name__ == "__main__":
    main()
