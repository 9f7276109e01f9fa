"""Pause and resume requests between processes (runtime/control.py), with the real lock and event log."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from flowc.runtime import events as ev
from flowc.runtime.control import (
    NotRunning,
    PauseGate,
    request_path,
    request_pause,
    request_resume,
    requested_pid,
)
from flowc.runtime.lifecycle import Status, fold
from flowc.runtime.lock import StateLock


@pytest.fixture
def running(tmp_path):
    """A state directory whose lock this process holds and whose log says `running`."""
    with StateLock(tmp_path):
        log = ev.EventLog.open(tmp_path)
        log.append(ev.COMPILED, {})
        log.append(ev.RUN_STARTED, {})
        yield tmp_path, log


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def types(log: ev.EventLog) -> list[str]:
    return [e.type for e in ev.read_events(log.path)[0]]


def test_requests_need_a_running_process(tmp_path):
    with pytest.raises(NotRunning, match="no flowc process is running"):
        request_pause(tmp_path)
    with pytest.raises(NotRunning):
        request_resume(tmp_path)
    assert not request_path(tmp_path).exists()


def test_no_request_passes_straight_through(running):
    state_dir, log = running
    PauseGate(state_dir, log).between_batches(lambda: False)
    assert types(log) == ["compiled", "run_started"]


def test_pause_blocks_until_resume_and_logs_both(running):
    state_dir, log = running
    assert request_pause(state_dir) == os.getpid()
    assert requested_pid(state_dir) == os.getpid()
    gate = threading.Thread(target=PauseGate(state_dir, log).between_batches, args=(lambda: False,))
    gate.start()
    wait_until(lambda: types(log)[-1] == "paused")
    assert fold(ev.read_events(log.path)[0]).status is Status.PAUSED
    time.sleep(0.5)
    assert gate.is_alive(), "the gate must hold the run while the request stands"
    assert request_resume(state_dir) == os.getpid()
    gate.join(timeout=5)
    assert not gate.is_alive()
    assert types(log)[-2:] == ["paused", "resumed"]
    assert fold(ev.read_events(log.path)[0]).status is Status.RUNNING
    assert not request_path(state_dir).exists()


def test_what_is_in_flight_settles_before_paused_is_recorded_and_only_on_a_pause(running):
    state_dir, log = running
    settled: list[list[str]] = []
    PauseGate(state_dir, log).between_batches(lambda: False, settle=lambda: settled.append(types(log)))
    assert settled == []  # no request: nothing to wait for
    request_pause(state_dir)
    gate = threading.Thread(target=PauseGate(state_dir, log).between_batches,
                            args=(lambda: False, lambda: settled.append(types(log))))
    gate.start()
    wait_until(lambda: types(log)[-1] == "paused")
    assert settled == [["compiled", "run_started"]]  # before `paused`, once
    request_resume(state_dir)
    gate.join(timeout=5)
    assert not gate.is_alive()


def test_stop_request_ends_a_pause_and_drops_the_request(running):
    state_dir, log = running
    request_pause(state_dir)
    stop: list[bool] = []
    gate = threading.Thread(target=PauseGate(state_dir, log).between_batches, args=(lambda: bool(stop),))
    gate.start()
    wait_until(lambda: types(log)[-1] == "paused")
    stop.append(True)
    gate.join(timeout=5)
    assert not gate.is_alive()
    last = ev.read_events(log.path)[0][-1]
    assert (last.type, last.data) == ("resumed", {"stop_requested": True})
    assert not request_path(state_dir).exists()
    log.append(ev.STOPPED, {})
    assert fold(log.events).status is Status.STOPPED


def test_a_request_for_another_process_is_ignored(running):
    state_dir, log = running
    # Left behind by a run that died while paused: the next run must not freeze on it.
    request_path(state_dir).write_text(json.dumps({"pid": os.getpid() + 1_000_000}))
    PauseGate(state_dir, log).between_batches(lambda: False)
    assert types(log) == ["compiled", "run_started"]


def test_a_damaged_request_is_no_request(running):
    state_dir, log = running
    request_path(state_dir).write_text("{not json")
    assert requested_pid(state_dir) is None
    PauseGate(state_dir, log).between_batches(lambda: False)
    assert types(log) == ["compiled", "run_started"]


def test_resume_without_a_pause_changes_nothing(running):
    state_dir, log = running
    assert request_resume(state_dir) == os.getpid()
    assert not request_path(state_dir).exists()
    assert types(log) == ["compiled", "run_started"]
