"""Acceptance tests of SPEC §10 `flowc run` (exit codes, signals, resume, options, summary), written
from SPEC.md alone, run through the `flowc` command."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from acceptance_cli import FLOWC, flowc, lines
from acceptance_cli import write_spec as spec


def events(folder: Path) -> list[dict]:
    return lines(folder / ".flow/p/events.log")


FIVE = """
settings: {batch_size: 2}
sources:
  s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}, {n: 4}, {n: 5}]}
sinks:
  out: {type: file, path: out.jsonl}
"""

BIG = """
settings: {batch_size: 1000}
sources:
  s: {type: generate, count: 150000, fields: {n: _n, sq: _n * _n}}
steps:
  - filter: n % 7 != 3
  - map: {h: sha256(to_string(n))}
sinks:
  out: {type: file, path: out.jsonl}
  csv: {type: file, path: out.csv}
"""


def test_exit_0_and_a_summary_with_the_counts(tmp_path):
    path = spec(tmp_path, FIVE)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert "read=5" in done.stderr and "out=5" in done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3, 4, 5]
    assert done.stdout == ""  # the progress and summary are not data: stderr


def test_exit_1_for_a_spec_that_does_not_compile(tmp_path):
    path = spec(tmp_path, FIVE.replace("type: inline", "type: nonsense"))
    done = flowc("run", str(path))
    assert done.returncode == 1
    assert "nonsense" in done.stderr
    assert not (tmp_path / ".flow/p/events.log").exists() or "run_started" not in (
        tmp_path / ".flow/p/events.log").read_text()


def test_exit_1_for_a_run_that_fails(tmp_path):
    path = spec(tmp_path, FIVE.replace("sinks:", "steps:\n  - map: {m: to_int(\"z\")}\nsinks:"))
    done = flowc("run", str(path))
    assert done.returncode == 1
    assert "z" in done.stderr


@pytest.mark.parametrize("args", [["--bogus"], ["--limit", "x"], ["--limit", "0"], ["--set", "no_equals"],
                                  ["--log-format", "xml"]])
def test_exit_2_for_usage_errors(tmp_path, args):
    path = spec(tmp_path, FIVE)
    done = flowc("run", str(path), *args)
    assert done.returncode == 2, (args, done.stderr)
    assert not (tmp_path / "out.jsonl").exists()


def test_exit_2_without_a_spec():
    assert flowc("run").returncode == 2


def test_missing_spec_file_is_an_error_not_a_crash(tmp_path):
    done = flowc("run", str(tmp_path / "nope.flow.yaml"))
    assert done.returncode in (1, 2)
    assert "nope.flow.yaml" in done.stderr
    assert "Traceback" not in done.stderr


def test_quiet_prints_nothing(tmp_path):
    done = flowc("run", str(spec(tmp_path, FIVE)), "--quiet")
    assert done.returncode == 0
    assert done.stdout == "" and done.stderr == ""


def test_log_format_json_every_line_is_json(tmp_path):
    done = flowc("run", str(spec(tmp_path, FIVE)), "--log-format", "json")
    assert done.returncode == 0
    logged = [json.loads(x) for x in done.stderr.splitlines()]
    assert logged and all(isinstance(x, dict) for x in logged)
    assert logged[-1]["read"] == 5 and logged[-1]["written"] == {"out": 5}


def test_log_format_json_failures_are_json_too(tmp_path):
    path = spec(tmp_path, FIVE.replace("sinks:", "steps:\n  - map: {m: to_int(\"z\")}\nsinks:"))
    done = flowc("run", str(path), "--log-format", "json")
    assert done.returncode == 1
    logged = [json.loads(x) for x in done.stderr.splitlines()]
    assert any("z" in json.dumps(x) for x in logged)


def test_set_overrides_the_batch_size(tmp_path):
    path = spec(tmp_path, FIVE)
    assert flowc("run", str(path), "--quiet", "--set", "settings.batch_size=1").returncode == 0
    assert [e["type"] for e in events(tmp_path)].count("batch_committed") == 5
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3, 4, 5]


def test_set_may_change_a_sink_path(tmp_path):
    path = spec(tmp_path, FIVE)
    assert flowc("run", str(path), "--quiet", "--set", "sinks.out.path=other.jsonl").returncode == 0
    assert not (tmp_path / "out.jsonl").exists()
    assert len(lines(tmp_path / "other.jsonl")) == 5


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    path = spec(tmp_path, FIVE)
    done = flowc("run", str(path), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "out" in done.stdout and "s" in done.stdout
    assert not (tmp_path / "out.jsonl").exists()
    assert not (tmp_path / ".flow/p/events.log").exists() or "run_started" not in (
        tmp_path / ".flow/p/events.log").read_text()
    assert flowc("run", str(path), "--quiet").returncode == 0
    assert len(lines(tmp_path / "out.jsonl")) == 5


def test_dry_run_of_a_bad_spec_exits_1(tmp_path):
    path = spec(tmp_path, FIVE.replace("type: inline", "type: nonsense"))
    assert flowc("run", str(path), "--dry-run").returncode == 1


def test_limit_reads_at_most_n_records_and_the_next_run_goes_on(tmp_path):
    path = spec(tmp_path, FIVE)
    done = flowc("run", str(path), "--limit", "3")
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3]
    again = flowc("run", str(path), "--quiet")
    assert again.returncode == 0, again.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3, 4, 5]


def test_limit_is_per_source(tmp_path):
    path = spec(tmp_path, """
        sources:
          a: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}]}
          b: {type: inline, records: [{n: 10}, {n: 20}, {n: 30}]}
        steps:
          - union: [a, b]
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet", "--limit", "2").returncode == 0
    assert sorted(r["n"] for r in lines(tmp_path / "out.jsonl")) == [1, 2, 10, 20]


