import gzip
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from writer_cases import CASES, assert_same_output, frame, iso, read_back, run

from flowc.runtime.sinks import FileSinkWriter, SinkRestoreError

ROWS = [(0, 'a,"b"\nc', 1.5, 5), (1, None, None, None), (2, "é", -2.0, 61)]


@pytest.mark.parametrize(("fmt", "compression", "extension"), CASES)
def test_each_format_writes_the_records_in_order(tmp_path: Path, fmt: str, compression: str | None,
                                                 extension: str) -> None:
    path = tmp_path / f"a.{extension}"
    run(path, fmt, compression, None, frame(ROWS), [1])
    rows = read_back(path, fmt, compression)
    assert [int(r["id"]) for r in rows] == [0, 1, 2]
    assert rows[0]["text"] == 'a,"b"\nc' and rows[1]["text"] in (None, "")
    if fmt in ("jsonl", "json"):
        assert rows[0]["ts"] == "2026-01-01T00:00:05.000000Z" and rows[2]["ts"] == iso(datetime(2026, 1, 1, 0, 1, 1, 2))
        assert rows[0]["tags"] == ["a", '"b"\nc'] and rows[0]["user"]["seen"] == "2026-01-01T00:00:00.000000Z"
    elif fmt == "csv":
        assert rows[0]["ts"] == "2026-01-01T00:00:05.000000Z"
        assert json.loads(rows[0]["user"]) == {"tier": 'a,"b"\nc', "seen": "2026-01-01T00:00:00.000000Z"}
    else:
        assert rows[0]["ts"] == datetime(2026, 1, 1, 0, 0, 5) and rows[0]["user"]["tier"] == 'a,"b"\nc'


@pytest.mark.parametrize(("fmt", "compression", "extension"), CASES)
@pytest.mark.parametrize("rotate", [None, {"max_records": 2}, {"max_bytes": 150}])
def test_batches_encoded_beforehand_write_the_same_files(tmp_path: Path, fmt: str, compression: str | None,
                                                         extension: str, rotate: dict | None) -> None:
    """The executor encodes a batch on its own thread and the sink thread writes it (`encode`)."""
    records = frame([(i, f"t{i}", i / 2, i) for i in range(9)])
    expected = tmp_path / "direct"
    run(expected / f"a.{extension}", fmt, compression, rotate, records, [4, 7])
    writer = FileSinkWriter(tmp_path / "encoded" / f"a.{extension}", fmt, compression, rotate)
    writer.restore(None)
    for start, end in ((0, 4), (4, 7), (7, 7), (7, 9)):
        batch = records.slice(start, end - start)
        writer.write(batch, writer.encode(batch))
    writer.release(writer.close())
    assert_same_output(tmp_path / "encoded", expected, fmt, compression)


def test_csv_files_get_one_header_each(tmp_path: Path) -> None:
    run(tmp_path / "a.csv", "csv", None, {"max_records": 2}, frame(ROWS), [1, 2])
    first, second = (tmp_path / "a.000001.csv").read_text(), (tmp_path / "a.000002.csv").read_text()
    header = "id,text,amount,ts,tags,user\n"
    assert first.startswith(header) and first.count("id,text") == 1 and second.startswith(header)


def test_json_is_one_array_per_file(tmp_path: Path) -> None:
    run(tmp_path / "a.json", "json", None, None, frame(ROWS[:2]), [])
    text = (tmp_path / "a.json").read_text()
    assert text.startswith("[\n{") and text.endswith("}\n]\n") and len(json.loads(text)) == 2


@pytest.mark.parametrize(("fmt", "compression", "extension"), CASES)
def test_an_output_without_records_is_a_valid_empty_file(tmp_path: Path, fmt: str, compression: str | None,
                                                         extension: str) -> None:
    path = tmp_path / "out" / f"a.{extension}"
    run(path, fmt, compression, None, frame([]), [])
    assert read_back(path, fmt, compression) == []
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_gzip_members_make_every_durable_length_a_valid_file(tmp_path: Path) -> None:
    writer = FileSinkWriter(tmp_path / "a.jsonl.gz", "jsonl", "gzip")
    lengths = []
    for start in range(3):
        writer.write(frame(ROWS[start:start + 1]))
        lengths.append(writer.durable()["current"]["length"])
    content = (tmp_path / "a.jsonl.gz").read_bytes()
    assert [len(gzip.decompress(content[:n]).splitlines()) for n in lengths] == [1, 2, 3]


