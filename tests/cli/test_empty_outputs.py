"""A file sink that receives no record still leaves a well-formed file of its format (SPEC §7): csv its
header row, parquet the sink's columns and types, json `[]`, jsonl an empty file; and a resumed run
leaves the same files as an uninterrupted one."""

from __future__ import annotations

import gzip
import textwrap
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from flowc.cli import cli

SINKS = """
sinks:
  c: {type: file, path: out/e.csv}
  cz: {type: file, path: out/e.csv.gz, format: csv, compression: gzip}
  r: {type: file, path: out/r.csv, rotate: {max_records: 2}}
  p: {type: file, path: out/e.parquet}
  j: {type: file, path: out/e.json}
  l: {type: file, path: out/e.jsonl}
"""
COLUMNS = {"a": pl.Int64, "b": pl.String, "t": pl.Datetime("us", "UTC"), "l": pl.List(pl.Int64)}


def _spec(folder: Path, records: str, batch_size: int = 100, sinks: str = SINKS) -> Path:
    spec = folder / "e.flow.yaml"
    spec.write_text(textwrap.dedent(f"""
    version: 1
    pipeline: e
    settings: {{batch_size: {batch_size}}}
    sources:
      s:
        type: inline
        schema: {{a: int, b: string, t: datetime, l: "list<int>"}}
        records: {records}
    steps:
      - filter: a > 5
    """) + sinks)
    return spec


def _run(spec: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["run", str(spec), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stderr


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "out").iterdir()) if not p.name.startswith(".")}


def test_every_format_leaves_a_well_formed_empty_file(tmp_path):
    _run(_spec(tmp_path, '[{a: 1, b: x, t: "2026-01-01T00:00:00Z", l: [1]}]'))
    out = tmp_path / "out"
    assert (out / "e.csv").read_bytes() == b"a,b,t,l\n"
    assert gzip.decompress((out / "e.csv.gz").read_bytes()) == b"a,b,t,l\n"
    assert (out / "r.000001.csv").read_bytes() == b"a,b,t,l\n"
    assert pl.read_parquet(out / "e.parquet").schema == pl.Schema(COLUMNS)
    assert (out / "e.json").read_bytes() == b"[]\n"
    assert (out / "e.jsonl").read_bytes() == b""
    assert sorted(_files(tmp_path)) == ["e.csv", "e.csv.gz", "e.json", "e.jsonl", "e.parquet", "r.000001.csv"]


def test_a_source_without_schema_gives_the_inferred_columns(tmp_path):
    (tmp_path / "in.csv").write_text("id,price\n1,2.5\n2,3.0\n")
    spec = tmp_path / "i.flow.yaml"
    spec.write_text(textwrap.dedent("""
    version: 1
    pipeline: i
    sources:
      s: {type: file, path: in.csv}
    steps:
      - filter: price > 100.0
      - map: {total: price * 2.0}
    sinks:
      c: {type: file, path: out/i.csv}
      p: {type: file, path: out/i.parquet}
    """))
    _run(spec)
    assert (tmp_path / "out" / "i.csv").read_bytes() == b"id,price,total\n"
    assert pl.read_parquet(tmp_path / "out" / "i.parquet").schema == pl.Schema(
        {"id": pl.Int64, "price": pl.Float64, "total": pl.Float64})


RECORDS = ('[{a: 1, b: x, t: "2026-01-01T00:00:00Z", l: [1]}, {a: 2, b: y, t: "2026-01-01T00:00:01Z", l: []},'
           ' {a: 9, b: z, t: "2026-01-01T00:00:02Z", l: [9]}, {a: 10, b: w, t: "2026-01-01T00:00:03Z", l: [1, 0]},'
           ' {a: 11, b: v, t: "2026-01-01T00:00:04Z", l: null}]')


def test_records_after_empty_batches_get_one_header_resumed_or_not(tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir()
    resumed.mkdir()
    _run(_spec(whole, RECORDS, batch_size=1))
    spec = _spec(resumed, RECORDS, batch_size=1)
    assert "--limit reached" in _run(spec, "--limit", "2")  # two batches, nothing written
    _run(spec)
    assert (whole / "out" / "e.csv").read_text().splitlines()[0] == "a,b,t,l"
    assert (whole / "out" / "e.csv").read_text().count("a,b,t,l") == 1
    assert _files(resumed).keys() == _files(whole).keys()
    for name, data in _files(whole).items():
        if name.endswith(".parquet"):
            assert pl.read_parquet(resumed / "out" / name).equals(pl.read_parquet(whole / "out" / name))
        else:
            assert _files(resumed)[name] == data, name


def test_a_resumed_run_that_sees_no_batch_leaves_the_same_empty_files(tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir()
    resumed.mkdir()
    two = '[{a: 1, b: x, t: "2026-01-01T00:00:00Z", l: [1]}, {a: 2, b: y, t: "2026-01-01T00:00:01Z", l: []}]'
    _run(_spec(whole, two, batch_size=1))
    spec = _spec(resumed, two, batch_size=1)
    _run(spec, "--limit", "1")
    _run(spec)
    assert _files(resumed) == _files(whole)
    assert _files(whole)["e.csv"] == b"a,b,t,l\n"
    assert pl.read_parquet(resumed / "out" / "e.parquet").schema == pl.Schema(COLUMNS)


def test_an_empty_dead_letter_csv_sink_has_the_header_of_every_errors_record(tmp_path):
    spec = tmp_path / "d.flow.yaml"
    spec.write_text(textwrap.dedent("""
    version: 1
    pipeline: d
    settings:
      on_error: dead_letter
      dead_letter: {type: file, path: out/dead.csv}
    sources:
      s: {type: inline, schema: {a: int}, records: [{a: 1}]}
    steps:
      - validate: {positive: a > 0}
    sinks:
      o: {type: file, path: out/o.jsonl}
    """))
    _run(spec)
    # the source's and the validate's .errors: the union of their records' columns (runtime/sinks/columns.py)
    assert (tmp_path / "out" / "dead.csv").read_bytes() == b"a,_error,_source\n"
