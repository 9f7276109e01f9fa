import hashlib
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowc.runtime.checkpoint import CheckpointStore, SnapshotCorrupt


def state_of(n: int) -> dict[str, pl.DataFrame | bytes]:
    return {"per_minute": pl.DataFrame({"k": ["a", "b"], "n": [n, n + 1]}), "dedupe/keys": b"\x00\x01" * n}


def test_a_snapshot_round_trips(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state_dir")
    ref = store.save_snapshot(12, state_of(3))
    assert ref == "state/000000000012"
    loaded = store.load_snapshot(ref)
    assert list(loaded) == ["per_minute", "dedupe/keys"]
    assert_frame_equal(loaded["per_minute"], state_of(3)["per_minute"])
    assert loaded["dedupe/keys"] == b"\x00\x01" * 3


def test_an_empty_state_is_a_valid_snapshot(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    assert store.load_snapshot(store.save_snapshot(1, {})) == {}


def test_saving_a_batch_again_keeps_the_first_snapshot(tmp_path: Path) -> None:
    """A checkpoint of no batch keeps the batch's number: its snapshot must not replace the one the
    recorded checkpoint names (a crash in between would leave that checkpoint without its state)."""
    store = CheckpointStore(tmp_path)
    first = store.save_snapshot(4, state_of(1))
    second = store.save_snapshot(4, state_of(2))
    assert first != second
    assert store.load_snapshot(first)["dedupe/keys"] == b"\x00\x01"
    assert store.load_snapshot(second)["dedupe/keys"] == b"\x00\x01" * 2
    store.prune(keep=second)
    assert [p.name for p in (tmp_path / second).parent.iterdir()] == [Path(second).name]


def test_prune_keeps_only_the_recorded_snapshot_and_drops_temp_leftovers(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    refs = [store.save_snapshot(n, state_of(n)) for n in (1, 2, 3)]
    (tmp_path / "state" / ".000000000004.tmp").mkdir()  # a save that crashed half way
    store.prune(keep=refs[1])
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["000000000002"]
    store.prune(keep=None)
    assert list((tmp_path / "state").iterdir()) == []


def test_a_damaged_part_is_refused(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    ref = store.save_snapshot(1, state_of(1))
    part = tmp_path / ref / "part-001.bin"
    part.write_bytes(b"tampered")
    with pytest.raises(SnapshotCorrupt, match="part 'dedupe/keys' fails its checksum"):
        store.load_snapshot(ref)
    part.unlink()
    with pytest.raises(SnapshotCorrupt, match="part 'dedupe/keys' is missing"):
        store.load_snapshot(ref)


def test_a_missing_snapshot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotCorrupt, match=r"snapshot 'state/000000000009'.*cannot be read"):
        CheckpointStore(tmp_path).load_snapshot("state/000000000009")


def test_every_dtype_a_state_holds_round_trips_exactly(tmp_path: Path) -> None:
    frame = pl.DataFrame({
        "k": ["a", None], "n": [1, None], "i128": pl.Series([2**70, -5], dtype=pl.Int128),
        "at": [datetime(2026, 3, 29, 1, 30, tzinfo=UTC), None], "span": [timedelta(microseconds=7), None],
        "values": [[1.5, None], []], "nested": [[{"x": [datetime(2020, 1, 1)]}], None], "nothing": [None, None],
    }).with_columns(pl.col("at").dt.convert_time_zone("Europe/Paris"))
    store = CheckpointStore(tmp_path)
    loaded = store.load_snapshot(store.save_snapshot(1, {"f": frame, "empty": frame.head(0)}))
    assert loaded["f"].schema == frame.schema and loaded["empty"].schema == frame.schema
    assert_frame_equal(loaded["f"], frame)


def test_a_snapshot_of_the_ipc_file_format_still_loads(tmp_path: Path) -> None:
    frame = pl.DataFrame({"k": ["a"], "n": [3]})
    folder = tmp_path / "state" / "000000000002"
    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    (folder / "part-000.arrow").write_bytes(buffer.getvalue())
    part = {"name": "agg/partials", "file": "part-000.arrow", "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps({"batch": 2, "parts": [part]}))
    assert_frame_equal(CheckpointStore(tmp_path).load_snapshot("state/000000000002")["agg/partials"], frame)


def test_an_unchanged_part_is_linked_not_written_again(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    table, changing = pl.DataFrame({"k": list("abc")}), pl.DataFrame({"n": [1]})
    first = store.save_snapshot(1, {"table": table, "n": changing, "digest": b"xyz"})
    second = store.save_snapshot(2, {"table": table, "n": pl.DataFrame({"n": [2]}), "digest": b"xy" + b"z"})
    files = [sorted((tmp_path / ref).glob("part-*")) for ref in (first, second)]
    assert [f.name for f in files[1]] == ["part-000.arrows", "part-001.arrows", "part-002.bin"]
    inodes = [[f.stat().st_ino for f in found] for found in files]
    assert inodes[1][0] == inodes[0][0] and inodes[1][2] == inodes[0][2]  # the same table, equal bytes
    assert inodes[1][1] != inodes[0][1]
    store.prune(keep=second)
    loaded = store.load_snapshot(second)
    assert_frame_equal(loaded["table"], table)
    assert loaded["n"].item() == 2 and loaded["digest"] == b"xyz"


def test_a_part_whose_previous_file_is_gone_is_written_again(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    table = pl.DataFrame({"k": ["a"]})
    store.save_snapshot(1, {"table": table})
    store.prune(keep=None)  # e.g. the state folder was cleared meanwhile
    ref = store.save_snapshot(2, {"table": table})
    assert_frame_equal(store.load_snapshot(ref)["table"], table)
    assert (tmp_path / ref / "part-000.arrows").stat().st_nlink == 1


def test_an_equal_but_new_frame_is_written_again_and_saving_a_batch_again_keeps_links_valid(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    table = pl.DataFrame({"k": ["a"]})
    store.save_snapshot(3, {"table": table})
    ref = store.save_snapshot(3, {"table": table})  # linked from the folder it then replaces
    assert_frame_equal(store.load_snapshot(ref)["table"], table)
    again = store.save_snapshot(4, {"table": pl.DataFrame({"k": ["a"]})})
    assert (tmp_path / again / "part-000.arrows").stat().st_ino != (tmp_path / ref / "part-000.arrows").stat().st_ino


def test_saving_on_another_thread_while_the_engine_reads_the_frame_does_not_deadlock(tmp_path: Path) -> None:
    # The executor saves snapshots on its sink thread while the main thread runs the next batch against
    # the same frames; writing a frame itself into a Python buffer deadlocked with a reader holding the
    # GIL. In a child process, so that a deadlock fails the test instead of hanging it.
    script = f"""
import threading
import polars as pl
from flowc.runtime.checkpoint import CheckpointStore
frame = pl.concat([pl.DataFrame({{"k": [str(i) for i in range(1000)], "v": range(1000)}})] * 20, rechunk=False)
store, saved = CheckpointStore({str(tmp_path)!r}), threading.Event()
def save():
    for batch in range(30):  # a part name new to the previous snapshot: encoded each time, not linked
        store.save_snapshot(batch, {{f"state{{batch % 2}}": frame}})
    saved.set()
threading.Thread(target=save, daemon=True).start()
while not saved.is_set():
    assert frame.height == 20_000
"""
    done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
