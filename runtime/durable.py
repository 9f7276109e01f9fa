"""Small durable-file helpers shared by the event log, checkpoints and file sinks.

A write is durable when its bytes are fsynced *and* the directory entry that names the file is
fsynced: a file created and fsynced but whose directory was not may vanish after a power cut.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make the names in directory `path` (created, renamed, deleted entries) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a closed file's bytes to disk (data written through another descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directory(path: Path) -> None:
    """Create `path` and missing parents, fsyncing each parent whose entries changed."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        fsync_directory(folder.parent)


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write `path` all at once or not at all: temp file, fsync, rename over, fsync the directory.

    The temp name is hidden (leading dot) and ends with `.tmp`, so a crash leaves only a
    recognisable leftover that the owner may delete.
    """
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_directory(path.parent)


def cut_file(path: Path, length: int) -> None:
    """Truncate `path` to `length` bytes and make the cut durable."""
    with open(path, "r+b") as handle:
        handle.truncate(length)
        handle.flush()
        os.fsync(handle.fileno())
