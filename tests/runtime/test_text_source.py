"""`format: text` file sources: one record `{line}` per line (SPEC §3), positions `file:line`."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Config, Source
from flowc.runtime.sources.files import TEXT_SCHEMA, FileReader


def reader(folder: Path, pattern: str = "*.log") -> FileReader:
    source = Source(name="log", type="file", config=Config({"path": pattern}), schema=None, event_time=None,
                    format="text")
    return FileReader(source, str(folder))


def test_every_line_is_a_record_in_file_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.log").write_bytes(b"third\r\n\nlast without newline")
    (tmp_path / "a.log").write_text("first\nsecond\n")
    source = reader(tmp_path)
    assert source.schema(1000) == TEXT_SCHEMA
    frame = source.frame(TEXT_SCHEMA, None, None).collect()
    assert frame.get_column("line").to_list() == ["first", "second", "third", "", "last without newline"]
    assert frame.get_column(ROW).to_list() == [0, 1, 2, 3, 4]
    assert source.count() == 5
    positions = frame.select(source.positions(pl.col(ROW))).to_series().to_list()
    assert positions == ["a.log:1", "a.log:2", "b.log:1", "b.log:2", "b.log:3"]


def test_a_resumed_read_starts_after_the_checkpointed_row(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("".join(f"line {i}\n" for i in range(10)))
    frame = reader(tmp_path).frame(TEXT_SCHEMA, 6, 2).collect()
    assert frame.get_column("line").to_list() == ["line 7", "line 8"]
    assert frame.get_column(ROW).to_list() == [7, 8]