def test_restore_to_nothing_clears_this_sinks_files_only(tmp_path: Path) -> None:
    run(tmp_path / "a.parquet", "parquet", None, {"max_records": 1}, frame(ROWS), [])
    (tmp_path / ".a.000009.parquet.parts").mkdir()  # a leftover of a crashed run
    (tmp_path / ".a.000002.parquet.tmp").write_bytes(b"half a file")
    for name in ("b.parquet", "a.parquet.bak", "a.x.parquet"):
        (tmp_path / name).write_bytes(b"not ours")
    FileSinkWriter(tmp_path / "a.parquet", "parquet", None, {"max_records": 1}).restore(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet.bak", "a.x.parquet", "b.parquet"]


def test_release_drops_staging_only_for_complete_files(tmp_path: Path) -> None:
    writer = FileSinkWriter(tmp_path / "a.json", "json", None, {"max_records": 2})
    writer.write(frame(ROWS))
    position = writer.durable()
    assert [e["path"] for e in position["complete"]] == [str(tmp_path / "a.000001.json")]
    assert position["files"] == [str(tmp_path / "a.000001.json"), str(tmp_path / "a.000002.json")]
    writer.release(position)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.000002.json.staging", "a.000001.json"]


def recorded_run(tmp_path: Path, fmt: str = "jsonl", compression: str | None = None,
                 extension: str = "jsonl") -> tuple[FileSinkWriter, dict]:
    writer = FileSinkWriter(tmp_path / f"a.{extension}", fmt, compression, {"max_records": 2})
    writer.write(frame(ROWS))
    return writer, writer.durable()


def test_a_changed_complete_file_is_refused(tmp_path: Path) -> None:
    _, position = recorded_run(tmp_path)
    (tmp_path / "a.000001.jsonl").write_text("edited\n")
    with pytest.raises(SinkRestoreError, match=r"a.000001.jsonl is 7 bytes, but the checkpoint recorded it complete"):
        FileSinkWriter(tmp_path / "a.jsonl", "jsonl", None, {"max_records": 2}).restore(position)
    (tmp_path / "a.000001.jsonl").unlink()
    with pytest.raises(SinkRestoreError, match=r"a.000001.jsonl is missing"):
        FileSinkWriter(tmp_path / "a.jsonl", "jsonl", None, {"max_records": 2}).restore(position)


def test_a_current_file_shorter_than_recorded_is_refused(tmp_path: Path) -> None:
    _, position = recorded_run(tmp_path)
    (tmp_path / "a.000002.jsonl").write_text("")
    with pytest.raises(SinkRestoreError, match="holds 0 bytes but the checkpoint recorded"):
        FileSinkWriter(tmp_path / "a.jsonl", "jsonl", None, {"max_records": 2}).restore(position)


def test_a_missing_parquet_part_is_refused(tmp_path: Path) -> None:
    _, position = recorded_run(tmp_path, "parquet", None, "parquet")
    (tmp_path / ".a.000002.parquet.parts" / "part-000001.arrow").unlink()
    with pytest.raises(SinkRestoreError, match=r"lacks the checkpointed parts \['part-000001.arrow'\]"):
        FileSinkWriter(tmp_path / "a.parquet", "parquet", None, {"max_records": 2}).restore(position)


def test_a_position_of_another_sink_is_refused(tmp_path: Path) -> None:
    _, position = recorded_run(tmp_path)
    with pytest.raises(SinkRestoreError, match="start over with --reset"):
        FileSinkWriter(tmp_path / "a.jsonl", "jsonl", "gzip", {"max_records": 2}).restore(position)


def test_a_closed_position_restores_to_a_closed_writer(tmp_path: Path) -> None:
    final = run(tmp_path / "a.csv", "csv", None, None, frame(ROWS), [])
    before = (tmp_path / "a.csv").read_bytes()
    writer = FileSinkWriter(tmp_path / "a.csv", "csv")
    writer.restore(final)
    assert (tmp_path / "a.csv").read_bytes() == before
    assert writer.close() == final
    with pytest.raises(ValueError, match="is closed"):
        writer.write(frame(ROWS))


def test_a_csv_batch_with_other_columns_is_refused(tmp_path: Path) -> None:
    writer = FileSinkWriter(tmp_path / "a.csv", "csv")
    writer.write(frame(ROWS))
    with pytest.raises(ValueError, match="has the schema"):
        writer.write(pl.DataFrame({"other": [1]}))


@pytest.mark.parametrize(("fmt", "compression", "message"), [
    ("xml", None, "unknown file sink format 'xml'"),
    ("jsonl", "zstd", "compression 'zstd' is not available for jsonl"),
    ("parquet", "gzip", "compression 'gzip' is not available for parquet"),
])
def test_unknown_formats_and_compressions_are_refused(tmp_path: Path, fmt: str, compression: str | None,
                                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FileSinkWriter(tmp_path / "a", fmt, compression)
