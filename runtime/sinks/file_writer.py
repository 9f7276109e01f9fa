"""The exactly-once file sink writer (SPEC §7); see docs/guarantees.md for the whole protocol.

    writer = FileSinkWriter("out/a.jsonl.gz", "jsonl", "gzip", rotate={"max_records": 1000},
                            **sink_columns(plan, sink_node))   # runtime/sinks/columns.py
    writer.restore(checkpointed_position)   # None on a fresh start: clears old output
    writer.write(batch) ...
    position = writer.durable()             # record it in the checkpoint, then writer.release(position)
    final = writer.close()

A position (plain JSON) is::

    {"format": "jsonl", "compression": "gzip", "path": "out/a.jsonl.gz", "rotate": true, "closed": false,
     "records": 1234,                                          # written in all, the resume point
     "files": [every file it covers, in order],
     "complete": [{"path", "records", "length"}, ...],          # finished files, numbered 1..n
     "current": {"path", "records", "bytes", "length" | "parts"} | null}   # file n+1, if it has records

`restore` brings the directory back to exactly that: complete files checked, the current file cut
back (or its parts pruned), and every file, part or temp file of this sink the position does not
know deleted, so a resumed run writes the same files an uninterrupted one would.

An output that receives no record still gets one well-formed file of its format (SPEC §7): an empty
`jsonl`, `[]` for `json`, the header row for `csv`, and for `parquet` a file with the sink's columns
and types. Those come from `columns` (the plan's schema of what the sink reads), not from the batches
seen, so a resumed run that sees no batch at all writes the same file as an uninterrupted one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from flowc.runtime.arrival_order import in_order, merged
from flowc.runtime.durable import fsync_directory, make_directory
from flowc.runtime.sinks.backends import (
    ARTIFACT_SUFFIXES,
    BACKENDS,
    CHANGED_OUTSIDE_HELP,
    COMPRESSIONS,
    SinkRestoreError,
    remove,
)
from flowc.runtime.sinks.columns import align, schema_change
from flowc.runtime.sinks.encoding import encode_jsonl, record_ends
from flowc.runtime.sinks.rotation import Rotation, rotated_index_pattern, rotated_path, split_batch


class Encoded(NamedTuple):
    data: list[bytes] | None  # the records in the sink's format, in pieces (None: the backend encodes them
    # when it appends); one piece when the sink rotates
    ends: list[int] | None  # where each record ends in `data`, when rotation needs it


class FileSinkWriter:
    def __init__(self, path: str | os.PathLike[str], format: str, compression: str | None = None,
                 rotate: Rotation | Mapping[str, Any] | None = None, columns: pl.Schema | None = None,
                 align: bool = False) -> None:
        if format not in BACKENDS:
            raise ValueError(f"unknown file sink format {format!r}")
        if compression not in COMPRESSIONS[format]:
            raise ValueError(f"compression {compression!r} is not available for {format}")
        self.path, self.format, self.compression = Path(path), format, compression
        self.rotation = Rotation.of(rotate)
        self._backend = BACKENDS[format](format, compression)
        self._schema: pl.Schema | None = None  # of the batches written
        self._columns = columns  # of a file with no records (None: unknown, the batches' if any)
        self._align = align and format in ("csv", "parquet")  # every batch to `columns` (sinks/columns.py)
        self._restart = False  # the file in progress has other columns than the spec now writes: finish it
        self._complete: list[dict[str, Any]] = []
        self._records = 0  # in the current file
        self._bytes = 0  # encoded, uncompressed bytes in the current file (for max_bytes)
        self._closed = False

    def file_path(self, index: int) -> Path:
        return rotated_path(self.path, index) if self.rotation else self.path

    @property
    def _current(self) -> Path:
        return self.file_path(len(self._complete) + 1)

    def encode(self, df: pl.DataFrame) -> Encoded:
        """`df` in the sink's format: the costly part of `write`, which reads only the batch, so it may
        run on another thread (the executor's, while this writer's thread writes the batch before)."""
        if df.height == 0:
            return Encoded(None, None)
        df = self._aligned(df)
        data = self._backend.encode(df)
        if data is not None and self.rotation is not None:
            data = [b"".join(data)]  # to be cut at records' ends
        return Encoded(data, self._record_ends(df, data and data[0]))

    def write(self, df: pl.DataFrame, encoded: Encoded | None = None) -> None:
        """Append `df` (`encoded`: its `encode`, when made beforehand)."""
        if self._closed:
            raise ValueError(f"the writer of {self.path} is closed")
        df = self._aligned(df)
        self._check_schema(df.schema)
        if df.height == 0:
            return
        self._append(df, df.height, encoded or self.encode(df))

    def encode_interleaved(self, frames: list[pl.DataFrame], order: pl.Series) -> Encoded:
        """`frames`' records in `order` (runtime/arrival_order.py), encoded as one batch: one frame when
        they have the same fields, else (jsonl, json: each record keeps its own fields) their encoded
        lines rearranged."""
        aligned = [self._aligned(f) for f in frames]
        whole = merged(aligned, order)
        if whole is not None:
            return self.encode(whole)
        lines = b"".join(piece for f in aligned if f.height for piece in self._backend.encode(f)).split(b"\n")
        assert len(lines) == sum(f.height for f in aligned) + 1, "one JSON line per record"
        data = b"".join(lines[position] + b"\n" for position in order.to_list())
        return Encoded([data], record_ends(data, csv=False) if self.rotation is not None else None)

    def write_interleaved(self, frames: list[pl.DataFrame], order: pl.Series, encoded: Encoded | None = None) -> None:
        """Append the records of `frames` in `order` (`encoded`: its `encode_interleaved`)."""
        aligned = [self._aligned(f) for f in frames]
        whole = merged(aligned, order)
        if whole is not None:
            self.write(whole, encoded)
        elif self.format not in ("jsonl", "json"):  # not reached: csv and parquet inputs are aligned
            for frame in in_order(aligned, order):
                self.write(frame)
        elif self._closed:
            raise ValueError(f"the writer of {self.path} is closed")
        else:
            self._schema = self._schema or aligned[0].schema
            self._append(None, sum(f.height for f in aligned), encoded or self.encode_interleaved(frames, order))

    def _append(self, df: pl.DataFrame | None, height: int, encoded: Encoded) -> None:
        """Append `height` records encoded as `encoded` (`df`: the records, which a parquet file needs;
        None for JSON lines rearranged from several frames)."""
        make_directory(self.path.parent)
        if self._restart and self._records:
            self._finish_current()
        self._restart = False
        data, ends = encoded
        for segment in split_batch(height, ends, self._records, self._bytes, self.rotation):
            if segment.new_file:
                self._finish_current()
            start = ends[segment.start - 1] if ends and segment.start else 0
            stop = ends[segment.end - 1] if ends else sum(map(len, data or ()))
            piece = data if data is None or not ends else [data[0][start:stop]]
            rows = df.slice(segment.start, segment.end - segment.start) if df is not None else None
            self._backend.append(self._current, rows, piece, self._records == 0, self._schema)
            self._records += segment.end - segment.start
            self._bytes += stop - start

    def _aligned(self, df: pl.DataFrame) -> pl.DataFrame:
        return align(df, self._columns) if self._align and self._columns is not None else df

    def _check_schema(self, schema: pl.Schema) -> None:
        if self._schema is None:
            self._schema = schema
        elif self.format in ("csv", "parquet") and schema != self._schema:
            raise ValueError(f"a batch for {self.path} has the schema {dict(schema)}, "
                             f"not {dict(self._schema)} as before")

    def _record_ends(self, df: pl.DataFrame, data: bytes | None) -> list[int] | None:
        """Where each record ends in the encoding, when rotation needs it to cut or to count bytes."""
        if self.rotation is None:
            return None
        if data is not None:
            return record_ends(data, csv=self.format == "csv")
        return record_ends(encode_jsonl(df), csv=False) if self.rotation.max_bytes else None

    def _finish_current(self) -> None:
        schema = self._columns if self._records == 0 and self._columns is not None else self._schema
        length = self._backend.finish(self._current, schema)
        self._complete.append({"path": str(self._current), "records": self._records, "length": length})
        self._records = self._bytes = 0

    def durable(self) -> dict[str, Any]:
        """Flush and fsync everything written; the position to record in the checkpoint."""
        state = self._backend.sync()
        return self._position(state)

    def _position(self, state: Mapping[str, Any]) -> dict[str, Any]:
        current = None
        if self._records:
            current = {"path": str(self._current), "records": self._records, "bytes": self._bytes, **state}
        files = [entry["path"] for entry in self._complete] + ([current["path"]] if current else [])
        records = sum(entry["records"] for entry in self._complete) + self._records
        return {"format": self.format, "compression": self.compression, "path": str(self.path),
                "rotate": self.rotation is not None, "closed": self._closed, "records": records, "files": files,
                "complete": [dict(entry) for entry in self._complete], "current": current}

    def close(self) -> dict[str, Any]:
        """Complete the last file (an empty output still gets one) and return the final position."""
        if not self._closed and (self._records or not self._complete):
            make_directory(self.path.parent)
            self._finish_current()
        self._closed = True
        return self._position({})

    def release(self, position: Mapping[str, Any]) -> None:
        """`position` is recorded: drop the staging its complete files no longer need."""
        removed = False
        for index in range(1, len(position["complete"]) + 1):
            for leftover in self._backend.leftovers(self.file_path(index)):
                removed |= leftover.exists()
                remove(leftover)
        if removed:
            fsync_directory(self.path.parent)

    def restore(self, position: Mapping[str, Any] | None) -> None:
        """Make the output exactly what it was at `position` (None: nothing written yet). A position of
        another path is a sink the spec moved (SPEC §9: sinks may change): the new path starts empty,
        from the resume point on, and the old file is left as it is. A csv or parquet file in progress
        whose columns are not `columns` (a stateless step changed) is finished at the first write
        when the sink rotates, and refused otherwise (`_columns_changed`)."""
        if position is not None and position["path"] != str(self.path):
            position = None
        self._check_compatible(position)
        complete = [dict(entry) for entry in position["complete"]] if position else []
        current = position["current"] if position else None
        closed = bool(position and position["closed"])
        for index, entry in enumerate(complete, start=1):
            self._check_complete(self.file_path(index), entry)
        index = len(complete) + 1
        for entry, owner in self._owned_entries():
            if owner > index or (owner < index and entry != self.file_path(owner)):
                remove(entry)
        if not closed:
            self._backend.restore(self.file_path(index), current)
        self._complete, self._closed = complete, closed
        self._records, self._bytes = (current["records"], current["bytes"]) if current else (0, 0)
        self._restart = bool(current) and not closed and self._columns_changed(self.file_path(index))
        if self.path.parent.exists():
            fsync_directory(self.path.parent)

    def _check_compatible(self, position: Mapping[str, Any] | None) -> None:
        if position is None:
            return
        recorded = (position["format"], position["compression"], position["rotate"])
        wanted = (self.format, self.compression, self.rotation is not None)
        if recorded != wanted:  # the same path in another form: resuming would mix two forms in its files
            raise SinkRestoreError(f"{self.path} was written as {_form(*recorded)}, and the spec now writes "
                                   f"{_form(*wanted)}: give the sink another path, or start over with --reset")

    def _columns_changed(self, path: Path) -> bool:
        """Whether the file in progress at `path` holds other columns than the spec now writes (SPEC §9
        lets a resumed spec change stateless steps): true for a rotated sink, which then starts its next
        file; a sink of one file cannot append such records to it, and refuses the resume."""
        if self.format not in ("csv", "parquet") or self._columns is None:
            return False
        written = self._backend.written_columns(path)
        change = schema_change(written, self._columns) if written is not None else None
        if change is None or self.rotation is not None:
            return change is not None
        kind = "header row" if self.format == "csv" else "schema"
        raise SinkRestoreError(f"{self.path} holds records with the columns {', '.join(written)}, and the spec now "
                               f"{change}: a {self.format} file has one {kind}, so the resumed run cannot add to it; "
                               "give the sink another path to keep both, or start over with --reset")

    @staticmethod
    def _check_complete(path: Path, entry: Mapping[str, Any]) -> None:
        size = path.stat().st_size if path.exists() else None
        if size != entry["length"]:
            found = "missing" if size is None else f"{size} bytes"
            raise SinkRestoreError(f"{path} is {found}, but the checkpoint recorded it complete with "
                                   f"{entry['length']} bytes: it was changed outside flowc; {CHANGED_OUTSIDE_HELP}")

    def _owned_entries(self) -> list[tuple[Path, int]]:
        """Every file or folder of this sink in its directory, with the number of the file it belongs to."""
        if not self.path.parent.exists():
            return []
        pattern = rotated_index_pattern(self.path) if self.rotation else None
        owned = []
        for entry in self.path.parent.iterdir():
            name = entry.name
            for suffix in ARTIFACT_SUFFIXES:
                if name.startswith(".") and name.endswith(suffix):
                    name = name[1:-len(suffix)]
                    break
            if pattern is None and name == self.path.name:
                owned.append((entry, 1))
            elif pattern is not None and (match := pattern.fullmatch(name)):
                owned.append((entry, int(match[1])))
        return owned


def _form(format_: str, compression: str | None, rotated: bool) -> str:
    return f"{format_}{f' ({compression})' if compression else ''}{', rotated' if rotated else ''}"
