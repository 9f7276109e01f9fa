"""A record with no fields (a `drop` of every field) is still one record in every sink, and the written
count is what the file holds (acceptance audit: JSON lines, JSON and CSV files were left empty while
the log counted the records written): `{}` per line in JSON lines, `{}` per element in JSON, an empty
line in CSV (no header row: there are no names), a row of no columns in Parquet, `{}` on a jsonl
console."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from flowc.cli import cli


def _run(folder: Path, batch_size: int, sinks: str) -> tuple[str, str]:
    spec = folder / "d.flow.yaml"
    spec.write_text(textwrap.dedent(f"""
    version: 1
    pipeline: d
    settings: {{batch_size: {batch_size}}}
    sources:
      s:
        type: inline
        records: [{{a: 1, b: x}}, {{a: 2, b: y}}, {{a: 3, b: z}}]
    steps:
      - drop: [a, b]
    sinks:
    """) + textwrap.indent(textwrap.dedent(sinks), "  "))
    result = CliRunner().invoke(cli, ["run", str(spec)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout, result.stderr


FILES = """
l: {type: file, path: out/o.jsonl}
lz: {type: file, path: out/o.jsonl.gz, compression: gzip}
j: {type: file, path: out/o.json}
c: {type: file, path: out/o.csv}
p: {type: file, path: out/o.parquet}
"""


@pytest.mark.parametrize("batch_size", [1, 100])
def test_every_file_format_holds_one_record_per_record_with_no_fields(tmp_path, batch_size):
    _, log = _run(tmp_path, batch_size, FILES)
    out = tmp_path / "out"
    assert (out / "o.jsonl").read_bytes() == b"{}\n" * 3
    assert gzip.decompress((out / "o.jsonl.gz").read_bytes()) == b"{}\n" * 3
    assert json.loads((out / "o.json").read_text()) == [{}, {}, {}]
    assert (out / "o.csv").read_bytes() == b"\n" * 3
    assert pl.read_parquet(out / "o.parquet").shape == (3, 0)
    for sink in ("l", "lz", "j", "c", "p"):
        assert f"written {sink}=3" in log, log


def test_rotation_counts_records_with_no_fields(tmp_path):
    _run(tmp_path, 100, "l: {type: file, path: out/o.jsonl, rotate: {max_records: 2}}\n")
    files = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert files == ["o.000001.jsonl", "o.000002.jsonl"]
    assert (tmp_path / "out" / "o.000001.jsonl").read_bytes() == b"{}\n{}\n"
    assert (tmp_path / "out" / "o.000002.jsonl").read_bytes() == b"{}\n"


def test_a_jsonl_console_prints_an_empty_object_per_record(tmp_path):
    stdout, log = _run(tmp_path, 2, "k: {type: console, format: jsonl}\n")
    assert stdout.splitlines() == ["{}"] * 3
    assert "written k=3" in log


@pytest.mark.parametrize("batch_size", [1, 100])
def test_sources_whose_records_have_no_fields_still_deliver_them(tmp_path, batch_size):
    """`inline: [{}, {}]` read 2 and wrote 0 (a frame of no columns has no rows), and a JSON lines file
    of `{}` lines failed with Polars' OutOfBoundsError."""
    (tmp_path / "e.jsonl").write_text("{}\n{}\n\n{}\n")
    spec = tmp_path / "e.flow.yaml"
    spec.write_text(textwrap.dedent(f"""\
        version: 1
        pipeline: e
        settings: {{batch_size: {batch_size}}}
        sources:
          s: {{type: inline, records: [{{}}, {{}}]}}
          j: {{type: file, path: e.jsonl}}
        steps:
          - {{name: both, union: [s, j]}}
          - map: {{k: 1}}
        sinks:
          o: {{type: file, path: o.jsonl}}
        """))
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.jsonl").read_text() == '{"k":1}\n' * 5  # the blank line holds no record
