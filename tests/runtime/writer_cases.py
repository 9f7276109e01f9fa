"""Shared helpers for the file sink writer tests: record frames, whole-run drivers, output comparison."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from flowc.runtime.sinks import FileSinkWriter

# (format, compression, extension)
CASES = [
    ("jsonl", None, "jsonl"), ("jsonl", "gzip", "jsonl.gz"), ("csv", None, "csv"), ("csv", "gzip", "csv.gz"),
    ("json", None, "json"), ("json", "gzip", "json.gz"), ("parquet", None, "parquet"),
    ("parquet", "zstd", "parquet"), ("parquet", "snappy", "parquet"),
]
SCHEMA = {"id": pl.Int64, "text": pl.String, "amount": pl.Float64, "ts": pl.Datetime("us"),
          "tags": pl.List(pl.String), "user": pl.Struct({"tier": pl.String, "seen": pl.Datetime("us")})}
EPOCH = datetime(2026, 1, 1)


def frame(rows: Sequence[tuple[int, str | None, float | None, int | None]]) -> pl.DataFrame:
    """Records from (id, text, amount, seconds) tuples; nested fields derived from them."""
    return pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "text": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "ts": [None if r[3] is None else EPOCH + timedelta(seconds=r[3], microseconds=r[0]) for r in rows],
            "tags": [None if r[1] is None else r[1].split(",") for r in rows],
            "user": [None if r[3] is None else {"tier": r[1], "seen": EPOCH + timedelta(days=r[0] % 7)}
                     for r in rows],
        },
        schema=SCHEMA,
    )


def run(path: Path, fmt: str, compression: str | None, rotate: dict[str, int] | None,
        records: pl.DataFrame, cuts: Sequence[int]) -> dict[str, Any]:
    """An uninterrupted run writing `records` in batches ending at `cuts`; returns the final position."""
    writer = FileSinkWriter(path, fmt, compression, rotate)
    writer.restore(None)
    write_batches(writer, records, cuts)
    final = writer.close()
    writer.release(final)
    return final


def write_batches(writer: FileSinkWriter, records: pl.DataFrame, cuts: Sequence[int]) -> None:
    start = 0
    for end in [*sorted(set(cuts)), records.height]:
        if end >= start:
            writer.write(records.slice(start, end - start))
            start = end


def outputs(folder: Path) -> dict[str, bytes]:
    """Every entry of `folder` (leftover staging folders included, as a marker)."""
    if not folder.exists():
        return {}
    return {p.name: b"<folder>" if p.is_dir() else p.read_bytes() for p in sorted(folder.iterdir())}


def assert_same_output(actual: Path, expected: Path, fmt: str, compression: str | None) -> None:
    """Byte for byte, except where the format cannot promise it: gzip members follow the batches
    (compare the decompressed bytes) and Parquet's encoding is Polars' business (compare frames)."""
    got, want = outputs(actual), outputs(expected)
    assert list(got) == list(want)
    for name in want:
        if fmt == "parquet":
            assert_frame_equal(pl.read_parquet(actual / name), pl.read_parquet(expected / name))
        elif compression == "gzip" and fmt != "json":
            assert gzip.decompress(got[name]) == gzip.decompress(want[name]), name
        else:
            assert got[name] == want[name], name


def read_back(path: Path, fmt: str, compression: str | None) -> list[Any]:
    raw = path.read_bytes()
    if compression == "gzip":
        raw = gzip.decompress(raw)
    if fmt == "jsonl":
        return [json.loads(line) for line in raw.decode().splitlines()]
    if fmt == "json":
        return json.loads(raw)
    if fmt == "csv":
        return pl.read_csv(raw, infer_schema=False).rows(named=True)
    return pl.read_parquet(path).rows(named=True)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
