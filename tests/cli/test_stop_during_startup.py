"""A stop asked for while `flowc run` starts (imports, compiling the spec) ends the run as one asked for
later does (SPEC §10): exit 130, a `stopped` event, no traceback. The signal is sent as soon as the
process catches SIGTERM (`SigCgt` in /proc), which is before Polars and the compiler are imported."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SPEC = """\
version: 1
pipeline: p
sources:
  g: {type: generate, fields: {x: _n}, rate: 50/s}
sinks:
  out: {type: file, path: out/g.jsonl, rotate: {max_records: 1000}}
"""


def _catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_during_startup_ends_the_run_cleanly(tmp_path, stop):
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(SPEC)
    process = subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not _catches_sigterm(process.pid):
        assert process.poll() is None and time.monotonic() < deadline, "flowc run never caught SIGTERM"
        time.sleep(0.002)
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    events = [json.loads(line) for line in (tmp_path / ".flow/p/events.log").read_text().splitlines()]
    assert events[-1]["type"] == "stopped"


def test_a_stop_caught_before_the_run_handlers_is_handed_to_them():
    """What `flowc.entry` catches before the imports reaches the run's own flag list."""
    import os

    from flowc import early_stop
    from flowc.run_command import install_stop_handlers

    before = {s: signal.getsignal(s) for s in early_stop.STOPS}
    early_stop.catch_during_startup()
    os.kill(os.getpid(), signal.SIGTERM)
    requested, previous = install_stop_handlers()
    try:
        assert requested == [True]
        assert previous == before  # the process's own handlers come back when the run ends
        os.kill(os.getpid(), signal.SIGINT)
        assert requested == [True, True]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert early_stop.handed_over() == ([], {})
