"""A watched file source (`type: file`, `watch: true`; SPEC §3): new files read as they appear.

Files matching the glob are read in name order, each exactly once across restarts. A file is picked up
once it is complete: its size and modification time did not change for `scan_every` seconds (two
scans), or it was renamed into the folder (the safe way to publish a file: write `x.tmp`, rename to `x.csv`). Once
picked up, a file is read up to its last newline; a line still being written is left for later (its
bytes not counted in the offset), so a file may keep growing (a log) and a writer may pause mid-line.
An unterminated last line is read as the file's last record only once the file has not changed for
`tail_grace` seconds (default 5: far longer than a writer pauses between the halves of one line),
and the file is then finished. A file that was read to its end is finished as soon as a later file
(in name order) is ready, and the feed moves on.

A watchdog observer on the glob's folder wakes the feed when something changes; a scan every
`scan_every` seconds (default 0.5) is what decides, so nothing depends on events arriving.

`position()` is `{"row", "files": {file: [byte offset, lines read]}, "finished": [file, ...]}`:
finished files are never read again; a started file resumes at its offset, counting lines on.
"""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from flowc.compiler.spec import Source
from flowc.dsl.types import Struct
from flowc.runtime.quiet_watchdog import silence_watchdog
from flowc.runtime.sources.records import Item, frame_of, positions_of
from flowc.runtime.sources.watch_lines import (
    FORMATS,
    CsvOptions,
    decode_line,
    default_names,
    infer,
    split_csv,
    text_of,
    without_bom,
)

BLOCK = 1 << 20  # bytes read at a time
TAIL_GRACE = 5.0  # seconds a file must stay unchanged before its unterminated last line is read


