"""The event log: `<state_dir>/events.log`, append-only JSON lines (SPEC §9).

One event per line, keys in this order::

    {"seq":1,"at":"2026-01-01T00:00:05.000123Z","type":"run_started","data":{},"checksum":"sha256:…"}

`seq` counts from 1 without gaps; `at` is UTC with microseconds; `data` is plain JSON. `checksum` is
`sha256:` + the hex SHA-256 of the UTF-8 canonical JSON of the other four fields (an object with
keys sorted, separators `,` and `:`, non-ASCII kept, NaN refused). Appends are fsynced one by one,
so a crash can only damage the last line: a torn or checksum-failing last line is ignored when read
and cut away before the next append. Damage anywhere else is `EventLogCorrupt`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowc.runtime.durable import cut_file, fsync_directory, make_directory

LOG_NAME = "events.log"

COMPILED = "compiled"  # spec_hash, plan_hash, schema
RUN_STARTED = "run_started"
BATCH_COMMITTED = "batch_committed"  # batch, counts: {read, written: {sink: n}, skipped, dead_lettered, late}
CHECKPOINT_SAVED = "checkpoint_saved"  # batch, sources: {name: pos}, state: ref, sinks: {name: pos}
PAUSED = "paused"
RESUMED = "resumed"
STOPPED = "stopped"
COMPLETED = "completed"
FAILED = "failed"  # reason
RESET = "reset"
ENRICH_RELOADED = "enrich_reloaded"  # batch, step, path: an enrich table re-read, in effect from that batch

EVENT_TYPES = frozenset(
    {COMPILED, RUN_STARTED, BATCH_COMMITTED, CHECKPOINT_SAVED, PAUSED, RESUMED, STOPPED, COMPLETED, FAILED, RESET,
     ENRICH_RELOADED}
)


class EventLogCorrupt(Exception):
    """A line other than the last is not a valid event: the log cannot be trusted."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: corrupt event log: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    at: str
    type: str
    data: Mapping[str, Any]
    checksum: str


def checksum(seq: int, at: str, type_: str, data: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {"seq": seq, "at": at, "type": type_, "data": data},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def encode_event(event: Event) -> bytes:
    fields = {"seq": event.seq, "at": event.at, "type": event.type, "data": event.data, "checksum": event.checksum}
    return (json.dumps(fields, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode()


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _decode_line(line: bytes) -> Event | str:
    """The event on `line`, or why it is not one."""
    try:
        raw = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"not JSON ({error})"
    if not isinstance(raw, dict) or list(raw) != ["seq", "at", "type", "data", "checksum"]:
        return "expected the keys seq, at, type, data, checksum in that order"
    event = Event(raw["seq"], raw["at"], raw["type"], raw["data"], raw["checksum"])
    if not isinstance(event.data, dict) or event.type not in EVENT_TYPES:
        return f"unknown event type {event.type!r} or data that is not an object"
    if event.checksum != checksum(event.seq, event.at, event.type, event.data):
        return "checksum mismatch"
    return event


def scan_events(path: Path) -> tuple[tuple[Event, ...], int, bool]:
    """(events, length of the valid prefix in bytes, whether a torn last line follows it)."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return (), 0, False
    lines = content.split(b"\n")
    # A complete file ends with "\n", so the last piece is b""; anything else is an unfinished line.
    complete, unfinished = lines[:-1], lines[-1]
    events: list[Event] = []
    valid = 0
    for number, line in enumerate(complete, start=1):
        decoded = _decode_line(line)
        if isinstance(decoded, str):
            if number == len(complete) and not unfinished:
                return tuple(events), valid, True
            raise EventLogCorrupt(path, number, decoded)
        if decoded.seq != number:
            # A tear cannot produce a well-formed line with a valid checksum: this is tampering or a bug.
            raise EventLogCorrupt(path, number, f"seq {decoded.seq} where {number} was expected")
        events.append(decoded)
        valid += len(line) + 1
    return tuple(events), valid, bool(unfinished)


def read_events(path: str | os.PathLike[str]) -> tuple[tuple[Event, ...], bool]:
    """All valid events of the log at `path` and whether a torn last line was ignored."""
    events, _, torn = scan_events(Path(path))
    return events, torn


class EventLog:
    """The appending side of one state directory's event log (only the lock holder appends)."""

    def __init__(self, path: Path, events: tuple[Event, ...], valid_length: int, torn: bool,
                 clock: Callable[[], datetime]) -> None:
        self.path = path
        self._events = list(events)
        self._valid_length = valid_length
        self._torn = torn
        self._clock = clock

    @classmethod
    def open(cls, state_dir: str | os.PathLike[str], clock: Callable[[], datetime] = utc_now) -> EventLog:
        folder = Path(state_dir)
        make_directory(folder)
        path = folder / LOG_NAME
        events, valid_length, torn = scan_events(path)
        return cls(path, events, valid_length, torn, clock)

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    @property
    def torn(self) -> bool:
        """Whether a torn last line is still on disk (it goes with the next append)."""
        return self._torn

    def append(self, type_: str, data: Mapping[str, Any] | None = None) -> Event:
        return self.append_all([(type_, data)])[0]

    def append_all(self, items: Sequence[tuple[str, Mapping[str, Any] | None]]) -> list[Event]:
        """Append several events (one line each) with one write and one fsync: a batch's
        `batch_committed` and `checkpoint_saved` cost one durable write, not two. A crash can still
        leave a torn last line, which the next append cuts as before."""
        events = []
        for type_, data in items:
            if type_ not in EVENT_TYPES:
                raise ValueError(f"unknown event type {type_!r}")
            # Round-trip through JSON so the in-memory event equals what a reader will see (tuples -> lists).
            plain = json.loads(json.dumps(dict(data or {}), allow_nan=False))
            seq, at = len(self._events) + len(events) + 1, format_instant(self._clock())
            events.append(Event(seq, at, type_, plain, checksum(seq, at, type_, plain)))
        if self._torn:
            cut_file(self.path, self._valid_length)
            self._torn = False
        line = b"".join(encode_event(event) for event in events)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        except OSError:
            self._torn = True  # part of the lines may be on disk: the next append cuts them first
            raise
        finally:
            os.close(fd)
        if created:
            fsync_directory(self.path.parent)
        self._events.extend(events)
        self._valid_length += len(line)
        return events
