"""Acceptance tests of SPEC §9 (the event log, checkpoints, status/events/pause/resume), written from
SPEC.md alone, run through the `flowc` command."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import time
from pathlib import Path

from acceptance_cli import FLOWC, flowc, lines
from acceptance_cli import write_spec as spec

UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)")


SIMPLE = """
settings: {batch_size: 2}
sources:
  s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}, {n: 4}, {n: 5}]}
steps:
  - filter: n != 3
sinks:
  out: {type: file, path: out.jsonl}
"""

SLOW = """
settings: {batch_size: 20, batch_timeout: 50ms}
sources:
  s: {type: generate, count: 1000000, rate: 400, fields: {n: _n}}
sinks:
  out: {type: file, path: out.jsonl}
"""


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def status(path: Path) -> dict:
    shown = flowc("status", str(path), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def start(path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*FLOWC, "run", str(path), "--quiet", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=10)


def test_events_log_lives_in_state_dir_relative_to_the_spec_file(tmp_path):
    path = spec(tmp_path / "specs", SIMPLE)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    assert flowc("run", str(path), "--quiet", cwd=elsewhere).returncode == 0
    assert (tmp_path / "specs/.flow/p/events.log").exists()
    assert (tmp_path / "specs/out.jsonl").exists()
    assert not list(elsewhere.iterdir())
    custom = spec(tmp_path / "custom", SIMPLE.replace("{batch_size: 2}", "{batch_size: 2, state_dir: st/x}"))
    assert flowc("run", str(custom), "--quiet", cwd=elsewhere).returncode == 0
    assert (tmp_path / "custom/st/x/events.log").exists()


def test_every_event_has_seq_at_type_data_checksum(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    log = lines(tmp_path / ".flow/p/events.log")
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    for event in log:
        assert list(event) == ["seq", "at", "type", "data", "checksum"]
        assert UTC.fullmatch(event["at"]), event["at"]
        body = {k: v for k, v in event.items() if k != "checksum"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert event["checksum"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)


def test_event_types_of_a_completed_run(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    log = lines(tmp_path / ".flow/p/events.log")
    types = [e["type"] for e in log]
    assert types[0] == "compiled" and types[1] == "run_started" and types[-1] == "completed"
    compiled = log[0]["data"]
    assert compiled["spec_hash"] and compiled["plan_hash"] and compiled["spec_hash"] != compiled["plan_hash"]
    committed = [e["data"] for e in log if e["type"] == "batch_committed"]
    # a filter fused into the source's scan makes batches of batch_size records after it (flowc's
    # docs/runtime.md), so the reads per batch are 2, 3 here, not 2, 2, 1
    assert sum(c["counts"]["read"] for c in committed) == 5
    assert all(c["counts"]["written"]["out"] <= 2 for c in committed)
    assert sum(c["counts"]["written"]["out"] for c in committed) == 4
    checkpoints = [e["data"] for e in log if e["type"] == "checkpoint_saved"]
    assert checkpoints
    for checkpoint in checkpoints:
        assert "s" in checkpoint["sources"] and "out" in checkpoint["sinks"] and "state" in checkpoint
    # a checkpoint follows each batch commit: the batch is durable before it is checkpointed
    for i, event in enumerate(log):
        if event["type"] == "batch_committed":
            assert log[i + 1]["type"] == "checkpoint_saved"
    assert log[-1]["data"]["counts"]["read"] == 5


def test_status_through_the_lifecycle(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert status(path)["status"] == "created"
    assert flowc("run", str(path), "--quiet").returncode == 0
    shown = status(path)
    assert shown["status"] == "completed"
    assert shown["totals"]["read"] == 5 and shown["totals"]["written"] == {"out": 4}
    text = flowc("status", str(path))
    assert text.returncode == 0 and "completed" in text.stdout


def test_failed_run_records_the_reason(tmp_path):
    path = spec(tmp_path, """
        sources:
          s: {type: inline, records: [{s: "1"}, {s: "x"}]}
        steps:
          - map: {n: to_int(s)}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet").returncode == 1
    log = lines(tmp_path / ".flow/p/events.log")
    assert log[-1]["type"] == "failed"
    assert "map_1" in log[-1]["data"]["reason"] and "x" in log[-1]["data"]["reason"]
    assert status(path)["status"] == "failed"


def test_torn_last_line_is_ignored(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    log_file = tmp_path / ".flow/p/events.log"
    whole = log_file.read_text()
    log_file.write_text(whole + '{"seq": 99, "at": "2026-01-0')
    assert status(path)["status"] == "completed"
    listed = flowc("events", str(path))
    assert listed.returncode == 0
    assert [json.loads(x) for x in listed.stdout.splitlines()] == [json.loads(x) for x in whole.splitlines()]
    again = flowc("run", str(path))
    assert again.returncode == 0 and "completed" in again.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4, 5]


