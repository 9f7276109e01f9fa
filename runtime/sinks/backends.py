"""How each file format stores a file in progress, and completes it.

- jsonl, csv: appended to the output file itself; with gzip every append is one gzip member
  (mtime 0, so members are reproducible), and a file cut at a member boundary is valid gzip.
- json: JSON lines appended to a hidden staging file `.<name>.staging`; completing the file streams
  the staging into `[...]` under `.<name>.tmp` and renames it to `<name>`.
- parquet: one Arrow IPC part per append in `.<name>.parts/`; completing the file streams the parts
  through `sink_parquet` (bounded memory) into `.<name>.tmp` and renames it.

The staging of a completed file stays until the writer is told a position listing the file as
complete was recorded (`release`): until then a crash may resume from an older position that still
needs it. `sync` makes everything appended so far durable and says how much that is.
"""

from __future__ import annotations

import csv
import gzip
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from flowc.runtime.durable import cut_file, fsync_directory, fsync_file, write_atomically
from flowc.runtime.sinks.encoding import csv_header, csv_pieces, jsonl_pieces

ARTIFACT_SUFFIXES = (".staging", ".parts", ".tmp")
GZIP_LEVEL = 6
CHUNK = 1 << 20


class SinkRestoreError(Exception):
    """The files on disk cannot be brought back to the checkpointed position."""


# what a user can do when an output the checkpoint counts on was removed or cut: flowc does not guess
CHANGED_OUTSIDE_HELP = "put the file back as it was, or start over with --reset"


