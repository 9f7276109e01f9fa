"""SPEC §1: `batch_size` is records per micro-batch. A batch is one chunk of the source's records, read
at most `batch_size`, even when a filter fused into the source query keeps none of them: 10 records at
`batch_size: 3` are batches reading 3, 3, 3, 1 whatever the filter keeps (a kept-nothing chunk used to
fold into the next batch, which then read 6)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from flowc.cli import cli

RECORDS = [{"id": i, "keep": i in (0, 7)} for i in range(10)]


def write_input(folder: Path, kind: str) -> str:
    frame = pl.DataFrame(RECORDS)
    if kind == "csv":
        frame.write_csv(folder / "in.csv")
        return "{type: file, path: in.csv, schema: {id: int, keep: bool}}"
    if kind == "jsonl":
        (folder / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
        return "{type: file, path: in.jsonl, schema: {id: int, keep: bool}}"
    if kind == "json":
        (folder / "in.json").write_text(json.dumps(RECORDS, indent=1))
        return "{type: file, path: in.json, schema: {id: int, keep: bool}}"
    if kind == "parquet":
        frame.write_parquet(folder / "in.parquet")
        return "{type: file, path: in.parquet}"
    if kind == "inline":
        return "{type: inline, records: " + json.dumps(RECORDS) + "}"
    return "{type: generate, count: 10, fields: {id: _n, keep: _n == 0 or _n == 7}}"


def batches(folder: Path) -> list[tuple[int, int]]:
    events = [json.loads(x) for x in (folder / ".flow/b/events.log").read_text().splitlines()]
    return [(e["data"]["counts"]["read"], e["data"]["counts"]["written"]["o"])
            for e in events if e["type"] == "batch_committed"]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "json", "parquet", "inline", "generate"])
def test_each_batch_reads_at_most_batch_size_records_whatever_a_filter_keeps(tmp_path, kind):
    source = write_input(tmp_path, kind)
    spec = tmp_path / "b.flow.yaml"
    spec.write_text(f"version: 1\npipeline: b\nsettings: {{batch_size: 3}}\nsources:\n  s: {source}\n"
                    "steps:\n  - filter: keep\nsinks:\n  o: {type: file, path: out.jsonl}\n")
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 0, result.output
    assert batches(tmp_path) == [(3, 1), (3, 0), (3, 1), (1, 0)]
    assert [json.loads(x)["id"] for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [0, 7]


def test_a_limited_run_then_a_resumed_one_keep_to_chunks(tmp_path):
    source = write_input(tmp_path, "csv")
    spec = tmp_path / "b.flow.yaml"
    spec.write_text(f"version: 1\npipeline: b\nsettings: {{batch_size: 3}}\nsources:\n  s: {source}\n"
                    "steps:\n  - filter: keep\nsinks:\n  o: {type: file, path: out.jsonl}\n")
    assert CliRunner().invoke(cli, ["run", str(spec), "--quiet", "--limit", "4"]).exit_code == 0
    assert CliRunner().invoke(cli, ["run", str(spec), "--quiet"]).exit_code == 0
    assert batches(tmp_path) == [(3, 1), (1, 0), (3, 0), (3, 1)]  # the resumed run chunks from row 4
    assert [json.loads(x)["id"] for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [0, 7]
