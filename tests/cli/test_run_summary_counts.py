"""`flowc run`'s summary carries every count of SPEC §6 (read, written per sink, skipped,
dead-lettered, late): the plain line, the JSON summary event, the terminal table, and the progress lines."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli
from flowc.run_command import _print_summary
from flowc.runtime.executor import RunOutcome
from flowc.runtime.lifecycle import Counts
from flowc.runtime.run_summary import summary_rows

# One record (ts 00:00:59) comes after the watermark passed its window's end (00:01:00): late.
WINDOWED = """
version: 1
pipeline: w
sources:
  s:
    type: inline
    event_time: {field: ts, max_out_of_orderness: 0s}
    records:
      - {k: a, ts: "2026-01-01T00:00:00Z", v: 1}
      - {k: b, ts: "2026-01-01T00:00:30Z", v: 2}
      - {k: a, ts: "2026-01-01T00:01:00Z", v: 3}
      - {k: a, ts: "2026-01-01T00:00:59Z", v: 4}
      - {k: a, ts: "2026-01-01T00:03:10Z", v: 5}
steps:
  - name: agg
    aggregate:
      by: [k]
      window: {type: tumbling, size: 1m}
      compute: {n: count(), s: sum(v)}
sinks:
  o: {type: file, path: out.jsonl}
"""


def _run(folder: Path, body: str, *args: str) -> list[str]:
    spec = folder / "w.flow.yaml"
    spec.write_text(textwrap.dedent(body))
    result = CliRunner().invoke(cli, ["run", str(spec), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stderr.splitlines()


def test_the_summary_line_counts_late_records(tmp_path):
    lines = _run(tmp_path, WINDOWED)
    assert lines[-1] == "flowc: run completed, 2 batches: read=5, written o=4, skipped=0, dead-lettered=0, late=1"


def test_the_json_summary_counts_late_records(tmp_path):
    events = [json.loads(line) for line in _run(tmp_path, WINDOWED, "--log-format", "json")]
    assert events[-1] == {"event": "summary", "status": "completed", "batches": 2, "read": 5, "written": {"o": 4},
                          "skipped": 0, "dead_lettered": 0, "late": 1}
    assert list(events[-1]) == ["event", "status", "batches", "read", "written", "skipped", "dead_lettered", "late"]


def test_the_progress_lines_count_late_records(tmp_path):
    lines = _run(tmp_path, WINDOWED)
    assert lines[1] == "flowc: batch committed batch=1 read=5 written=3 skipped=0 dead_lettered=0 late=1"
    events = [json.loads(line) for line in _run(tmp_path, WINDOWED, "--reset", "--log-format", "json")]
    assert events[1] == {"event": "batch committed", "batch": 1, "read": 5, "written": 3, "skipped": 0,
                         "dead_lettered": 0, "late": 1}


def test_a_sink_that_received_nothing_has_its_row(tmp_path):
    spec = """
    version: 1
    pipeline: z
    sources:
      s: {type: inline, schema: {a: int}, records: [{a: 1}, {a: 2}]}
    steps:
      - filter: a > 5
    sinks:
      c: {type: file, path: c.jsonl}
      all: {type: file, path: all.jsonl, from: s}
    """
    assert _run(tmp_path, spec)[-1].endswith(": read=2, written c=0, written all=2, skipped=0, dead-lettered=0, late=0")


def test_the_terminal_table_has_a_late_row(capsys):
    outcome = RunOutcome("completed", Counts(5, {"o": 4}, 1, 2, 3), 3)
    _print_summary(outcome, "", summary_rows(outcome.totals, ["o", "z"]), terminal=True)
    rows = [line.strip("│ ").split("│") for line in capsys.readouterr().err.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["read", "5"], ["written o", "4"], ["written z", "0"], ["skipped", "1"],
        ["dead-lettered", "2"], ["late", "3"]]


def test_every_summary_lists_the_sinks_in_the_specs_order(tmp_path: Path) -> None:
    """The text summary listed sinks by name while the JSON summary and the event log kept the spec's
    order: one order everywhere, the spec's."""
    spec = tmp_path / "o.flow.yaml"
    spec.write_text("version: 1\npipeline: o\nsources:\n  s: {type: inline, records: [{a: 1}, {a: 2}]}\n"
                    "sinks:\n  zed: {type: file, path: z.jsonl}\n  alpha: {type: file, path: a.jsonl}\n"
                    "  mid: {type: console, format: jsonl}\n")
    text = CliRunner().invoke(cli, ["run", str(spec)])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.output.splitlines() if "run completed" in x)
    assert "read=2, written zed=2, written alpha=2, written mid=2, skipped=0" in line
    as_json = CliRunner().invoke(cli, ["run", "--reset", "--log-format", "json", str(spec)])
    summary = json.loads(next(x for x in as_json.output.splitlines() if '"summary"' in x))
    assert list(summary["written"]) == ["zed", "alpha", "mid"]
    assert [name for name, _ in summary_rows(Counts(read=2, written={"zed": 2, "alpha": 2}), ["zed", "alpha", "mid"])
            if name.startswith("written")] == ["written zed", "written alpha", "written mid"]
