import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowc.runtime import events as ev
from flowc.runtime.events import EventLog, EventLogCorrupt, read_events


def fixed_clock() -> datetime:
    return datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_append_then_read_round_trips(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path / "state", clock=fixed_clock)
    first = log.append(ev.RUN_STARTED)
    second = log.append(ev.BATCH_COMMITTED, {"batch": 1, "counts": {"read": 3, "written": {"out": 2}}})
    events, torn = read_events(tmp_path / "state" / "events.log")
    assert (events, torn) == ((first, second), False)
    assert second.seq == 2 and second.at == "2026-01-02T03:04:05.000006Z"
    assert log.events == events


def test_a_line_has_the_documented_keys_order_and_checksum(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path, clock=fixed_clock)
    log.append(ev.FAILED, {"reason": "sink 'out' refused: ünïcode"})
    line = (tmp_path / "events.log").read_text().splitlines()[0]
    raw = json.loads(line)
    assert list(raw) == ["seq", "at", "type", "data", "checksum"]
    canonical = json.dumps({k: raw[k] for k in ("seq", "at", "type", "data")}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    import hashlib

    assert raw["checksum"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_data_is_plain_json_in_memory_as_on_disk(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    event = log.append(ev.COMPILED, {"spec_hash": "a", "plan_hash": "b", "schema": {"x": ("int", 1)}})
    assert event.data["schema"] == {"x": ["int", 1]}
    assert read_events(tmp_path / "events.log")[0][0] == event


def test_non_json_data_and_unknown_types_are_refused(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    with pytest.raises(ValueError, match="unknown event type 'exploded'"):
        log.append("exploded")
    with pytest.raises(ValueError):
        log.append(ev.FAILED, {"reason": float("nan")})
    with pytest.raises(TypeError):
        log.append(ev.FAILED, {"reason": object()})
    assert not (tmp_path / "events.log").exists()


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    log.append(ev.RUN_STARTED)
    log.append(ev.BATCH_COMMITTED, {"batch": 1})
    path = tmp_path / "events.log"
    whole = path.read_bytes()
    good = whole[: whole.index(b"\n") + 1]
    path.write_bytes(whole[: len(good) + 20])  # the second line, half written
    events, torn = read_events(path)
    assert torn and [e.seq for e in events] == [1]
    reopened = EventLog.open(tmp_path)
    assert reopened.torn
    again = reopened.append(ev.STOPPED)
    assert again.seq == 2
    assert path.read_bytes().startswith(good) and path.read_bytes().count(b"\n") == 2
    assert read_events(path) == ((events[0], again), False)


@pytest.mark.parametrize("damage", ["checksum", "nul bytes", "not json"])
def test_a_damaged_complete_last_line_counts_as_torn(tmp_path: Path, damage: str) -> None:
    log = EventLog.open(tmp_path)
    log.append(ev.RUN_STARTED)
    last = log.append(ev.PAUSED)
    path = tmp_path / "events.log"
    content = path.read_bytes()
    if damage == "checksum":
        broken = content.replace(last.checksum.encode(), b"sha256:" + b"0" * 64)
    elif damage == "nul bytes":
        broken = content + b"\0" * 40  # what a filesystem may leave after a crash mid-append
    else:
        broken = content[: content.index(b"\n") + 1] + b'{"seq":2,"at"\n'
    path.write_bytes(broken)
    events, torn = read_events(path)
    assert torn and events[-1].seq == (2 if damage == "nul bytes" else 1)


def test_a_bad_line_in_the_middle_is_corruption_with_its_line_number(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    for _ in range(3):
        log.append(ev.BATCH_COMMITTED, {"batch": 1})
    path = tmp_path / "events.log"
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"batch":1', b'"batch":9')
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(EventLogCorrupt, match=r"events.log:2: corrupt event log: checksum mismatch") as caught:
        read_events(path)
    assert caught.value.line == 2
    with pytest.raises(EventLogCorrupt):
        EventLog.open(tmp_path)


def test_a_gap_in_seq_is_corruption_even_on_the_last_line(tmp_path: Path) -> None:
    log = EventLog.open(tmp_path)
    log.append(ev.RUN_STARTED)
    line = ev.encode_event(ev.Event(3, "2026-01-01T00:00:00.000000Z", ev.STOPPED, {},
                                    ev.checksum(3, "2026-01-01T00:00:00.000000Z", ev.STOPPED, {})))
    with open(tmp_path / "events.log", "ab") as handle:
        handle.write(line)
    with pytest.raises(EventLogCorrupt, match="seq 3 where 2 was expected"):
        read_events(tmp_path / "events.log")


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    assert read_events(tmp_path / "events.log") == ((), False)


def test_appends_fsync_the_file_and_the_new_directory_entries(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A spy around the real os.fsync records what was synced (by the path of each descriptor)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    state = tmp_path / "deep" / "state"
    log = EventLog.open(state)
    assert synced == [str(tmp_path), str(tmp_path / "deep")]  # each new folder's entry
    synced.clear()
    log.append(ev.RUN_STARTED)
    assert synced == [str(state / "events.log"), str(state)]  # the line, then the new file's entry
    synced.clear()
    log.append(ev.STOPPED)
    assert synced == [str(state / "events.log")]