class WatchFeed:
    def __init__(self, source: Source, base_dir: str, *, scan_every: float = 0.5, tail_grace: float = TAIL_GRACE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if source.format not in FORMATS:
            raise ValueError(f"source '{source.name}': a watched file source reads csv, jsonl or text, "
                             f"not '{source.format}'")
        if str(source.config.get("path", "")).endswith(".gz"):
            raise ValueError(f"source '{source.name}': a watched file source cannot read compressed files "
                             "(a growing .gz file cannot be read up to its last complete line)")
        self.source, self.base_dir, self.format = source, base_dir, source.format
        self.pattern = os.path.join(base_dir, str(source.config.get("path", "")))
        self.options = CsvOptions.of(source.config.get("options"))
        self.schema: Struct | None = source.schema
        self.infer_rows = int(source.config.get("infer_rows", 1000))
        self.scan_every, self.tail_grace, self.clock = scan_every, tail_grace, clock
        self._row = -1
        self._files: dict[str, list[int]] = {}  # started, unfinished file -> [offset, lines read]
        self._finished: set[str] = set()
        self._seen: dict[str, tuple[int, int, float]] = {}  # file -> (size, mtime, since when so)
        self._stable: set[str] = set()  # unchanged for `scan_every` at the last scan
        self._ready: set[str] = set()
        self._listed: list[str] = []
        self._names: dict[str, list[str]] = {}  # csv: each file's header
        self._moved: set[str] = set()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._next_scan = 0.0
        self._scanned_at = 0.0
        self._observer: Any = None
        self._batch: tuple[int, list[Item]] = (0, [])

    # --- the Feed protocol ---

    def open(self, position: Mapping[str, Any] | None) -> None:
        position = position or {}
        self._row = int(position.get("row", -1))
        self._files = {str(k): [int(v[0]), int(v[1])] for k, v in (position.get("files") or {}).items()}
        self._finished = set(position.get("finished") or ())
        self._ready |= set(self._files)  # picked up before the restart: complete then
        self._observe()

    def use_schema(self, schema: Struct) -> None:
        """Deliver records with `schema` (the one recorded in the event log when the source declares none)."""
        self.schema = schema

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None:
        deadline = time.monotonic() + timeout
        while True:
            if self.clock() >= self._next_scan or self._wake.is_set():
                self._wake.clear()
                self._scan()
            items = self._read(max_records)
            if items:
                return self._frame(items)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._wake.wait(max(0.0, min(remaining, self._next_scan - self.clock())))

    def position(self) -> dict[str, Any]:
        return {"row": self._row, "files": {k: list(v) for k, v in sorted(self._files.items())},
                "finished": sorted(self._finished)}

    def committed(self, position: Mapping[str, Any]) -> None:
        """Nothing to acknowledge: the files stay where they are (the offsets are the whole state)."""

    def positions(self, rows: pl.Expr) -> pl.Expr:
        first, items = self._batch
        return positions_of(rows, first, items)

    def exhausted(self) -> bool:
        return False

    def status(self) -> dict[str, Any]:
        pending = [f for f in self._listed if f not in self._finished and f not in self._files]
        current = {f: {"offset": o, "lines": n} for f, (o, n) in self._files.items()}
        return {"pending": pending, "reading": current, "finished": len(self._finished)}

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    # --- finding files ---

    def _observe(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        folder = _folder(self.pattern)
        if not os.path.isdir(folder):
            return  # the scans find files once the folder exists
        feed = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in _NOT_CHANGES:
                    return
                if event.event_type == "moved":
                    with feed._lock:
                        feed._moved.add(os.path.abspath(os.fsdecode(event.dest_path)))
                feed._wake.set()

        silence_watchdog()
        self._observer = Observer()
        self._observer.schedule(_Handler(), folder, recursive="**" in self.pattern)
        self._observer.start()

    def _scan(self) -> None:
        paths = sorted(glob.glob(self.pattern, recursive=True), key=lambda p: (os.path.basename(p), p))
        with self._lock:
            moved, self._moved = self._moved, set()
        listed, seen, stable, now = [], {}, set(), self.clock()
        for path in paths:
            name = os.path.relpath(path, self.base_dir)
            if name in self._finished:
                continue
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue  # removed since the listing
            if not os.path.isfile(path):
                continue
            if name.endswith(".gz"):  # matched by a wider glob (`in/*`): never read as text, nor skipped unsaid
                raise ValueError(f"source '{self.source.name}': a watched file source cannot read compressed "
                                 f"files, and '{name}' matches its path")
            before = self._seen.get(name)
            unchanged = before is not None and before[:2] == (stat.st_size, stat.st_mtime_ns)
            seen[name] = (stat.st_size, stat.st_mtime_ns, before[2] if unchanged else now)
            listed.append(name)
            if unchanged and now - before[2] >= self.scan_every:
                stable.add(name)
            if name in stable or os.path.abspath(path) in moved:
                self._ready.add(name)
        self._listed, self._seen, self._stable = listed, seen, stable
        for name in [n for n in self._files if n not in seen]:
            self._finish(name)  # removed after it was started: read as far as it existed
        self._scanned_at, self._next_scan = now, now + self.scan_every

    # --- reading ---

    def _read(self, limit: int) -> list[Item]:
        """Records from the files in name order: the first unfinished file must be ready to be read."""
        items: list[Item] = []
        for index, name in enumerate(self._listed):
            if name in self._finished:
                continue
            if name not in self._ready or len(items) >= limit:
                break
            items += self._read_file(name, limit - len(items))
            offset = self._files.get(name, [0, 0])[0]
            size = self._seen.get(name, (0, 0))[0]
            later_ready = any(n in self._ready for n in self._listed[index + 1:])
            if name in self._finished or (offset >= size and name in self._stable and later_ready):
                self._finish(name)
                continue
            break
        return items

    def _read_file(self, name: str, limit: int) -> list[Item]:
        path = os.path.join(self.base_dir, name)
        offset, lines = self._files.setdefault(name, [0, 0])
        items: list[Item] = []
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after the tail is decided
        except FileNotFoundError:
            self._finish(name)  # gone: it was read as far as it existed
            return items
        with handle:
            handle.seek(offset)
            buffer, start = b"", 0
            while len(items) < limit:
                newline = buffer.find(b"\n", start)
                if newline < 0:
                    block = handle.read(BLOCK)
                    if not block:
                        break
                    buffer, start = buffer[start:] + block, 0
                    continue
                raw, start = buffer[start:newline], newline + 1
                offset, lines = offset + len(raw) + 1, lines + 1
                self._take(name, raw, lines, items)
            self._files[name] = [offset, lines]
            tail = buffer[start:] if len(items) < limit else b""
            if tail and self._idle(name) >= self.tail_grace and offset + len(tail) == self._seen[name][0]:
                self._files[name] = [offset + len(tail), lines + 1]
                self._take(name, tail, lines + 1, items)
                self._finish(name)  # a line with no newline ends the file: appending after it would split it
        return items

    def _idle(self, name: str) -> float:
        """How long the scans have seen `name` unchanged (0 for a file changed at the last scan)."""
        return self._scanned_at - self._seen[name][2] if name in self._seen else 0.0

    def _take(self, name: str, raw: bytes, line: int, items: list[Item]) -> None:
        raw = without_bom(raw, line, self.options.encoding)
        if self.format == "csv" and self.options.header and name not in self._names and line == 1:
            self._names[name] = split_csv(text_of(raw, self.options.encoding, lossy=True), self.options)
            return
        item = decode_line(self.format, raw, f"{name}:{line}", self._csv_names(name, raw), self.options)
        if item is not None:
            items.append(item)

    def _csv_names(self, name: str, raw: bytes) -> list[str] | None:
        if self.format != "csv":
            return None
        if self.options.header:
            if name not in self._names:  # resumed past the header: read it again
                with open(os.path.join(self.base_dir, name), "rb") as handle:
                    first = without_bom(handle.readline().rstrip(b"\n"), 1, self.options.encoding)
                    self._names[name] = split_csv(text_of(first, self.options.encoding, lossy=True), self.options)
            return self._names[name]
        if self.schema is not None:
            return [n for n, _ in self.schema.fields]
        return default_names(len(split_csv(text_of(raw, self.options.encoding, lossy=True), self.options)))

    def _finish(self, name: str) -> None:
        self._finished.add(name)
        self._files.pop(name, None)
        self._names.pop(name, None)

    def _frame(self, items: list[Item]) -> pl.DataFrame:
        schema = self.schema if self.schema is not None else infer(self.format, items, self.infer_rows)
        if schema.fields:
            self.schema = schema
        first = self._row + 1
        self._row += len(items)
        self._batch = (first, items)
        return frame_of(items, schema, first)


# watchdog reports a file opened or closed without a write too: the feed's own reads of the current
# file are such events, and waking on them kept it reading in a loop (a core busy while idle)
_NOT_CHANGES = frozenset({"opened", "closed_no_write"})


def _folder(pattern: str) -> str:
    """The deepest folder of a glob without wildcards in it (`/in/*/x.csv` -> `/in`)."""
    parts = pattern.split(os.sep)
    cut = next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts) - 1)
    return os.sep.join(parts[:cut]) or os.sep
