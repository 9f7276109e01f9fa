"""SPEC §9: a resumed spec may change a stateless step, and so the columns a sink writes. A csv file has
one header row and a parquet file one schema: a rotated sink finishes the file in progress and starts
its next one; a sink of one file refuses the resume, naming the sink and the change (audit4 F10)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from click.testing import CliRunner

from flowc.cli import cli

SPEC = """\
version: 1
pipeline: sc
settings: {batch_size: 2}
sources:
  g:
    type: generate
    count: 7
    fields: {id: _n}
steps:
  - map: MAP
sinks:
SINKS"""


def _run(folder: Path, map_: str, sinks: dict[str, str], *args: str) -> object:
    spec = folder / "sc.flow.yaml"
    lines = "".join(f"  {name}: {{type: file, path: {path}}}\n" for name, path in sinks.items())
    spec.write_text(SPEC.replace("MAP", map_).replace("SINKS", lines))
    return CliRunner().invoke(cli, ["run", str(spec), "--quiet", *args])


def _first_then(folder: Path, before: str, after: str, sinks: dict[str, str]) -> object:
    first = _run(folder, before, sinks, "--limit", "2")
    assert first.exit_code == 0, first.output
    return _run(folder, after, sinks)


def test_a_csv_sink_refuses_a_resume_that_adds_a_column(tmp_path):
    result = _first_then(tmp_path, "{b: id * 2}", "{b: id * 2, c: id * 3}", {"o": "out/sc.csv"})
    assert result.exit_code == 1
    assert (f"sink 'o': {tmp_path / 'out/sc.csv'} holds records with the columns id, b, and the spec now adds c: "
            "a csv file has one header row, so the resumed run cannot add to it; give the sink another path to "
            "keep both, or start over with --reset") in " ".join(result.output.split())
    assert (tmp_path / "out/sc.csv").read_text() == "id,b\n0,0\n1,2\n"  # left as it was
    again = _run(tmp_path, "{b: id * 2, c: id * 3}", {"o": "out/sc.csv"}, "--reset")
    assert again.exit_code == 0, again.output
    assert (tmp_path / "out/sc.csv").read_text().splitlines()[:2] == ["id,b,c", "0,0,0"]


def test_a_parquet_sink_refuses_a_resume_that_changes_a_type_or_removes_a_column(tmp_path):
    result = _first_then(tmp_path, "{b: id * 2, c: id}", "{b: to_string(id)}", {"p": "out/sc.parquet"})
    assert result.exit_code == 1
    assert ("holds records with the columns id, b, c, and the spec now removes c; changes the type of b "
            "(Int64 -> String): a parquet file has one schema") in " ".join(result.output.split())
    assert not (tmp_path / "out/sc.parquet").exists()


def test_a_moved_sink_resumes_with_the_new_columns(tmp_path):
    result = _first_then(tmp_path, "{b: id * 2}", "{b: id * 2, c: id * 3}", {"o": "out/sc.csv"})
    assert result.exit_code == 1
    moved = _run(tmp_path, "{b: id * 2, c: id * 3}", {"o": "out/sc2.csv"})
    assert moved.exit_code == 0, moved.output
    assert (tmp_path / "out/sc2.csv").read_text().splitlines()[:2] == ["id,b,c", "2,4,6"]


def test_rotated_sinks_start_a_new_file_with_the_new_columns(tmp_path):
    spec_sinks = {"q": "out/r.csv, rotate: {max_records: 3}", "p": "out/r.parquet, rotate: {max_records: 3}",
                  "j": "out/r.jsonl"}
    result = _first_then(tmp_path, "{b: id * 2}", "{b: id * 2, c: id * 3}", spec_sinks)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert [(out / f"r.00000{i}.csv").read_text() for i in (1, 2, 3)] == [
        "id,b\n0,0\n1,2\n", "id,b,c\n2,4,6\n3,6,9\n4,8,12\n", "id,b,c\n5,10,15\n6,12,18\n"]
    assert not (out / "r.000004.csv").exists()
    frames = [pl.read_parquet(out / f"r.00000{i}.parquet") for i in (1, 2, 3)]
    assert [f.columns for f in frames] == [["id", "b"], ["id", "b", "c"], ["id", "b", "c"]]
    assert [row for f in frames for row in f["id"]] == list(range(7))
    lines = (out / "r.jsonl").read_text().splitlines()  # a jsonl file holds records of any fields
    assert lines[1:3] == ['{"id":1,"b":2}', '{"id":2,"b":4,"c":6}']


def test_a_rotated_sink_that_removes_a_column_starts_a_new_file(tmp_path):
    sinks = {"q": "out/r.csv, rotate: {max_records: 100}"}
    result = _first_then(tmp_path, "{b: id * 2, c: id}", "{b: id * 2}", sinks)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/r.000001.csv").read_text() == "id,b,c\n0,0,0\n1,2,1\n"
    assert (tmp_path / "out/r.000002.csv").read_text().splitlines()[:2] == ["id,b", "2,4"]


def test_an_unchanged_spec_of_every_type_resumes_into_the_same_files(tmp_path):
    fields = {"t": "parse_timestamp('2024-01-01T00:00:00Z') + 1s", "dur": "now() - now()",
              "l": "split(to_string(id), '0')", "st.a": "id", "st.s": "to_string(id)",
              "d": "date_trunc('day', now())", "f": "id / 2", "ok": "id > 1"}
    map_ = "".join(f"\n      {name}: \"{value}\"" for name, value in fields.items())
    sinks = {"o": "out/t.csv", "p": "out/t.parquet", "z": "out/t.csv.gz"}
    result = _first_then(tmp_path, map_, map_, sinks)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "out/t.parquet")["id"].to_list() == list(range(7))
    assert len((tmp_path / "out/t.csv").read_text().splitlines()) == 8


def test_a_gzipped_csv_sink_reads_its_header_to_refuse(tmp_path):
    result = _first_then(tmp_path, "{b: id * 2, c: id}", "{c: id, b: id * 2}", {"z": "out/sc.csv.gz"})
    assert result.exit_code == 1
    assert ("holds records with the columns id, b, c, and the spec now reorders the columns (id, b, c -> id, c, b): "
            "a csv file has one header row") in " ".join(result.output.split())
