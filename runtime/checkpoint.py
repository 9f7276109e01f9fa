"""State snapshots for checkpoints: `<state_dir>/state/<batch>/`.

A snapshot is a folder named by its batch number (12 digits) holding one file per part,
`part-000.arrows` (a DataFrame as an Arrow IPC stream; `.arrow`, the IPC file format, in snapshots of
earlier versions) or `part-000.bin` (bytes), and `manifest.json` naming each part and its SHA-256. It
is written under `state/.<batch>.tmp/`, every file fsynced, then the folder is renamed into place and
`state/` fsynced: a snapshot is there whole or not at all. The reference recorded in
`checkpoint_saved` is the folder's path relative to the state directory (`state/000000000012`). Once
a newer checkpoint is recorded, `prune(keep=ref)` removes the others.

A part unchanged since the store's previous snapshot (the same DataFrame object, or equal bytes) is not
encoded again: its file there is hard-linked into the new folder (before the rename, so the snapshot
stays whole or absent), and pruning the old folder leaves the new link. Engines never change a frame
they returned in place (base.py), so the same object means the same content.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flowc.runtime.durable import fsync_directory, make_directory

STATE_FOLDER = "state"
MANIFEST = "manifest.json"


class SnapshotCorrupt(Exception):
    """A snapshot named by a checkpoint is missing or damaged."""


def encode_part(value: pl.DataFrame | bytes) -> tuple[str, bytes]:
    """(file suffix, content) of a part. Frames are an Arrow IPC *stream*: Polars writes it on the
    calling thread, where `write_ipc` (the IPC file format) runs as a streaming sink on Polars' thread
    pool and waits there behind a running source query (~9 ms per part, measured: docs/performance.md).
    Both formats round-trip every dtype exactly (nested lists and structs, datetimes with time zone).
    It writes a clone (which shares the data): writing into a Python buffer locks the frame, then waits
    for the GIL, so on a thread other than the engine's (the executor saves snapshots on its sink
    thread) it would deadlock with the engine reading the same frame, which holds the GIL meanwhile."""
    if isinstance(value, pl.DataFrame):
        buffer = io.BytesIO()
        value.clone().write_ipc_stream(buffer)
        return "arrows", buffer.getvalue()
    return "bin", bytes(value)


def decode_part(file_name: str, content: bytes) -> pl.DataFrame | bytes:
    """The value `encode_part` gave `content` (`.arrow`: the IPC file format of earlier snapshots)."""
    if file_name.endswith(".arrows"):
        return pl.read_ipc_stream(io.BytesIO(content))
    if file_name.endswith(".arrow"):
        return pl.read_ipc(io.BytesIO(content))
    return content


def _write_synced(path: Path, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass(frozen=True, slots=True)
class _Written:
    """A part as the store's previous snapshot saved it."""

    value: weakref.ref[pl.DataFrame] | bytes  # the frame, weakly (never kept alive for this), or the bytes
    path: Path
    sha256: str

    def holds(self, value: pl.DataFrame | bytes) -> bool:
        if isinstance(value, pl.DataFrame):
            return isinstance(self.value, weakref.ref) and self.value() is value
        return isinstance(self.value, bytes) and self.value == value


def _linked(written: _Written | None, value: pl.DataFrame | bytes, target: Path) -> bool:
    """Whether `target` is now a hard link to the file `written` saved, which holds `value`."""
    if written is None or not written.holds(value):
        return False
    try:
        os.link(written.path, target)
    except OSError:  # the old folder was pruned meanwhile, or no hard links here: write it instead
        return False
    return True


def _free_name(folder: Path, name: str) -> str:
    """`name`, or `name-<n>` when a folder has it: the snapshot of the recorded checkpoint when a
    checkpoint of no batch keeps the batch's number, or one a run left before it died (pruned later)."""
    taken, n = name, 0
    while (folder / taken).exists():
        n += 1
        taken = f"{name}-{n}"
    return taken


class CheckpointStore:
    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.folder = self.state_dir / STATE_FOLDER
        self._written: dict[str, _Written] = {}  # part name -> how the previous snapshot saved it

    def save_snapshot(self, batch_no: int, state: Mapping[str, pl.DataFrame | bytes]) -> str:
        make_directory(self.folder)
        name = _free_name(self.folder, f"{batch_no:012d}")
        temp, final = self.folder / f".{name}.tmp", self.folder / name
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        manifest, written = [], {}
        for index, (key, value) in enumerate(state.items()):
            before = self._written.get(key)
            if before is not None and _linked(before, value, temp / f"part-{index:03d}{before.path.suffix}"):
                file_name, digest = f"part-{index:03d}{before.path.suffix}", before.sha256
            else:
                kind, content = encode_part(value)
                file_name, digest = f"part-{index:03d}.{kind}", hashlib.sha256(content).hexdigest()
                _write_synced(temp / file_name, content)
            manifest.append({"name": key, "file": file_name, "sha256": digest})
            kept = weakref.ref(value) if isinstance(value, pl.DataFrame) else bytes(value)
            written[key] = _Written(kept, final / file_name, digest)
        _write_synced(temp / MANIFEST, json.dumps({"batch": batch_no, "parts": manifest}, indent=1).encode())
        fsync_directory(temp)
        os.replace(temp, final)
        fsync_directory(self.folder)
        self._written = written
        return f"{STATE_FOLDER}/{name}"

    def load_snapshot(self, ref: str) -> dict[str, pl.DataFrame | bytes]:
        folder = self.state_dir / ref
        try:
            manifest = json.loads((folder / MANIFEST).read_bytes())
        except (OSError, ValueError) as error:
            raise SnapshotCorrupt(f"snapshot {ref!r} in {self.state_dir} cannot be read: {error}") from error
        state: dict[str, pl.DataFrame | bytes] = {}
        for part in manifest["parts"]:
            try:
                content = (folder / part["file"]).read_bytes()
            except OSError as error:
                raise SnapshotCorrupt(f"snapshot {ref!r}: part {part['name']!r} is missing ({error})") from error
            if hashlib.sha256(content).hexdigest() != part["sha256"]:
                raise SnapshotCorrupt(f"snapshot {ref!r}: part {part['name']!r} fails its checksum")
            state[part["name"]] = decode_part(part["file"], content)
        return state

    def prune(self, keep: str | None) -> None:
        """Delete every snapshot (and leftover temp folder) but `keep`, after a newer checkpoint is recorded."""
        if not self.folder.exists():
            return
        kept = (self.state_dir / keep).resolve() if keep else None
        for entry in self.folder.iterdir():
            if entry.resolve() != kept:
                shutil.rmtree(entry)
        fsync_directory(self.folder)