def test_a_torn_tail_of_a_stopped_run_resumes_from_the_last_whole_checkpoint(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    reference = (tmp_path / "out.jsonl").read_bytes()
    log_file = tmp_path / ".flow/p/events.log"
    kept = log_file.read_text().splitlines(keepends=True)
    # cut the log inside the second batch's checkpoint: as if the process died while writing it
    cut = [i for i, x in enumerate(kept) if '"checkpoint_saved"' in x][1]
    log_file.write_text("".join(kept[:cut]) + kept[cut][: len(kept[cut]) // 2])
    resumed = flowc("run", str(path), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == reference
    log = lines(log_file)  # the torn line was cut away by the next append: every line is whole
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert log[-1]["type"] == "completed"


def test_a_corrupt_middle_event_is_refused(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    log_file = tmp_path / ".flow/p/events.log"
    kept = log_file.read_text().splitlines(keepends=True)
    kept[2] = kept[2].replace('"read":2', '"read":7')
    log_file.write_text("".join(kept))
    shown = flowc("status", str(path))
    assert shown.returncode == 1
    assert "events.log:3" in shown.stderr and "checksum" in shown.stderr


def test_events_prints_each_event_as_stored(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    listed = flowc("events", str(path))
    assert listed.returncode == 0
    assert listed.stdout == (tmp_path / ".flow/p/events.log").read_text()


def test_pause_resume_and_sigterm_on_a_running_pipeline(tmp_path):
    path = spec(tmp_path, SLOW)
    process = start(path)
    followed_file = (tmp_path / "followed.jsonl").open("w")  # not a pipe: nobody reads it until the end
    follower = subprocess.Popen([*FLOWC, "events", str(path), "--follow"], stdout=followed_file,
                                stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: status(path)["status"] == "running" and status(path)["totals"]["read"] > 0)
        paused = flowc("pause", str(path))
        assert paused.returncode == 0, paused.stderr
        wait_for(lambda: status(path)["status"] == "paused")
        read = status(path)["totals"]["read"]
        time.sleep(0.6)
        assert status(path)["totals"]["read"] == read  # sources no longer read
        assert flowc("resume", str(path)).returncode == 0
        wait_for(lambda: status(path)["status"] == "running" and status(path)["totals"]["read"] > read)
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 130
        assert status(path)["status"] == "stopped"
        log = lines(tmp_path / ".flow/p/events.log")
        types = [e["type"] for e in log]
        assert types.index("paused") < types.index("resumed") < types.index("stopped") == len(types) - 1
        assert log[-2]["type"] == "checkpoint_saved"
        written = [json.loads(x)["n"] for x in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert written == list(range(len(written)))
        assert len(written) == log[-1]["data"]["counts"]["read"]
        # --follow printed the events as they came, through `stopped`
        wait_for(lambda: (tmp_path / ".flow/p/events.log").read_text().count("\n") > 0)
        time.sleep(1.0)
        follower.send_signal(signal.SIGINT)
        _, ferr = follower.communicate(timeout=10)
        assert follower.returncode == 0, ferr
        followed = lines(tmp_path / "followed.jsonl")
        assert [e["seq"] for e in followed] == [e["seq"] for e in log]
    finally:
        stop(process)
        stop(follower)
        followed_file.close()


def test_a_second_process_on_the_same_state_dir_is_refused(tmp_path):
    path = spec(tmp_path, SLOW)
    process = start(path)
    try:
        wait_for(lambda: status(path)["status"] == "running")
        second = flowc("run", str(path))
        assert second.returncode == 1
        assert "another" in second.stderr or "lock" in second.stderr
    finally:
        stop(process)


def test_pause_without_a_running_process_is_an_error(tmp_path):
    path = spec(tmp_path, SIMPLE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    asked = flowc("pause", str(path))
    assert asked.returncode == 1
    assert asked.stderr


AGG = """
settings: {batch_size: 2}
sources:
  s: {type: inline, records: [{k: a, n: 1}, {k: b, n: 2}, {k: a, n: 3}, {k: b, n: 4}, {k: a, n: 5}]}
steps:
  - name: agg
    aggregate: {by: [k], compute: {total: sum(n)}}
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_incompatible_plan_change_refuses_to_resume_and_reset_starts_over(tmp_path):
    path = spec(tmp_path, AGG)
    assert flowc("run", str(path), "--quiet", "--limit", "3").returncode == 0
    assert status(path)["status"] != "completed"
    path.write_text(path.read_text().replace("sum(n)", "max(n)"))
    refused = flowc("run", str(path))
    assert refused.returncode == 1
    assert "agg" in refused.stderr and "--reset" in refused.stderr
    reset = flowc("run", str(path), "--quiet", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert sorted(lines(tmp_path / "out.jsonl"), key=lambda r: r["k"]) == [{"k": "a", "total": 5},
                                                                          {"k": "b", "total": 4}]


def test_compatible_change_resumes(tmp_path):
    path = spec(tmp_path, AGG + "  more: {type: file, path: more.jsonl}\n")
    assert flowc("run", str(path), "--quiet", "--limit", "3").returncode == 0
    path.write_text(path.read_text().replace("batch_size: 2", "batch_size: 3"))  # settings may change
    resumed = flowc("run", str(path), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(lines(tmp_path / "out.jsonl"), key=lambda r: r["k"]) == [{"k": "a", "total": 9},
                                                                          {"k": "b", "total": 6}]


def test_reading_state_of_a_never_run_pipeline_creates_nothing(tmp_path):
    path = spec(tmp_path, SIMPLE)
    listed = flowc("events", str(path))
    assert listed.returncode == 0 and listed.stdout == ""
    assert status(path)["status"] == "created"
    assert flowc("run", str(path), "--dry-run").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.flow.yaml"]
