"""Pausing a running pipeline from another process (SPEC §9, §10 `flowc pause` / `flowc resume`).

The request is a file, `<state_dir>/pause`, holding the pid of the process it is addressed to:

    flowc pause   ->  request_pause(state_dir)   writes it (only while a process holds the lock)
    flowc resume  ->  request_resume(state_dir)  removes it
    the run       ->  PauseGate(state_dir, log).between_batches(should_stop)   after every checkpoint

The gate honours a request only when the pid in it is its own process: a request left behind by a
run that died while paused must not freeze the next run (it would pause after its first batch, with
nobody having asked). The file is written under a temporary name and renamed, so the gate never
reads half a request. The event log gets `paused` when the gate stops and `resumed` when it lets the
run go on (also when a stop request ends the pause: the run then records `stopped` as usual).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from flowc.runtime import events as ev
from flowc.runtime.lock import StateLock

REQUEST_NAME = "pause"
POLL_SECONDS = 0.2


class NotRunning(Exception):
    """No process holds the state directory's lock, so nobody would see the request."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        super().__init__(f"no flowc process is running the pipeline of {state_dir} (its lock is free)")
        self.state_dir = state_dir


def request_path(state_dir: str | os.PathLike[str]) -> Path:
    return Path(state_dir) / REQUEST_NAME


def running_pid(state_dir: str | os.PathLike[str], wait: float = 1.0) -> int:
    """The pid of the process running `state_dir`, or `NotRunning`. A run writes its pid into the lock
    file just after locking it: an unknown pid (-1) is waited for up to `wait` seconds, then returned."""
    deadline = time.monotonic() + wait
    while True:
        holder = StateLock(state_dir).holder()
        if holder is None:
            raise NotRunning(state_dir)
        if holder != -1 or time.monotonic() >= deadline:
            return holder
        time.sleep(0.05)


def requested_pid(state_dir: str | os.PathLike[str]) -> int | None:
    """The pid a pending pause request is addressed to, None when there is none."""
    try:
        data = json.loads(request_path(state_dir).read_text())
    except (FileNotFoundError, ValueError):
        return None
    pid = data.get("pid") if isinstance(data, dict) else None
    return pid if isinstance(pid, int) else None


def request_pause(state_dir: str | os.PathLike[str]) -> int:
    """Ask the running process to pause after its current batch; returns its pid (`NotRunning` if none)."""
    pid = running_pid(state_dir)
    path = request_path(state_dir)
    staging = path.with_name(f".{REQUEST_NAME}.{os.getpid()}.tmp")
    staging.write_text(json.dumps({"pid": pid, "at": ev.format_instant(ev.utc_now())}) + "\n")
    os.replace(staging, path)
    return pid


def request_resume(state_dir: str | os.PathLike[str]) -> int:
    """Withdraw the pause request so the paused (or about to pause) process goes on; returns its pid."""
    pid = running_pid(state_dir)
    request_path(state_dir).unlink(missing_ok=True)
    return pid


class PauseGate:
    """Called by the run between batches; blocks while a pause addressed to this process is pending."""

    def __init__(self, state_dir: str | os.PathLike[str], log: ev.EventLog,
                 sleep: Callable[[float], None] = time.sleep,
                 notify: Callable[[bool], None] = lambda paused: None) -> None:
        # `notify(True)` once `paused` is recorded, `notify(False)` once `resumed` is: what `flowc run` shows
        self.state_dir, self.log, self._sleep, self._notify = state_dir, log, sleep, notify

    def requested(self) -> bool:
        return requested_pid(self.state_dir) == os.getpid()

    def between_batches(self, should_stop: Callable[[], bool], settle: Callable[[], None] = lambda: None) -> None:
        """`settle` runs before `paused` is recorded: what the run still has in flight (sink writes one
        batch behind) lands first, so a paused run writes nothing."""
        if not self.requested():
            return
        settle()
        self.log.append(ev.PAUSED, {"pid": os.getpid()})
        self._notify(True)
        while self.requested():
            if should_stop():
                # The run is about to stop: the request dies with it rather than waiting for the next run.
                request_path(self.state_dir).unlink(missing_ok=True)
                self.log.append(ev.RESUMED, {"stop_requested": True})
                self._notify(False)
                return
            self._sleep(POLL_SECONDS)
        self.log.append(ev.RESUMED, {"stop_requested": False})
        self._notify(False)
