"""`flowc run`'s progress: plain or JSON lines when stderr is not a terminal, a rich Live panel on one."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

from rich.console import Console

from flowc.progress import LineProgress, Snapshot, render
from flowc.run_command import _Log
from flowc.runtime.executor import BatchReport
from flowc.runtime.lifecycle import Counts

FLOWC = [sys.executable, "-m", "flowc"]


def _spec(folder: Path, count: int, batch_size: int) -> Path:
    path = folder / "p.flow.yaml"
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(f"""
    settings: {{batch_size: {batch_size}}}
    sources:
      g: {{type: generate, count: {count}, fields: {{n: _n, odd: _n % 2 == 1}}}}
    steps:
      - filter: not odd
    sinks:
      out: {{type: file, path: out.jsonl}}
      all: {{type: file, path: all.jsonl, from: g}}
    """))
    return path


def _report(batch: int, read: int, total_read: int, written: dict[str, int], skipped: int = 0) -> BatchReport:
    return BatchReport(batch, "g", Counts(read=read), Counts(total_read, written, skipped, 0, 0))


def test_lines_come_at_most_once_a_second_with_the_running_totals(capsys):
    times = iter([10.0, 10.5, 10.99, 11.0, 13.5])
    progress = LineProgress(_Log(quiet=False, log_format="text"), clock=lambda: next(times))
    for batch in range(1, 6):
        progress(_report(batch, 10, batch * 10, {"out": batch * 5, "all": batch * 10}, skipped=batch))
    assert capsys.readouterr().err == (
        "flowc: batch committed batch=1 read=10 written=15 skipped=1 dead_lettered=0 late=0\n"
        "flowc: batch committed batch=4 read=40 written=60 skipped=4 dead_lettered=0 late=0\n"
        "flowc: batch committed batch=5 read=50 written=75 skipped=5 dead_lettered=0 late=0\n")


def test_json_lines_carry_the_same_fields(capsys):
    progress = LineProgress(_Log(quiet=False, log_format="json"), clock=lambda: 0.0)
    progress(_report(3, 7, 21, {"out": 4}))
    assert json.loads(capsys.readouterr().err) == {"event": "batch committed", "batch": 3, "read": 21, "written": 4,
                                                   "skipped": 0, "dead_lettered": 0, "late": 0}


def test_the_panel_shows_rate_batches_sinks_errors_and_elapsed():
    snapshot = Snapshot(started=100.0)
    snapshot.update(_report(2, 3000, 5000, {"out": 1500, "all": 3000}, skipped=7))  # 2000 read before a resume
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(render(snapshot, now=161.5))
    assert [line.rstrip() for line in console.file.getvalue().splitlines()] == [
        "read          5,000",
        "records/s        49",
        "batches           2",
        "written out   1,500",
        "written all   3,000",
        "errors            7  skipped 7, dead-lettered 0",
        "elapsed      1:01.5",
    ]


def test_not_a_terminal_plain_lines_then_the_summary_line(tmp_path):
    result = subprocess.run([*FLOWC, "run", str(_spec(tmp_path, 10, 4))], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"flowc: run started pipeline=p state_dir={tmp_path}/.flow/p"
    assert lines[1] == "flowc: batch committed batch=1 read=4 written=6 skipped=0 dead_lettered=0 late=0"
    assert all(re.fullmatch(r"flowc: batch committed batch=\d+ read=\d+ written=\d+ skipped=0 dead_lettered=0 late=0", x)
               for x in lines[2:-1])
    assert lines[-1] == "flowc: run completed, 3 batches: read=10, written out=5, written all=10, skipped=0, dead-lettered=0, late=0"
    assert "\x1b" not in result.stderr  # no terminal control sequences in a log file


def test_not_a_terminal_json_lines(tmp_path):
    result = subprocess.run([*FLOWC, "run", str(_spec(tmp_path, 10, 4)), "--log-format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in result.stderr.splitlines()]
    assert events[0] == {"event": "run started", "pipeline": "p", "state_dir": f"{tmp_path}/.flow/p"}
    assert events[1]["event"] == "batch committed" and events[1]["batch"] == 1
    assert events[-1] == {"event": "summary", "status": "completed", "batches": 3, "read": 10,
                          "written": {"all": 10, "out": 5}, "skipped": 0, "dead_lettered": 0, "late": 0}


def test_quiet_prints_nothing(tmp_path):
    result = subprocess.run([*FLOWC, "run", str(_spec(tmp_path, 10, 4)), "--quiet"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def _read_all(fd: int, process: subprocess.Popen, deadline: float) -> bytes:
    """Everything the child writes to the terminal, read in bounded chunks until it exits (or the deadline)."""
    out = bytearray()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif process.poll() is not None:
            break
    return bytes(out)


def test_on_a_terminal_a_live_panel_then_the_summary_table(tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([*FLOWC, "run", str(_spec(tmp_path, 400_000, 5_000))], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    try:
        screen = _read_all(master, process, time.monotonic() + 120).decode("utf-8", "replace")
        assert process.wait(timeout=30) == 0, screen[-2000:]
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    assert "records/s" in screen and "written out" in screen and "elapsed" in screen  # the live panel
    assert "\x1b[2K" in screen or "\x1b[1A" in screen  # redrawn in place, then erased (transient)
    assert "run completed, 80 batches" in screen  # the summary table's title
    assert re.search(r"written out\s*│\s*200,000", screen)  # ... and its rows, in a box
    assert "flowc: batch committed" not in screen  # no plain progress lines on a terminal
