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

# `conv` rejects x (to_int); `again` reads conv.errors and rejects it once more (or repairs it)
CHAINED = """
version: 1
pipeline: c
settings: {on_error: dead_letter, batch_size: BATCH, dead_letter: {type: file, path: dead.jsonl}}
sources:
  s: {type: inline, records: [{v: "1"}, {v: "x"}, {v: "3"}, {v: "y"}, {v: "5"}]}
steps:
  - name: conv
    map: {n: to_int(v)}
  - name: again
    from: conv.errors
    AGAIN
sinks:
  out: {type: file, path: out.jsonl, from: conv}
  SINKS
"""
REJECT = 'validate: {never: "false"}'


def _spec(folder: Path, again: str = REJECT, sinks: str = "", batch: int = 100) -> Path:
    body = CHAINED.replace("AGAIN", again).replace("SINKS", sinks).replace("BATCH", str(batch))
    path = folder / "c.flow.yaml"
    path.write_text(textwrap.dedent(body))
    return path


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


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_record_rejected_again_is_dead_lettered_once(tmp_path):
    path = _spec(tmp_path)
    printed, _ = _run(path)
    dead = _lines(tmp_path / "dead.jsonl")
    assert [(r["v"], r["_error"]["step"]) for r in dead] == [("x", "again"), ("y", "again")]
    expected = {"read": 5, "written": {"out": 3, "dead_letter": 2}, "skipped": 0, "dead_lettered": 2, "late": 0}
    assert _counts(printed[-1]) == expected
    log = _events(path)
    assert log[-1]["type"] == "completed" and log[-1]["data"]["counts"] == expected
    [committed] = [e["data"]["counts"] for e in log if e["type"] == "batch_committed"]
    assert committed == expected
    assert expected["read"] == expected["written"]["out"] + expected["skipped"] + expected["dead_lettered"]


def test_per_batch_counts_conserve_when_a_record_is_rejected_again(tmp_path):
    path = _spec(tmp_path, batch=2)
    _run(path)
    committed = [e["data"]["counts"] for e in _events(path) if e["type"] == "batch_committed"]
    assert [(c["read"], c["dead_lettered"], c["written"]["dead_letter"]) for c in committed] == [
        (2, 1, 1), (2, 1, 1), (1, 0, 0)]
    for c in committed:
        assert c["read"] == c["written"]["out"] + c["skipped"] + c["dead_lettered"]


def test_the_text_summary_counts_a_record_rejected_again_once(tmp_path):
    path = _spec(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "flowc: run completed, 1 batch: read=5, written out=3, written dead_letter=2, skipped=0, "
        "dead-lettered=2, late=0")


def test_a_record_rejected_again_and_skipped_is_skipped_only(tmp_path):
    # a sink reads 'again' (else the step is dangling, dropped from the plan, and its records are read only)
    path = _spec(tmp_path, again='validate: {never: "false"}\n    on_error: skip',
                 sinks="kept: {type: file, path: kept.jsonl, from: again}")
    printed, _ = _run(path)
    assert _counts(printed[-1]) == {"read": 5, "written": {"out": 3, "kept": 0, "dead_letter": 0}, "skipped": 2,
                                    "dead_lettered": 0, "late": 0}
    assert (tmp_path / "dead.jsonl").read_text() == ""


def test_a_repaired_record_is_written_not_dead_lettered(tmp_path):
    path = _spec(tmp_path, again="map: {n: 0}", sinks="fixed: {type: file, path: fixed.jsonl, from: again}")
    printed, _ = _run(path)
    assert [r["v"] for r in _lines(tmp_path / "fixed.jsonl")] == ["x", "y"]
    assert _counts(printed[-1]) == {"read": 5, "written": {"out": 3, "fixed": 2, "dead_letter": 0}, "skipped": 0,
                                    "dead_lettered": 0, "late": 0}


def test_a_sink_of_the_errors_output_counts_them_dead_lettered_and_written(tmp_path):
    # no step reads conv.errors here: the sink 'bad' is where they end, as the dead-letter sink would be
    body = CHAINED.replace("  - name: again\n    from: conv.errors\n    AGAIN\n", "")
    path = tmp_path / "c.flow.yaml"
    path.write_text(body.replace("SINKS", "bad: {type: file, path: bad.jsonl, from: conv.errors}")
                    .replace("BATCH", "100"))
    printed, _ = _run(path)
    assert [r["v"] for r in _lines(tmp_path / "bad.jsonl")] == ["x", "y"]
    assert _counts(printed[-1]) == {"read": 5, "written": {"out": 3, "bad": 2, "dead_letter": 0}, "skipped": 0,
                                    "dead_lettered": 2, "late": 0}


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
