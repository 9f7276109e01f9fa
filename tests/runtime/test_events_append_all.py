"""`EventLog.append_all`: several events, one line each as `append` writes them, in one write and one fsync."""

import os
from pathlib import Path

import pytest

from flowc.runtime import events as ev
from flowc.runtime.events import EventLog, read_events


def test_append_all_writes_consecutive_lines_with_one_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = EventLog.open(tmp_path)
    log.append(ev.RUN_STARTED)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    written = log.append_all([(ev.BATCH_COMMITTED, {"batch": 1}), (ev.CHECKPOINT_SAVED, {"batch": 1, "sources": {}})])
    assert len(synced) == 1
    assert [e.seq for e in written] == [2, 3] and [e.type for e in written] == [ev.BATCH_COMMITTED, ev.CHECKPOINT_SAVED]
    events, torn = read_events(tmp_path / "events.log")
    assert not torn and events == log.events and events[1:] == tuple(written)
    assert (tmp_path / "events.log").read_bytes().count(b"\n") == 3


def test_an_unknown_type_in_append_all_writes_nothing(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    log.append(ev.RUN_STARTED)
    with pytest.raises(ValueError, match="unknown event type"):
        log.append_all([(ev.BATCH_COMMITTED, {"batch": 1}), ("nonsense", {})])
    assert [e.seq for e in read_events(tmp_path / "events.log")[0]] == [1] and len(log.events) == 1


def test_a_torn_pair_is_cut_before_the_next_append(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    log.append(ev.RUN_STARTED)
    good = (tmp_path / "events.log").read_bytes()
    log.append_all([(ev.BATCH_COMMITTED, {"batch": 1}), (ev.CHECKPOINT_SAVED, {"batch": 1})])
    whole = (tmp_path / "events.log").read_bytes()
    (tmp_path / "events.log").write_bytes(whole[: len(good) + 30])  # a crash inside the one write
    reopened = EventLog.open(tmp_path)
    assert reopened.torn and [e.seq for e in reopened.events] == [1]
    reopened.append(ev.STOPPED)
    assert [e.type for e in read_events(tmp_path / "events.log")[0]] == [ev.RUN_STARTED, ev.STOPPED]
