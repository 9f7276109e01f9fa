"""A `sql` step whose CAST fails on a value (SPEC §6: one bad record never takes its batch with it):
each failing record is a record error `sql: cannot cast ...` under the step's policy, with its source
position; the other records go on. Before, the run failed with Polars' raw InvalidOperationError."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SPEC = """version: 1
pipeline: q
settings: {on_error: POLICY, dead_letter: {type: file, path: dead.jsonl}, batch_size: 4}
sources:
  s:
    type: inline
    schema: {a: int, b: string}
    records: [{a: 1, b: x}, {a: 2, b: "2"}, {a: 3, b: "3"}, {a: 4, b: y}, {a: 5, b: "5"}, {a: 6, b: z}]
steps:
  - name: q
    sql: QUERY
sinks:
  o: {type: file, path: out.jsonl}
"""
SELECT = "SELECT CAST(b AS INT) AS bi, a FROM input"


def run(folder: Path, policy: str, query: str = SELECT) -> subprocess.CompletedProcess:
    (folder / "p.flow.yaml").write_text(SPEC.replace("POLICY", policy).replace("QUERY", query))
    return subprocess.run([sys.executable, "-m", "flowc", "run", "--quiet", "p.flow.yaml"], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_dead_letter_sends_each_failed_cast_on_and_keeps_the_rest(tmp_path):
    done = run(tmp_path, "dead_letter")
    assert done.returncode == 0, done.stderr
    assert records(tmp_path / "out.jsonl") == [{"bi": 2, "a": 2}, {"bi": 3, "a": 3}, {"bi": 5, "a": 5}]
    dead = records(tmp_path / "dead.jsonl")
    assert [(d["a"], d["b"], d["_source"]["position"]) for d in dead] == [
        (1, "x", "records[0]"), (4, "y", "records[3]"), (6, "z", "records[5]")]
    assert dead[0]["_error"] == {"step": "q", "code": "sql",
                                 "message": "cannot cast \"x\" from str to i32 (column 'b')"}


@pytest.mark.parametrize("query, kept, failed", [
    # a CAST in WHERE: the record cannot be judged, so it is a record error
    ("SELECT a FROM input WHERE CAST(b AS INT) > 2", [3, 5], [1, 4, 6]),
    # a record that WHERE drops is never cast, so it fails nothing
    ("SELECT CAST(b AS INT) AS bi, a FROM input WHERE a IN (2, 3, 4)", [2, 3], [4]),
    # a CASE branch a record does not take is not evaluated for it (Polars' semantics, kept)
    ("SELECT CASE WHEN a % 2 = 0 THEN CAST(b AS INT) ELSE 0 END AS bi, a FROM input", [1, 2, 3, 5], [4, 6]),
])
def test_skip_drops_exactly_the_records_the_query_fails_on(tmp_path, query, kept, failed):
    done = run(tmp_path, "skip", query)
    assert done.returncode == 0, done.stderr
    assert [r["a"] for r in records(tmp_path / "out.jsonl")] == kept
    summary = done.stderr  # --quiet: only problems; the counts are in the event log
    assert summary == ""
    committed = [json.loads(line) for line in (tmp_path / ".flow/q/events.log").read_text().splitlines()]
    assert sum(e["data"]["counts"]["skipped"] for e in committed if e["type"] == "batch_committed") == len(failed)


def test_fail_names_the_step_the_record_and_the_reason(tmp_path):
    done = run(tmp_path, "fail")
    assert done.returncode == 1
    assert ("run failed: step 'q' failed on the record at s records[0]: sql: cannot cast \"x\" from str to i32 "
            "(column 'b')") in done.stderr
    assert "InvalidOperationError" not in done.stderr


def test_a_decimal_literal_gives_a_float_field(tmp_path):
    """Polars' SQL reads `2.5` as a decimal; flowc has no decimal type, so the column is a float (it was
    E307 'no flowc type for Polars dtype Decimal')."""
    done = run(tmp_path, "skip", "SELECT a, a * 2.5 AS x, 0.1 AS c FROM input WHERE a < 3")
    assert done.returncode == 0, done.stderr
    assert records(tmp_path / "out.jsonl") == [{"a": 1, "x": 2.5, "c": 0.1}, {"a": 2, "x": 5.0, "c": 0.1}]
    plan = subprocess.run([sys.executable, "-m", "flowc", "plan", "--format", "json", "p.flow.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert plan.returncode == 0, plan.stderr
