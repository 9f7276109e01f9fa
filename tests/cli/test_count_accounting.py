"""Counts account for each record at the place it ended (SPEC §6, docs/runtime.md): a record error
routed to a `.errors` output that a step reads is counted by what that step does with it, not also as
dead-lettered where it was first rejected; a console sink with `limit` counts as written the records it
printed. The run summary (text and JSON), `batch_committed` and `completed` say the same."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli


def _run(path: Path, *args: str) -> tuple[list[dict], str]:
    """The JSON lines `flowc run --log-format json` printed on stderr, and its stdout."""
    result = CliRunner().invoke(cli, ["run", str(path), "--log-format", "json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stderr.splitlines()], result.stdout


def _events(path: Path) -> list[dict]:
    result = CliRunner().invoke(cli, ["events", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _counts(summary: dict) -> dict:
    return {k: summary[k] for k in ("read", "written", "skipped", "dead_lettered", "late")}


CONSOLE = """
version: 1
pipeline: k
settings: {batch_size: BATCH}
sources:
  s: {type: inline, records: [{v: 1}, {v: 2}, {v: 3}, {v: 4}, {v: 5}]}
sinks:
  c: {type: console, format: jsonl, limit: 2}
  all: {type: file, path: all.jsonl}
"""


def _console(folder: Path, batch: int) -> Path:
    path = folder / "k.flow.yaml"
    path.write_text(textwrap.dedent(CONSOLE.replace("BATCH", str(batch))))
    return path


def test_a_console_with_limit_counts_the_records_it_printed(tmp_path):
    path = _console(tmp_path, 100)
    printed, stdout = _run(path)
    assert [json.loads(line) for line in stdout.splitlines()] == [{"v": 1}, {"v": 2}]
    expected = {"read": 5, "written": {"c": 2, "all": 5}, "skipped": 0, "dead_lettered": 0, "late": 0}
    assert _counts(printed[-1]) == expected
    log = _events(path)
    assert log[-1]["data"]["counts"] == expected
    assert [e["data"]["counts"]["written"] for e in log if e["type"] == "batch_committed"] == [{"c": 2, "all": 5}]


def test_a_console_limit_reached_across_batches_counts_per_batch(tmp_path):
    path = _console(tmp_path, 1)
    printed, stdout = _run(path)
    assert len(stdout.splitlines()) == 2
    committed = [e["data"]["counts"]["written"]["c"] for e in _events(path) if e["type"] == "batch_committed"]
    assert committed == [1, 1, 0, 0, 0]
    assert printed[-1]["written"] == {"c": 2, "all": 5}
