"""`flowc run` on a watched folder while another process writes a file in place: a line paused half
written for longer than the folder's rescan interval is read once, whole, when its newline arrives
(never a record error, never lost), also across a stop and resume; and `--quiet` stays quiet on
SIGINT/SIGTERM while the folder is busy (watchdog's shutdown race logged a line on stderr)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]

SPEC = """\
version: 1
pipeline: tail
settings:
  batch_timeout: 100ms
  on_error: dead_letter
  dead_letter: {type: file, path: out/dead.jsonl}
sources:
  logs:
    type: file
    path: in/*.jsonl
    watch: true
    schema: {id: int, name: string}
sinks:
  out: {type: file, path: out/ids.jsonl}
"""

PAUSE = 1.6  # longer than three rescans of the folder (every 0.5 s): the half line is seen unchanged


def line(i: int) -> str:
    return json.dumps({"id": i, "name": f"n{i}"}) + "\n"


def ids_in(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(text)["id"] for text in path.read_text().splitlines() if text.endswith("}")]


def start(spec: Path) -> subprocess.Popen:
    return subprocess.Popen([*FLOWC, "run", str(spec), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def wait_for(path: Path, count: int, process: subprocess.Popen, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while len(ids_in(path)) < count:
        assert process.poll() is None, f"flowc run ended early: {process.returncode} {process.communicate()}"
        assert time.monotonic() < end, f"only {len(ids_in(path))} of {count} records arrived"
        time.sleep(0.05)


def append(path: Path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def checkpoints(tmp_path: Path) -> list[dict]:
    events = (tmp_path / ".flow/tail/events.log").read_text().splitlines()
    return [e["data"]["sources"]["logs"] for e in map(json.loads, events) if e["type"] == "checkpoint_saved"]


def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    spec = tmp_path / "tail.flow.yaml"
    spec.write_text(SPEC)
    (tmp_path / "in").mkdir()
    return spec, tmp_path / "in/a.jsonl", tmp_path / "out/ids.jsonl"


def test_a_line_paused_half_written_is_read_once_whole_when_its_newline_arrives(tmp_path):
    spec, log, out = setup(tmp_path)
    head = "".join(map(line, range(20)))
    log.write_text(head)
    process = start(spec)
    wait_for(out, 20, process)
    cut = line(20)[:9]
    append(log, cut)  # '{"id": 20' with no newline yet
    time.sleep(PAUSE)
    append(log, line(20)[9:] + "".join(map(line, range(21, 40))))
    wait_for(out, 40, process)
    code, _, err = stop(process)
    assert (code, err) == (130, "")
    assert ids_in(out) == list(range(40))
    assert not (tmp_path / "out/dead.jsonl").exists() or (tmp_path / "out/dead.jsonl").read_text() == ""
    offsets = [c["files"].get("in/a.jsonl") for c in checkpoints(tmp_path)]
    assert [len(head), 20] in offsets  # the half line was never counted as read
    boundaries = {len("".join(map(line, range(n)))) for n in range(41)}
    assert all(o is None or o[0] in boundaries for o in offsets)  # every offset ends a whole line


def test_a_run_stopped_while_a_line_is_half_written_resumes_it_whole(tmp_path):
    spec, log, out = setup(tmp_path)
    head = "".join(map(line, range(10)))
    log.write_text(head + line(10)[:12])
    process = start(spec)
    wait_for(out, 10, process)
    time.sleep(PAUSE)
    code, _, err = stop(process)
    assert (code, err) == (130, "")
    assert checkpoints(tmp_path)[-1]["files"] == {"in/a.jsonl": [len(head), 10]}
    append(log, line(10)[12:] + line(11))  # completed while no run is watching
    process = start(spec)
    wait_for(out, 12, process)
    code, _, err = stop(process)
    assert (code, err) == (130, "")
    assert ids_in(out) == list(range(12))
    assert not (tmp_path / "out/dead.jsonl").exists() or (tmp_path / "out/dead.jsonl").read_text() == ""


def test_quiet_run_stopped_while_the_folder_is_busy_prints_nothing(tmp_path):
    spec, log, out = setup(tmp_path)
    log.write_text("")
    for attempt, signum in enumerate([signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGINT]):
        append(log, line(attempt))
        process = start(spec)
        wait_for(out, attempt + 1, process)  # running, its observer started
        busy = threading.Event()
        writer = threading.Thread(target=_churn, args=(tmp_path / "in/scratch.tmp", busy), daemon=True)
        writer.start()
        time.sleep(0.3)
        try:
            code, stdout, err = stop(process, signum)
        finally:
            busy.set()
            writer.join()
        assert (code, stdout, err) == (130, "", ""), f"attempt {attempt}"
    assert ids_in(out) == [0, 1, 2, 3]


def _churn(path: Path, done: threading.Event) -> None:
    """Filesystem events in the watched folder (a file the glob does not match) until told to stop."""
    while not done.is_set():
        with open(path, "a") as handle:
            handle.write("x\n")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_watched_folder_waits_without_spinning_once_its_file_is_read(tmp_path):
    """An audit found an idle watched run using a whole core: reading the current file opened it,
    and watchdog's open and close events woke the feed at once, again and again."""
    spec = tmp_path / "w.flow.yaml"
    spec.write_text(SPEC)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("".join(line(i) for i in range(3)))
    process = start(spec)
    try:
        wait_for(tmp_path / "out" / "ids.jsonl", 3, process)
        time.sleep(1.0)  # past the first scans after the read
        before = _cpu_seconds(process.pid)
        time.sleep(3.0)
        used = _cpu_seconds(process.pid) - before
    finally:
        code, _, err = stop(process)
    assert code == 130, err
    assert used < 0.6, f"an idle watched run used {used:.2f} CPU s in 3 s"
