"""Two file sinks writing one file are a compile error, E319 at the later sink's path (audit4 F11): a
resume of one would cut back the other's file. The dead_letter sink and rotated files count."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli
from flowc.compiler.checks.sink_paths import rotated_name_pattern
from flowc.runtime.sinks.rotation import rotated_path

SPEC = """\
version: 1
pipeline: sp
settings:
  batch_size: 2
  on_error: dead_letter
  dead_letter: {type: file, path: DEAD}
sources:
  g:
    type: generate
    count: 6
    fields: {id: _n}
steps:
  - validate: {small: id < 5}
sinks:
  o: {type: file, path: FIRST}
  p: {type: file, path: SECOND}
"""


def _spec(folder: Path, first: str, second: str, dead: str = "out/dead.jsonl") -> Path:
    path = folder / "sp.flow.yaml"
    path.write_text(SPEC.replace("FIRST", first).replace("SECOND", second).replace("DEAD", dead))
    return path


@pytest.mark.parametrize(("first", "second", "what"), [
    ("out/a.jsonl", "out/a.jsonl", "'out/a.jsonl'"),
    ("out/a.jsonl", "./out/a.jsonl", "'./out/a.jsonl'"),
    ("out/a.csv", "out/x/../a.csv", "'out/x/../a.csv'"),
    ("out/a.jsonl, rotate: {max_records: 2}", "out/a.000002.jsonl", "'out/a.000002.jsonl'"),
    ("out/a.000001.jsonl.gz", "out/a.jsonl.gz, rotate: {max_records: 2}",
     "rotated files that include 'out/a.000001.jsonl.gz'"),
])
def test_validate_reports_the_later_sink_naming_the_first(tmp_path, first, second, what):
    spec = _spec(tmp_path, first, second)
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 1
    assert (f"{spec}:16:25: error[E319]: sink 'p' writes {what}, a file of sink 'o' (line 15); give each file "
            "sink its own path") in result.output


def test_the_dead_letter_sink_on_a_sinks_path_is_reported_at_the_later_one(tmp_path):
    spec = _spec(tmp_path, "out/a.jsonl", "out/b.jsonl", dead="out/b.jsonl")
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 1
    assert (f"{spec}:16:25: error[E319]: sink 'p' writes 'out/b.jsonl', a file of sink 'dead_letter' (line 6); "
            "give each file sink its own path") in result.output


def test_an_errors_sink_on_another_sinks_path_is_reported(tmp_path):
    spec = _spec(tmp_path, "out/a.jsonl", "out/a.jsonl, from: validate_1.errors")
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 1
    assert "error[E319]: sink 'p' writes 'out/a.jsonl', a file of sink 'o' (line 15)" in result.output


def test_run_refuses_before_writing_anything(tmp_path):
    spec = _spec(tmp_path, "out/a.jsonl", "./out/a.jsonl")
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 1
    assert f"{spec}:16:25: error[E319]" in result.output
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".flow").exists()


@pytest.mark.parametrize(("first", "second"), [
    ("out/a.jsonl", "out/a.jsonl.gz"),
    ("out/a.jsonl, rotate: {max_records: 2}", "out/b.jsonl, rotate: {max_records: 2}"),
    ("out/a.jsonl, rotate: {max_records: 2}", "out/a.000001.jsonl.gz"),
    ("out/a.jsonl, rotate: {max_records: 2}", "out/sub/a.000001.jsonl"),
    ("out/a.jsonl", "out/a.000001.jsonl"),  # neither rotates: two names
])
def test_distinct_files_pass_and_run(tmp_path, first, second):
    spec = _spec(tmp_path, first, second)
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert "E319" not in result.output
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli, ["run", str(spec), "--quiet"]).exit_code == 0


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz", "a.b.csv", "a", "a.parquet", "x.tar.zst", ".h.csv"])
def test_the_compilers_rotated_names_are_the_writers(name):
    for index in (1, 42, 1234567):
        assert rotated_name_pattern(name).fullmatch(rotated_path(Path("out") / name, index).name)
    assert not rotated_name_pattern(name).fullmatch(name)
