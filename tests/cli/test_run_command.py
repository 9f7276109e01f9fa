"""`flowc run` as a real process: exit codes, resume, signals, and a crash test against SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]


def spec(folder: Path, body: str, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        (folder / name).write_text(content)
    path = folder / "p.flow.yaml"
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return path


def flowc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


SIMPLE = """
settings: {batch_size: 2}
sources:
  s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}, {n: 4}, {n: 5}]}
steps:
  - filter: n != 3
sinks:
  out: {type: file, path: out.jsonl}
"""


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_run_then_run_again_says_completed_and_changes_nothing(tmp_path):
    path = spec(tmp_path, SIMPLE)
    first = flowc("run", str(path))
    assert first.returncode == 0, first.stderr
    assert "run completed" in first.stderr and "read=5" in first.stderr  # plain lines: not a terminal
    before = (tmp_path / "out.jsonl").read_bytes(), (tmp_path / ".flow/p/events.log").read_bytes()
    again = flowc("run", str(path))
    assert again.returncode == 0
    assert "already completed" in again.stderr and "--reset" in again.stderr
    assert "run started" not in again.stderr  # nothing started: the one line says why
    assert ((tmp_path / "out.jsonl").read_bytes(), (tmp_path / ".flow/p/events.log").read_bytes()) == before
    reset = flowc("run", str(path), "--reset", "--quiet")
    assert reset.returncode == 0 and reset.stderr == ""
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4, 5]


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    result = flowc("run", str(spec(tmp_path, SIMPLE)), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "n0 := Scan[s] {n: int}\nn1 := Filter[n0] filter_1 n != 3\nn2 := Sink[n1] out file jsonl out.jsonl\n"
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / ".flow").exists()


def test_limit_stops_and_the_next_run_resumes(tmp_path):
    path = spec(tmp_path, SIMPLE)
    first = flowc("run", str(path), "--limit", "2", "--log-format", "json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stderr.splitlines()[-1])
    assert summary["event"] == "summary" and summary["status"] == "stopped" and summary["read"] == 2
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2]
    rest = flowc("run", str(path), "--quiet")
    assert rest.returncode == 0
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4, 5]


def test_set_overrides_batch_size(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet", "--set", "settings.batch_size=1").returncode == 0
    committed = [e for e in lines(tmp_path / ".flow/p/events.log") if e["type"] == "batch_committed"]
    # five one-record batches (SPEC §1: records per micro-batch), the filtered-out record's too, which writes none
    assert [(e["data"]["counts"]["read"], e["data"]["counts"]["written"]["out"]) for e in committed] == [
        (1, 1), (1, 1), (1, 0), (1, 1), (1, 1)]
    kinds = [e["type"] for e in lines(tmp_path / ".flow/p/events.log")]
    assert kinds[-4:] == ["checkpoint_saved", "checkpoint_saved", "checkpoint_saved", "completed"]


def test_a_generator_with_a_rate_is_paced_and_completes(tmp_path):
    path = spec(tmp_path, """
    settings: {batch_timeout: 100ms}
    sources:
      s: {type: generate, count: 12, rate: 40/s, fields: {n: _n, even: _n % 2 == 0}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    started = time.monotonic()
    result = flowc("run", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 12 / 40  # released no faster than the rate
    assert lines(tmp_path / "out.jsonl") == [{"n": i, "even": i % 2 == 0} for i in range(12)]


def test_invalid_spec_exits_1_with_diagnostics_and_bad_usage_exits_2(tmp_path):
    path = spec(tmp_path, SIMPLE.replace("n != 3", "m != 3"))
    result = flowc("run", str(path))
    assert result.returncode == 1 and "E104" in result.stderr
    assert flowc("run", str(path), "--limit", "0").returncode == 2
    assert flowc("run", str(tmp_path / "missing.flow.yaml")).returncode == 2


def test_console_sink_prints_jsonl_up_to_its_limit(tmp_path):
    path = spec(tmp_path, SIMPLE.replace("{type: file, path: out.jsonl}", "{type: console, format: jsonl, limit: 3}"))
    result = flowc("run", str(path), "--quiet")
    assert result.returncode == 0
    assert result.stdout.splitlines() == ['{"n":1}', '{"n":2}', '{"n":4}']  # as the file sink writes them


def _big(folder: Path, rows: int) -> Path:
    rng = random.Random(7)
    data = ["id,status,amount,qty"] + [
        f"{i},{rng.choice(['paid', 'shipped', 'cancelled'])},{'x' if i % 997 == 0 else rng.randint(0, 9999) / 100},"
        f"{rng.randint(1, 5)}{',extra' if i % 1009 == 0 else ''}" for i in range(rows)]  # bad values, bad rows
    return spec(folder, """
    settings: {batch_size: 4000, on_error: dead_letter, dead_letter: {type: file, path: out/dead.jsonl}}
    sources:
      orders: {type: file, path: orders.csv, schema: {id: int, status: string, amount: float, qty: int}}
    steps:
      - filter: status != "cancelled"
      - map: {total: amount * qty}
    sinks:
      report: {type: file, path: out/report.jsonl}
      raw: {type: file, path: out/raw.csv, from: orders}
    """, {"orders.csv": "\n".join(data) + "\n"})


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "out").iterdir())}


