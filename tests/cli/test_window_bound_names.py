"""A windowed aggregate grouping by a field named `window_start` or `window_end` is E310 at validation
(audit 4 F4): its output would hold the `by` field and the window's bound under one name (SPEC §4: the
`by` fields, then `window_start` and `window_end`), and the run died with Polars' DuplicateError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli

SPEC = """\
version: 1
pipeline: p
sources:
  s:
    type: inline
    schema: {{k: string, ts: datetime, window_start: int, window_end: int}}
    event_time: {{field: ts}}
    records: [{{k: a, ts: "2026-01-01T00:00:00Z", window_start: 1, window_end: 2}}]
steps:
  - aggregate: {{by: {by}, {window}compute: {{n: count()}}}}
sinks:
  o: {{type: file, path: o.jsonl}}
"""
WINDOW = "window: {type: tumbling, size: 1m}, "


def _write(tmp_path: Path, by: str, window: str = WINDOW) -> Path:
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(SPEC.format(by=by, window=window), encoding="utf-8")
    return spec


@pytest.mark.parametrize(("by", "name", "bound"), [
    ("[window_end]", "window_end", "the window's end"),
    ("[k, window_start]", "window_start", "the window's start"),
])
def test_grouping_by_a_window_bound_is_e310_in_validate_and_run(tmp_path, by, name, bound) -> None:
    spec = _write(tmp_path, by)
    col = len("  - aggregate: {by: ") + by.index(name) + 1
    expected = (f"{spec}:10:{col}: error[E310]: aggregate groups by '{name}', but a windowed aggregate's output "
                f"has '{name}' ({bound}); rename the field before the aggregate")
    checked = CliRunner().invoke(cli, ["validate", str(spec)])
    assert checked.exit_code == 1 and expected in checked.output, checked.output
    assert "1 error" in checked.output
    ran = CliRunner().invoke(cli, ["run", str(spec)])
    assert ran.exit_code == 1 and expected in ran.output, ran.output
    assert "DuplicateError" not in ran.output and not (tmp_path / "o.jsonl").exists()


def test_without_a_window_the_field_is_an_ordinary_group_key(tmp_path) -> None:
    spec = _write(tmp_path, "[window_end]", window="")
    ran = CliRunner().invoke(cli, ["run", str(spec)])
    assert ran.exit_code == 0, ran.output
    assert [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()] == [{"window_end": 2, "n": 1}]
