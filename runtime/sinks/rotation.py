"""Rotation of file sinks: when a new file starts, and what the files are called.

Decided per record, never per batch, so the files come out the same whatever the batch boundaries
were: a record goes into the current file unless the file already holds a record and either holds
`max_records` records or would pass `max_bytes` with this record. `max_bytes` counts each record's
encoded, uncompressed length (its CSV row or JSON line; for json and parquet sinks its JSON line),
not headers, brackets or Parquet metadata. A record longer than `max_bytes` gets a file of its own.

Rotated files are numbered from 1 with six digits (more past 999999) before the extension, the
compression suffix counting as part of it: `out/a.jsonl.gz` -> `out/a.000001.jsonl.gz`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPRESSION_SUFFIXES = frozenset({".gz", ".zst", ".snappy"})


@dataclass(frozen=True, slots=True)
class Rotation:
    max_bytes: int | None = None
    max_records: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_records"):
            limit = getattr(self, name)
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise ValueError(f"rotate.{name} must be a positive integer, not {limit!r}")

    @classmethod
    def of(cls, rotate: Rotation | Mapping[str, Any] | None) -> Rotation | None:
        if rotate is None or isinstance(rotate, Rotation):
            return rotate
        return cls(rotate.get("max_bytes"), rotate.get("max_records"))


@dataclass(frozen=True, slots=True)
class Segment:
    start: int
    end: int
    new_file: bool  # the current file is full: finish it and start the next one first


def split_batch(count: int, ends: Sequence[int] | None, records: int, size: int,
                rotation: Rotation | None) -> list[Segment]:
    """Cut a batch of `count` records into runs that each go to one file.

    `ends[i]` is the byte offset just past record i in the batch's encoding (needed for max_bytes);
    `records` and `size` are what the current file already holds. One step per file, not per record.
    """
    if rotation is None:
        return [Segment(0, count, False)] if count else []
    segments: list[Segment] = []
    start, new_file = 0, False
    while start < count:
        room = count - start
        if rotation.max_records is not None:
            room = min(room, rotation.max_records - records)
        if rotation.max_bytes is not None and ends is not None:
            before = ends[start - 1] if start else 0
            room = min(room, bisect_right(ends, before + rotation.max_bytes - size, lo=start) - start)
        if room <= 0 and records:
            records, size, new_file = 0, 0, True
            continue
        room = max(room, 1)  # an empty file takes one record, however long
        segments.append(Segment(start, start + room, new_file))
        records += room
        if ends is not None:
            size += ends[start + room - 1] - (ends[start - 1] if start else 0)
        start, new_file = start + room, False
    return segments


def _split_name(name: str) -> tuple[str, str]:
    """("a", ".jsonl.gz") for "a.jsonl.gz": the stem and the extension the number goes before."""
    suffixes = Path(name).suffixes
    take = 2 if len(suffixes) >= 2 and suffixes[-1] in COMPRESSION_SUFFIXES else min(len(suffixes), 1)
    extension = "".join(suffixes[-take:]) if take else ""
    return name[: len(name) - len(extension)], extension


def rotated_path(path: Path, index: int) -> Path:
    stem, extension = _split_name(path.name)
    return path.with_name(f"{stem}.{index:06d}{extension}")


def rotated_index_pattern(path: Path) -> re.Pattern[str]:
    """Matches the names of `path`'s rotated files, group 1 being the number."""
    stem, extension = _split_name(path.name)
    return re.compile(rf"{re.escape(stem)}\.(\d{{6,}}){re.escape(extension)}")