def _wait_for_checkpoint(log: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and b'"checkpoint_saved"' in log.read_bytes():
            return
        time.sleep(0.02)


def test_sigterm_finishes_the_batch_checkpoints_and_exits_130(tmp_path):
    path = _big(tmp_path, 200_000)
    process = subprocess.Popen([*FLOWC, "run", str(path)], stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(tmp_path / ".flow/p/events.log", process)  # a loaded machine starts slowly
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    if process.returncode == 0:  # the machine was fast enough to finish first: nothing to stop
        return
    assert process.returncode == 130, err
    assert "run stopped" in err
    log = lines(tmp_path / ".flow/p/events.log")
    assert log[-1]["type"] == "stopped" and log[-2]["type"] == "checkpoint_saved"
    assert flowc("run", str(path), "--quiet").returncode == 0


def _checkpoints(log: Path) -> int:
    return log.read_bytes().count(b'"checkpoint_saved"') if log.exists() else 0


def test_killed_at_random_points_and_resumed_gives_byte_identical_outputs(tmp_path):
    """12 SIGKILLs, each at a point drawn from a seeded RNG: two during start-up or restore, the others
    a random fraction of the measured per-batch time after the run's next checkpoint, so every kill
    lands while the run is still going (300k records in 4000-record batches is ~75 batches)."""
    reference = _big(tmp_path / "reference", 300_000)
    started = time.monotonic()
    assert flowc("run", str(reference), "--quiet").returncode == 0
    batches = _checkpoints(tmp_path / "reference/.flow/p/events.log")
    per_batch = (time.monotonic() - started) / batches  # an upper bound: the run's start-up is included
    crashed = _big(tmp_path / "crashed", 300_000)
    log = tmp_path / "crashed/.flow/p/events.log"
    rng, kills = random.Random(2026), 0
    for attempt in range(12):
        before = _checkpoints(log)
        process = subprocess.Popen([*FLOWC, "run", str(crashed), "--quiet"])
        if attempt in (0, 6):  # before its first batch: start-up, or the restore of the sinks
            time.sleep(rng.uniform(0.05, 0.5))
        else:
            deadline = time.monotonic() + 60
            while _checkpoints(log) == before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, per_batch))
        assert process.poll() is None, f"the run finished before kill {attempt + 1}"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
    final = flowc("run", str(crashed), "--quiet")
    assert final.returncode == 0, final.stderr
    assert _outputs(tmp_path / "crashed") == _outputs(tmp_path / "reference")
    assert kills >= 10
    log_lines = lines(log)
    completed = log_lines[-1]
    assert completed["type"] == "completed"
    counts = completed["data"]["counts"]
    assert counts["read"] == 300_000 and counts["written"]["raw"] + counts["dead_lettered"] == 300_000


UNREADABLE = """
sources:
  s: {type: file, path: FILE}
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_a_source_file_no_schema_can_be_inferred_from_is_a_clear_error_for_run_and_plan(tmp_path):
    files = {"bad.json": '[{"a": "1"}, {"a": "2"}', "empty.csv": "", "bad.parquet": "not parquet",
             "bad.jsonl": "not json\n"}
    for name, content in files.items():
        path = spec(tmp_path / name, UNREADABLE.replace("FILE", name), {name: content})
        for command in (["run", str(path)], ["run", str(path), "--dry-run"], ["plan", str(path)]):
            done = flowc(*command)
            assert done.returncode == 1, (name, command, done.stderr)
            assert f"source 's': cannot infer a schema from {name}" in done.stderr, done.stderr
            assert "Traceback" not in done.stderr
        assert not (tmp_path / name / "out.jsonl").exists()
