"""`flowc status`, `flowc events [--follow]`, `flowc pause`, `flowc resume`: over logs written with the real
event log, and end to end against a real `flowc run` process."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli
from flowc.runtime import events as ev
from flowc.runtime.control import request_path, request_pause
from flowc.runtime.lock import StateLock

FLOWC = [sys.executable, "-m", "flowc"]
SPEC = """
version: 1
pipeline: p
settings: {{batch_size: {batch}}}
sources:
  s: {{type: generate, count: {count}, fields: {{n: _n}}}}
sinks:
  out: {{type: file, path: out.jsonl}}
"""


def spec(folder: Path, count: int = 10, batch: int = 5) -> Path:
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(SPEC.format(count=count, batch=batch)))
    return path


def flowc(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def history(state_dir: Path, *types: tuple[str, dict]) -> ev.EventLog:
    log = ev.EventLog.open(state_dir)
    for type_, data in types:
        log.append(type_, data)
    return log


COMPLETED = (
    (ev.COMPILED, {"spec_hash": "sha256:aa", "plan_hash": "sha256:bb"}),
    (ev.RUN_STARTED, {}),
    (ev.BATCH_COMMITTED, {"batch": 1, "counts": {"read": 10, "written": {"out": 9}, "skipped": 1}}),
    (ev.CHECKPOINT_SAVED, {"batch": 1, "sources": {"s": {"row": 9, "done": True}}, "sinks": {"out": {"records": 9}}}),
    (ev.COMPLETED, {}),
)


def test_status_of_a_pipeline_that_never_ran(tmp_path):
    result = flowc("status", str(spec(tmp_path)))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"pipeline:   p ({tmp_path / 'p.flow.yaml'})",
        f"state dir:  {tmp_path / '.flow/p'}",
        "status:     created",
        "checkpoint: none yet",
        "totals:     read 0, written nothing, skipped 0, dead-lettered 0, late 0",
    ]
    assert not (tmp_path / ".flow").exists(), "status writes nothing"


def test_status_text_and_json_after_a_run(tmp_path):
    path = spec(tmp_path)
    log = history(tmp_path / ".flow/p", *COMPLETED)
    text = flowc("status", str(path)).output.splitlines()
    assert text[2:] == [
        "status:     completed",
        "runs:       1",
        f"checkpoint: batch 1 at {log.events[3].at}",
        "totals:     read 10, written out=9, skipped 1, dead-lettered 0, late 0",
        "source s:   10 rows read, done",
        f"last event: #5 completed at {log.events[4].at}",
    ]
    view = json.loads(flowc("status", "--format", "json", str(path)).output)
    assert view["status"] == "completed" and view["pid"] is None and view["events"] == 5
    assert view["checkpoint"] == {"batch": 1, "at": log.events[3].at, "seq": 4}
    assert view["totals"] == {"read": 10, "written": {"out": 9}, "skipped": 1, "dead_lettered": 0, "late": 0}
    assert view["sources"] == {"s": {"row": 9, "done": True}}


def test_status_shows_a_dead_run_a_failure_and_a_torn_line(tmp_path):
    path = spec(tmp_path)
    state_dir = tmp_path / ".flow/p"
    log = history(state_dir, *COMPLETED[:4])
    dead = flowc("status", str(path))
    assert "status:     running, crashed (the log says running since" in dead.output
    assert "'flowc run' resumes from batch 1)" in dead.output
    shown = json.loads(flowc("status", "--format", "json", str(path)).output)
    assert (shown["status"], shown["crashed"]) == ("running", True)  # SPEC §9's states, and the fact beside
    log.append(ev.FAILED, {"reason": "disk full"})
    with open(log.path, "ab") as handle:
        handle.write(b'{"seq":7,"at":')  # a write cut short by a crash
    failed = flowc("status", str(path)).output
    assert "status:     failed: disk full ('flowc run' resumes from batch 1)" in failed
    assert "note:       the last line of the event log is torn (an interrupted write) and is ignored" in failed


def test_a_corrupt_log_or_a_bad_spec_exits_1(tmp_path):
    path = spec(tmp_path)
    log = history(tmp_path / ".flow/p", *COMPLETED)
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(lines[0] + lines[1].replace(b"run_started", b"run_stopped") + b"".join(lines[2:]))
    for command in ("status", "events"):
        result = CliRunner().invoke(cli, [command, str(path)])
        assert result.exit_code == 1
        assert "corrupt event log" in result.output
    bad = tmp_path / "bad.flow.yaml"
    bad.write_text("version: 1\npipeline: p\nsources: {}\n")
    for command in ("status", "events", "pause", "resume"):
        result = CliRunner().invoke(cli, [command, str(bad)])
        assert result.exit_code == 1, command
        assert "the spec does not load, so its state directory is unknown" in result.output
    assert CliRunner().invoke(cli, ["status", str(tmp_path / "missing.flow.yaml")]).exit_code == 2


def test_events_print_the_log_as_stored_or_as_text(tmp_path):
    path = spec(tmp_path)
    log = history(tmp_path / ".flow/p", *COMPLETED)
    stored = flowc("events", str(path))
    assert stored.output.encode() == log.path.read_bytes()
    text = flowc("events", "--format", "text", str(path)).output.splitlines()
    assert len(text) == 5
    assert text[0] == f"     1  {log.events[0].at}  compiled         spec_hash=sha256:aa plan_hash=sha256:bb"
    assert text[2].endswith("batch_committed  batch=1 read=10 skipped=1 written=out:9")
    assert text[3].endswith("checkpoint_saved batch=1 sources=s:9(done) sinks=out:9")
    with open(log.path, "ab") as handle:
        handle.write(b'{"seq":6')
    torn = flowc("events", str(path))
    assert torn.output.encode().startswith(log.path.read_bytes()[:-8])
    assert "note: the last line of the log is torn" in torn.output


def test_events_of_a_pipeline_that_never_ran_print_nothing(tmp_path):
    result = flowc("events", str(spec(tmp_path)))
    assert (result.exit_code, result.output) == (0, "")


def test_events_follow_prints_new_events_and_waits_out_a_torn_line(tmp_path):
    path = spec(tmp_path)
    state_dir = tmp_path / ".flow/p"
    log = history(state_dir, *COMPLETED[:2])
    process = subprocess.Popen([*FLOWC, "events", "--follow", str(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    try:
        assert [json.loads(lines.get(timeout=30))["seq"] for _ in range(2)] == [1, 2]
        log.append(*COMPLETED[2])
        assert json.loads(lines.get(timeout=10))["type"] == "batch_committed"
        # A line written in two pieces: nothing is printed until it is whole.
        at = ev.format_instant(ev.utc_now())
        line = ev.encode_event(ev.Event(4, at, ev.STOPPED, {}, ev.checksum(4, at, ev.STOPPED, {})))
        with open(log.path, "ab") as handle:
            handle.write(line[:20])
        time.sleep(0.6)
        assert lines.empty()
        with open(log.path, "ab") as handle:
            handle.write(line[20:])
        assert lines.get(timeout=10) == line.decode()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()


def test_pause_and_resume_need_a_running_process(tmp_path):
    path = spec(tmp_path)
    for command in ("pause", "resume"):
        result = CliRunner().invoke(cli, [command, str(path)])
        assert result.exit_code == 1
        assert f"error: no flowc process is running pipeline 'p' (state dir {tmp_path / '.flow/p'})" in result.output
    assert not request_path(tmp_path / ".flow/p").exists()


def test_pause_and_resume_address_the_lock_holder(tmp_path):
    path = spec(tmp_path)
    state_dir = tmp_path / ".flow/p"
    history(state_dir, *COMPLETED[:2])
    with StateLock(state_dir):  # this process plays the running flowc
        not_paused = flowc("resume", str(path))
        assert not_paused.output == f"pipeline 'p' is not paused (process {os.getpid()}); nothing to do\n"
        paused = flowc("pause", str(path))
        assert paused.output == f"pause requested: process {os.getpid()} pauses pipeline 'p' after its current batch\n"
        assert f"status:     running (pid {os.getpid()}) (a pause is requested)" in flowc("status", str(path)).output
        resumed = flowc("resume", str(path))
        assert resumed.output == f"resume requested: process {os.getpid()} goes on with pipeline 'p'\n"
        assert not request_path(state_dir).exists()


def test_pause_and_resume_a_real_run(tmp_path):
    """Pause a running `flowc run`: status says paused and the output stops growing; resume: it completes."""
    path = spec(tmp_path, count=100_000, batch=200)  # 500 batches: the pause lands mid-run even on a fast machine
    state_dir, out = tmp_path / ".flow/p", tmp_path / "out.jsonl"
    run = subprocess.Popen([*FLOWC, "run", str(path), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while StateLock(state_dir).holder() is None or not out.exists():
            assert run.poll() is None, run.stderr.read()
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.01)
        # Asked from here the moment the run is under way, so a fast machine cannot finish first.
        assert request_pause(state_dir) == run.pid
        # The commands run in this process (CliRunner), the pipeline in its own.
        again = flowc("pause", "--wait", "--timeout", "60", str(path))
        assert again.exit_code == 0, again.output
        # The run may have paused on the first request before this command asked: both say it is paused.
        assert again.output.endswith(("pipeline 'p' is paused\n",
                                      f"pipeline 'p' is already paused (process {run.pid}); 'flowc resume' goes on\n"))
        view = json.loads(flowc("status", "--format", "json", str(path)).output)
        assert (view["status"], view["pid"]) == ("paused", run.pid)
        size = out.stat().st_size
        time.sleep(1.0)
        assert out.stat().st_size == size, "a paused run reads and writes nothing"
        assert 0 < view["totals"]["read"] < 100_000
        resumed = flowc("resume", "--wait", str(path))
        assert resumed.exit_code == 0, resumed.output
        assert run.wait(timeout=120) == 0, run.stderr.read()
    finally:
        run.kill()
        run.wait()
    assert [json.loads(x)["n"] for x in out.read_text().splitlines()] == list(range(100_000))
    types = [e.type for e in ev.read_events(state_dir / "events.log")[0]]
    assert types.count("paused") == 1 and types.count("resumed") == 1 and types[-1] == "completed"
    assert types.index("paused") + 1 == types.index("resumed"), "nothing happens while paused"