def test_completed_run_changes_nothing_and_reset_reruns(tmp_path):
    path = spec(tmp_path, FIVE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    before = (tmp_path / "out.jsonl").read_bytes(), (tmp_path / ".flow/p/events.log").read_bytes()
    again = flowc("run", str(path))
    assert again.returncode == 0
    assert "completed" in again.stderr and "--reset" in again.stderr
    assert ((tmp_path / "out.jsonl").read_bytes(), (tmp_path / ".flow/p/events.log").read_bytes()) == before
    reset = flowc("run", str(path), "--reset", "--quiet")
    assert reset.returncode == 0
    assert (tmp_path / "out.jsonl").read_bytes() == before[0]  # rewritten, not appended
    assert events(tmp_path)[-1]["type"] == "completed"


def test_reset_after_changing_the_data_reads_it_again(tmp_path):
    path = spec(tmp_path, FIVE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    path.write_text(path.read_text().replace("{n: 5}", "{n: 6}"))
    assert flowc("run", str(path), "--quiet", "--reset").returncode == 0
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3, 4, 6]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_the_batch_exits_130_and_resume_loses_and_duplicates_nothing(tmp_path, sig):
    reference, stopped = tmp_path / "ref", tmp_path / "stopped"
    assert flowc("run", str(spec(reference, BIG)), "--quiet").returncode == 0
    path = spec(stopped, BIG)
    process = subprocess.Popen([*FLOWC, "run", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 30
        log = stopped / ".flow/p/events.log"
        while time.monotonic() < deadline and process.poll() is None:
            if log.exists() and log.read_text().count('"batch_committed"') >= 3:
                break
            time.sleep(0.02)
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 130, err
    assert "stopped" in err
    history = events(stopped)
    assert history[-1]["type"] == "stopped"
    assert history[-2]["type"] == "checkpoint_saved"
    partial = lines(stopped / "out.jsonl")
    assert 0 < len(partial) < len(lines(reference / "out.jsonl"))
    assert len(partial) == history[-1]["data"]["counts"]["written"]["out"]
    status = json.loads(flowc("status", str(path), "--format", "json").stdout)
    assert status["status"] == "stopped"
    resumed = flowc("run", str(path), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    for name in ("out.jsonl", "out.csv"):
        assert (stopped / name).read_bytes() == (reference / name).read_bytes(), name
    assert [e["type"] for e in events(stopped)].count("run_started") == 2


WINDOWED = """
settings: {batch_size: 2000, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
sources:
  s:
    type: file
    path: in.csv
    schema: {id: int, ts: datetime, k: string, v: int}
    event_time: {field: ts, max_out_of_orderness: 20s}
steps:
  - validate: {nonneg: v >= 0}
  - name: agg
    aggregate:
      by: [k]
      window: {type: tumbling, size: 1m}
      compute: {c: count(), s: sum(v), l: last(id)}
sinks:
  out: {type: file, path: out.csv, rotate: {max_records: 500}}
  all: {type: file, path: all.jsonl, from: s}
"""


def windowed_input(n: int) -> str:
    rows, t = ["id,ts,k,v"], 0
    for i in range(n):
        t += i % 4
        at = max(0, t - (i * 7919) % 41)
        value = "bad" if i % 997 == 0 else str((i * 31) % 106 - 5)
        rows.append(f"{i},2026-01-01T{at // 3600 % 24:02d}:{at // 60 % 60:02d}:{at % 60:02d}Z,k{i % 5},{value}")
    return "\n".join(rows) + "\n"


def test_repeated_ctrl_c_during_polars_work_stops_cleanly_and_resumes_exactly(tmp_path):
    """Ctrl-C lands while Polars is computing a batch (most of a run's time): each one must finish
    the batch and exit 130 (a KeyboardInterrupt from inside a query once aborted the run, exit 1)."""
    data = windowed_input(60_000)
    reference, stopped = tmp_path / "ref", tmp_path / "stopped"
    for folder in (reference, stopped):
        spec(folder, WINDOWED)
        (folder / "in.csv").write_text(data)
    assert flowc("run", str(reference / "p.flow.yaml"), "--quiet").returncode == 0
    log = stopped / ".flow/p/events.log"
    for _ in range(4):
        before = log.read_text().count('"batch_committed"') if log.exists() else 0
        process = subprocess.Popen([*FLOWC, "run", str(stopped / "p.flow.yaml"), "--quiet"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process.poll() is None:
                if log.exists() and log.read_text().count('"batch_committed"') >= before + 2:
                    break
                time.sleep(0.005)
            assert process.poll() is None, "the run ended before it could be interrupted"
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)
        assert process.returncode == 130, err
        assert events(stopped)[-1]["type"] == "stopped"
    final = flowc("run", str(stopped / "p.flow.yaml"), "--quiet")
    assert final.returncode == 0, final.stderr
    names = sorted(p.name for p in reference.iterdir() if p.is_file())
    assert names == sorted(p.name for p in stopped.iterdir() if p.is_file())
    for name in names:
        assert (reference / name).read_bytes() == (stopped / name).read_bytes(), name
