"""A seeded orders CSV for the W1 benchmark: the same bytes for the same (rows, seed), on any machine.

    python bench/gen_orders.py --rows 5000000 --out ~/.cache/flowc-bench/orders-5000000-7.csv

Columns: order_id, user_id, ts, status, amount (about 2% empty), qty, country, email. The values come
from an integer mixer evaluated by Polars (wrapping UInt64 arithmetic), so generating 5M rows takes a
few seconds and needs no random-number library whose streams could change between versions.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import polars as pl

STATUSES = ["paid", "shipped", "pending", "cancelled", "refunded"]
COUNTRIES = ["us", "de", "fr", "gb", "jp", "br", "in", "es", "it", "nl", "se", "pl"]
DOMAINS = ["example.com", "mail.test", "shop.example.org", "corp.test", "post.example.net"]
# The orders file as a flowc source, a fragment of the benchmarks' spec templates (`str.format`: `{csv}`
# is the file's path, braces doubled), next to the generator that decides its columns.
ORDERS_SOURCE = """sources:
  orders:
    type: file
    path: {csv}
    schema: {{order_id: int, user_id: int, ts: datetime, status: string, amount: float, qty: int, country: string,
              email: string}}
"""
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # splitmix64's multipliers


def _mix(index: pl.Expr, seed: int, stream: int) -> pl.Expr:
    """A well-mixed UInt64 per row: splitmix64's finaliser (x >> k written as x // 2**k)."""
    x = index * pl.lit(0x9E3779B97F4A7C15, pl.UInt64) + pl.lit((seed * 1_000_003 + stream) % 2**64, pl.UInt64)
    x = (x ^ (x // 2**30)) * pl.lit(_M1, pl.UInt64)
    x = (x ^ (x // 2**27)) * pl.lit(_M2, pl.UInt64)
    return x ^ (x // 2**31)


def _pick(values: list[str], r: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values)).get((r % len(values)).cast(pl.Int64))


def orders(rows: int, seed: int) -> pl.LazyFrame:
    i = pl.int_range(rows, dtype=pl.UInt64)
    r = [_mix(i, seed, k) for k in range(8)]
    start = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds
    amount = ((r[2] % 100_000).cast(pl.Float64) / 100).round(2)
    return pl.LazyFrame().select(
        order_id=(i + 1).cast(pl.Int64),
        user_id=(r[0] % 200_000).cast(pl.Int64) + 1,
        ts=(pl.lit(start, pl.Int64) + (r[1] % 31_536_000_000_000).cast(pl.Int64)).cast(pl.Datetime("us"))
        .dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ"),
        status=_pick(STATUSES, r[3]),
        amount=pl.when(r[4] % 50 == 0).then(None).otherwise(amount),
        qty=(r[5] % 9).cast(pl.Int64) + 1,
        country=_pick(COUNTRIES, r[6]),
        email=pl.format("user{}@{}", (r[0] % 200_000) + 1, _pick(DOMAINS, r[7])),
    )


def cached(rows: int, seed: int = 7, cache: Path | None = None, quoted: bool = False) -> Path:
    """The path of the orders CSV for (rows, seed), generated on first use. `quoted`: every text field
    in quotes, as many CSV writers put them (`quote_style="non_numeric"`)."""
    folder = cache or Path(os.environ.get("FLOWC_BENCH_CACHE", Path.home() / ".cache" / "flowc-bench"))
    path = folder / f"orders-{'quoted-' if quoted else ''}{rows}-{seed}.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".tmp")
        orders(rows, seed).sink_csv(temp, maintain_order=True, quote_style="non_numeric" if quoted else "necessary")
        temp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write here instead of the cache")
    args = parser.parse_args()
    if args.out:
        orders(args.rows, args.seed).sink_csv(args.out, maintain_order=True)
        print(args.out)
    else:
        print(cached(args.rows, args.seed))


if __name__ == "__main__":
    main()
