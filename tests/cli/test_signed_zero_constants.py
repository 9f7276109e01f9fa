"""Literals 0.0 and -0.0 in one pipeline keep their signs once the optimizer folds them (acceptance
audit: `map: {a: 0.0, b: -0.0}` wrote `"b":0.0`, and `-(0.0)` fused into a later map turned `0.0`
into `-0.0`, because Python's 0.0 == -0.0 made the two literals one cached lowering). Each spec runs
optimized and with `--no-optimize`; the reference interpreter decides what is right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli

SPEC = """version: 1
pipeline: z
sources:
  s: {{type: inline, records: [{{id: 1}}]}}
steps:
{steps}sinks:
  out: {{type: file, path: out.jsonl}}
"""

CASES = {
    "zero then minus zero": ("  - map: {a: 0.0, b: -0.0}\n", {"id": 1, "a": "0.0", "b": "-0.0"}),
    "minus zero then zero": ("  - map: {a: -0.0, b: 0.0}\n", {"id": 1, "a": "-0.0", "b": "0.0"}),
    "folded into a later map": ("  - map: {a: -(0.0), b: 0.0}\n  - map: {c: to_string(b * id), d: to_string(a * id)}\n",
                                {"id": 1, "a": "-0.0", "b": "0.0", "c": "0.0", "d": "-0.0"}),
}


@pytest.mark.parametrize("optimize", [[], ["--no-optimize"]], ids=["optimized", "no-optimize"])
@pytest.mark.parametrize("case", list(CASES))
def test_signed_zero_literals_keep_their_signs(tmp_path: Path, case: str, optimize: list[str]) -> None:
    steps, expected = CASES[case]
    spec = tmp_path / "z.flow.yaml"
    spec.write_text(SPEC.format(steps=steps))
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet", *optimize], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = (tmp_path / "out.jsonl").read_text()
    # the file's text, not json.loads (which reads -0.0 and 0.0 as equal floats)
    record = json.loads(written)
    assert set(record) == set(expected)
    for name, value in expected.items():
        if isinstance(value, str) and value.endswith(".0") and name in ("a", "b"):
            assert f'"{name}":{value}' in written, written
        else:
            assert record[name] == value, written