def artifact(path: Path, suffix: str) -> Path:
    return path.with_name(f".{path.name}{suffix}")


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class AppendBackend:
    """jsonl and csv: records are appended to the output file as they come."""

    def __init__(self, format_: str, compression: str | None) -> None:
        self.csv = format_ == "csv"
        self.gzip = compression == "gzip"
        self._handle: Any = None
        self._length = 0
        self._new_entries: set[Path] = set()

    def target(self, path: Path) -> Path:
        return path

    def encode(self, df: pl.DataFrame) -> list[bytes]:
        return csv_pieces(df) if self.csv else jsonl_pieces(df)

    def append(self, path: Path, df: pl.DataFrame | None, data: list[bytes], first: bool, schema: pl.Schema) -> None:
        """Append the records encoded as the pieces `data` (`encode`; `df`, the records, is not needed)."""
        if first and self.csv and schema:  # no columns known: no header line (a lone "\n" is not one)
            data = [csv_header(schema), *data]
        if self.gzip:
            data = [gzip.compress(b"".join(data), compresslevel=GZIP_LEVEL, mtime=0)]
        self._open(path).writelines(data)  # one after the other: no joined copy of the batch
        self._length += sum(map(len, data))

    def _open(self, path: Path) -> Any:
        if self._handle is None:
            target = self.target(path)
            if not target.exists():
                self._new_entries.add(target.parent)
            self._handle = open(target, "ab")  # noqa: SIM115 -- held open across appends, closed in finish
        return self._handle

    def sync(self) -> dict[str, Any]:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        for folder in self._new_entries:
            fsync_directory(folder)
        self._new_entries.clear()
        return {"length": self._length}

    def finish(self, path: Path, schema: pl.Schema | None) -> int:
        if self._length == 0:  # an output with no records still gets its file: empty, or csv's header row
            self.append(path, pl.DataFrame(), [], True, schema or pl.Schema())
        self._open(path)
        self.sync()
        self._handle.close()
        self._handle, length, self._length = None, self._length, 0
        return length

    def restore(self, path: Path, state: Mapping[str, Any] | None) -> None:
        self.abandon()
        target = self.target(path)
        if state is None:
            target.unlink(missing_ok=True)
            return
        size = target.stat().st_size if target.exists() else -1
        if size < state["length"]:
            found = "is missing" if size < 0 else f"holds {size} bytes"
            raise SinkRestoreError(f"{target} {found} but the checkpoint recorded {state['length']}: it was "
                                   f"changed outside flowc; {CHANGED_OUTSIDE_HELP}")
        cut_file(target, state["length"])
        self._length = state["length"]

    def written_columns(self, path: Path) -> list[str] | None:
        """The names in the header row of the csv file in progress (None: not csv, or no file)."""
        target = self.target(path)
        if not self.csv or not target.exists():
            return None
        with (gzip.open(target, "rb") if self.gzip else open(target, "rb")) as handle:
            first = handle.readline().rstrip(b"\r\n").decode()
        return next(csv.reader([first]), []) if first else []  # no header: records of no fields

    def abandon(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle, self._length = None, 0

    def leftovers(self, path: Path) -> list[Path]:
        return []


class JsonBackend(AppendBackend):
    """json: JSON lines staged beside the output, wrapped into one array when the file completes."""

    def __init__(self, format_: str, compression: str | None) -> None:
        super().__init__("jsonl", None)
        self.gzip_output = compression == "gzip"

    def target(self, path: Path) -> Path:
        return artifact(path, ".staging")

    def finish(self, path: Path, schema: pl.Schema | None) -> int:
        staging = self.target(path)
        super().finish(path, schema)
        write_atomically(path, lambda handle: _write_array(staging, handle, self.gzip_output))
        return path.stat().st_size

    def restore(self, path: Path, state: Mapping[str, Any] | None) -> None:
        remove(path)  # not complete at this position: it is assembled again when it is
        remove(artifact(path, ".tmp"))
        super().restore(path, state)

    def leftovers(self, path: Path) -> list[Path]:
        return [self.target(path)]


def _write_array(staging: Path, handle: Any, compress: bool) -> None:
    """Stream JSON lines into `[\\n line,\\n line\\n]\\n`, a chunk at a time."""
    # filename="": the header would otherwise keep the temporary name (`gunzip -N` restores it)
    out = gzip.GzipFile(filename="", fileobj=handle, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) if compress else handle
    remaining = staging.stat().st_size
    if not remaining:
        out.write(b"[]\n")
    else:
        out.write(b"[\n")
        with open(staging, "rb") as lines:
            while remaining:
                chunk = lines.read(CHUNK)
                remaining -= len(chunk)
                out.write((chunk if remaining else chunk[:-1]).replace(b"\n", b",\n"))
        out.write(b"\n]\n")
    if compress:
        out.close()


class ParquetBackend:
    """parquet: durable Arrow IPC parts, merged into one Parquet file when the file completes."""

    def __init__(self, format_: str, compression: str | None) -> None:
        self.codec = compression or "uncompressed"
        self._parts: list[list[Any]] = []  # [name, rows]
        self._unsynced: list[Path] = []
        self._new_entries: set[Path] = set()

    def encode(self, df: pl.DataFrame) -> None:
        return None

    def append(self, path: Path, df: pl.DataFrame, data: list[bytes] | None, first: bool, schema: pl.Schema) -> None:
        folder = artifact(path, ".parts")
        if not folder.exists():
            folder.mkdir()
            self._new_entries.add(folder.parent)
        part = folder / f"part-{len(self._parts) + 1:06d}.arrow"
        df.write_ipc(part)
        self._parts.append([part.name, df.height])
        self._unsynced.append(part)
        self._new_entries.add(folder)

    def sync(self) -> dict[str, Any]:
        for part in self._unsynced:
            fsync_file(part)
        for folder in self._new_entries:
            fsync_directory(folder)
        self._unsynced.clear()
        self._new_entries.clear()
        return {"parts": [list(part) for part in self._parts]}

    def finish(self, path: Path, schema: pl.Schema | None) -> int:
        self.sync()
        temp = artifact(path, ".tmp")
        if self._parts:
            files = [artifact(path, ".parts") / name for name, _ in self._parts]
            pl.scan_ipc(files).sink_parquet(temp, compression=self.codec, maintain_order=True)
        else:
            pl.DataFrame(schema=schema).write_parquet(temp, compression=self.codec)
        fsync_file(temp)
        os.replace(temp, path)
        fsync_directory(path.parent)
        self._parts = []
        return path.stat().st_size

    def restore(self, path: Path, state: Mapping[str, Any] | None) -> None:
        self.abandon()
        remove(path)
        remove(artifact(path, ".tmp"))
        folder = artifact(path, ".parts")
        kept = {name for name, _ in state["parts"]} if state else set()
        missing = kept - {entry.name for entry in folder.iterdir()} if folder.exists() else kept
        if missing:
            raise SinkRestoreError(f"{folder} lacks the checkpointed parts {sorted(missing)}; {CHANGED_OUTSIDE_HELP}")
        if folder.exists() and not kept:
            remove(folder)
        elif folder.exists():
            for entry in folder.iterdir():
                if entry.name not in kept:
                    entry.unlink()
            fsync_directory(folder)
        self._parts = [list(part) for part in state["parts"]] if state else []

    def written_columns(self, path: Path) -> pl.Schema | None:
        """The schema of the parquet file in progress: its first part's (None: no part yet)."""
        if not self._parts:
            return None
        return pl.Schema(pl.read_ipc_schema(artifact(path, ".parts") / self._parts[0][0]))

    def abandon(self) -> None:
        self._parts, self._unsynced = [], []
        self._new_entries.clear()

    def leftovers(self, path: Path) -> list[Path]:
        return [artifact(path, ".parts")]


BACKENDS = {"jsonl": AppendBackend, "csv": AppendBackend, "json": JsonBackend, "parquet": ParquetBackend}
COMPRESSIONS = {"jsonl": {None, "gzip"}, "csv": {None, "gzip"}, "json": {None, "gzip"},
                "parquet": {None, "zstd", "snappy"}}
