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


def test_saving_a_batch_again_replaces_the_unrecorded_leftover(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save_snapshot(4, state_of(1))
    ref = store.save_snapshot(4, state_of(2))
    assert store.load_snapshot(ref)["dedupe/keys"] == b"\x00\x01" * 2


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
