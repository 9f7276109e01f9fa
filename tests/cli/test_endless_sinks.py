"""W303: a json or parquet file sink without `rotate` fed by a source that never ends writes its one file
only when the run completes (SPEC §7: renamed into place when complete), so never; validate warns."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli


def validate(folder: Path, source: str, sink: str, *options: str) -> tuple[int, str]:
    spec = folder / "e.flow.yaml"
    spec.write_text(f"version: 1\npipeline: e\nsources:\n  s: {source}\nsinks:\n  o: {sink}\n")
    result = CliRunner().invoke(cli, ["validate", *options, str(spec)])
    return result.exit_code, result.output


ENDLESS = "{type: generate, fields: {n: _n}}"
BOUNDED = "{type: generate, count: 5, fields: {n: _n}}"


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_an_endless_source_into_one_json_or_parquet_file_is_warned(tmp_path, fmt):
    code, out = validate(tmp_path, ENDLESS, f"{{type: file, path: out/o.{fmt}}}")
    assert code == 0
    assert (f"e.flow.yaml:6:25: warning[W303]: sink 'o' writes one {fmt} file from 's', which never ends: "
            "the file appears only when the run completes; add `rotate`") in out
    assert validate(tmp_path, ENDLESS, f"{{type: file, path: out/o.{fmt}}}", "--strict")[0] == 1


@pytest.mark.parametrize(("source", "sink"), [
    (BOUNDED, "{type: file, path: out/o.parquet}"),  # the run completes
    (ENDLESS, "{type: file, path: out/o.parquet, rotate: {max_records: 100}}"),  # each full file appears
    (ENDLESS, "{type: file, path: out/o.jsonl}"),  # grows batch by batch
])
def test_no_warning_where_the_file_appears(tmp_path, source, sink):
    code, out = validate(tmp_path, source, sink, "--strict")
    assert code == 0, out
