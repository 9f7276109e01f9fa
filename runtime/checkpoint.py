"""State snapshots for checkpoints: `<state_dir>/state/<batch>/`.

A snapshot is a folder named by its batch number (12 digits) holding one file per part,
`part-000.arrow` (a DataFrame as Arrow IPC) or `part-000.bin` (bytes), and `manifest.json` naming
each part and its SHA-256. It is written under `state/.<batch>.tmp/`, every file fsynced, then the
folder is renamed into place and `state/` fsynced: a snapshot is there whole or not at all. The
reference recorded in `checkpoint_saved` is the folder's path relative to the state directory
(`state/000000000012`). Once a newer checkpoint is recorded, `prune(keep=ref)` removes the others.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from flowc.runtime.durable import fsync_directory, make_directory

STATE_FOLDER = "state"
MANIFEST = "manifest.json"


class SnapshotCorrupt(Exception):
    """A snapshot named by a checkpoint is missing or damaged."""


def _encode(value: pl.DataFrame | bytes) -> tuple[str, bytes]:
    if isinstance(value, pl.DataFrame):
        buffer = io.BytesIO()
        value.write_ipc(buffer)
        return "arrow", buffer.getvalue()
    return "bin", bytes(value)


def _write_synced(path: Path, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


class CheckpointStore:
    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.folder = self.state_dir / STATE_FOLDER

    def save_snapshot(self, batch_no: int, state: Mapping[str, pl.DataFrame | bytes]) -> str:
        make_directory(self.folder)
        name = f"{batch_no:012d}"
        temp, final = self.folder / f".{name}.tmp", self.folder / name
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        manifest = []
        for index, (key, value) in enumerate(state.items()):
            kind, content = _encode(value)
            file_name = f"part-{index:03d}.{kind}"
            _write_synced(temp / file_name, content)
            manifest.append({"name": key, "file": file_name, "sha256": hashlib.sha256(content).hexdigest()})
        _write_synced(temp / MANIFEST, json.dumps({"batch": batch_no, "parts": manifest}, indent=1).encode())
        fsync_directory(temp)
        # A folder of this batch can only be left by a run that died before recording it: replace it.
        if final.exists():
            shutil.rmtree(final)
        os.replace(temp, final)
        fsync_directory(self.folder)
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
            is_frame = part["file"].endswith(".arrow")
            state[part["name"]] = pl.read_ipc(io.BytesIO(content)) if is_frame else content
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
