"""Reading an event log as it grows, for `flowc events [--follow]`.

The reader keeps the byte offset of the events it has printed and, every 0.2 s, reads what follows.
Only whole lines are taken. A last line that is unfinished or fails its checksum is a write in
progress or a torn write that the next append cuts away (`flowc.runtime.events`): it is left unread
and tried again, so an event is printed once its line is complete and valid. A bad line with valid
lines after it is corruption. A log that shrinks below the offset was replaced (its state directory
removed and a new run started): it is read again from its start.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from flowc.runtime import events as ev

POLL_SECONDS = 0.2
Emit = Callable[[bytes, ev.Event], None]  # the line as stored (without "\n"), and the decoded event


class FollowError(Exception):
    pass


class Reader:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path, self.offset = path, 0
        self.lines = 0  # the lines before the offset: a corrupt one is named by its line, as `flowc status` does

    def drain(self, emit: Emit) -> bool:
        """Emit every complete valid event after the offset; True when a partial or bad last line remains."""
        try:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:
                    self.offset = self.lines = 0
                    raise _Replaced
                handle.seek(self.offset)
                content = handle.read()
        except FileNotFoundError:
            return False
        *complete, rest = content.split(b"\n")
        for number, line in enumerate(complete):
            decoded = ev._decode_line(line)  # the log's own check: same JSON shape and checksum rules
            if isinstance(decoded, str):
                if number == len(complete) - 1 and not rest:
                    return True
                raise FollowError(str(ev.EventLogCorrupt(self.path, self.lines + 1, decoded)))
            emit(line, decoded)
            self.offset += len(line) + 1
            self.lines += 1
        return bool(rest)


class _Replaced(Exception):
    pass


def read_all(path: str | os.PathLike[str], emit: Emit) -> bool:
    """Emit every event of the log; True when its torn last line was ignored."""
    return Reader(path).drain(emit)


def follow(path: str | os.PathLike[str], emit: Emit, note: Callable[[str], None],
           sleep: Callable[[float], None] = time.sleep) -> None:
    """Emit the log's events, then new ones as they are appended, until interrupted (KeyboardInterrupt)."""
    reader = Reader(path)
    while True:
        try:
            reader.drain(emit)
        except _Replaced:
            note(f"{path} was replaced; reading it from its start")
            continue
        sleep(POLL_SECONDS)


def format_event(event: ev.Event) -> str:
    """One line for people: `seq  at  type  key=value ...`; counts flattened, sink positions cut down
    to their record counts, hashes shortened (`flowc events` in jsonl has everything)."""
    data = dict(event.data)
    if isinstance(data.get("counts"), dict):
        counts = data.pop("counts")
        written = counts.get("written") or {}
        data.update({k: v for k, v in counts.items() if k != "written"})
        data["written"] = ",".join(f"{sink}:{n}" for sink, n in written.items()) or "0"
    if isinstance(data.get("sinks"), dict):
        data["sinks"] = ",".join(f"{sink}:{_records(p)}" for sink, p in data["sinks"].items())
    if isinstance(data.get("sources"), dict):
        data["sources"] = ",".join(f"{name}:{_source(p)}" for name, p in data["sources"].items())
    fields = " ".join(f"{key}={_show(value)}" for key, value in data.items())
    return f"{event.seq:>6}  {event.at}  {event.type:<16} {fields}".rstrip()


def _records(position: object) -> object:
    """A checkpoint's sink position as its record count; a `compiled` event's sink (no records yet:
    its path and form) as its file's name."""
    if not isinstance(position, dict):
        return position
    if "records" not in position and isinstance(position.get("path"), str):
        return os.path.basename(position["path"])
    return position.get("records", "?")


def _source(position: object) -> str:
    if isinstance(position, dict) and set(position) == {"row", "done"}:
        return f"{position['row']}" + ("(done)" if position["done"] else "")
    return json.dumps(position, separators=(",", ":"))


def _show(value: object) -> str:
    if isinstance(value, str) and value.startswith("sha256:"):
        return value[:19]  # enough to tell two hashes apart by eye
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text if len(text) <= 80 else text[:77] + "..."
    return text if text and " " not in text else json.dumps(text, ensure_ascii=False)
