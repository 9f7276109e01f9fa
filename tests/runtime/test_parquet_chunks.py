"""Parquet sources are read in slices of their one scan (`FileReader.chunks`), so memory holds a few
batches, not the files: each slice is pushed into Polars' Parquet reader with the query's predicate."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from runner_cases import events, records, run, write_spec

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Config, Source
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.files import FileReader

SCHEMA = Struct((("id", t.INT), ("name", t.STRING)))


def _files(folder: Path) -> None:
    """Two files, 7 and 5 rows; the second lacks `name` and has a column the schema does not name."""
    pl.DataFrame({"id": list(range(7)), "name": [f"n{i}" for i in range(7)]}).write_parquet(folder / "in-1.parquet")
    pl.DataFrame({"id": list(range(7, 12)), "extra": [1.5] * 5}).write_parquet(folder / "in-2.parquet")


def _reader(folder: Path) -> FileReader:
    source = Source(name="s", type="file", config=Config({"path": "in-*.parquet"}), schema=SCHEMA, event_time=None,
                    format="parquet")
    return FileReader(source, str(folder))


@pytest.mark.parametrize(("after", "limit", "rows"), [(None, None, 3), (None, None, 100), (None, 5, 2), (4, None, 3),
                                                      (6, 4, 4), (11, None, 3), (20, None, 3)])
def test_the_slices_give_the_rows_of_the_whole_scan(tmp_path, after, limit, rows):
    _files(tmp_path)
    whole = _reader(tmp_path).frame(SCHEMA, after, limit).collect()
    reader = _reader(tmp_path)
    chunked = reader.chunks(SCHEMA, after, limit, rows)
    assert chunked is not None
    assert chunked.template.collect().height == 0
    assert chunked.template.collect_schema() == whole.schema
    frames = [frame.collect() for frame in chunked.frames]
    assert all(0 < frame.height <= rows for frame in frames)
    assert (pl.concat(frames) if frames else whole.clear()).equals(whole)
    assert whole[ROW].to_list() == list(range(0 if after is None else after + 1, 12))[:limit]
    if limit is None:
        assert reader.count() == 12  # read to its end: the row count is known


def test_each_slice_and_the_predicate_are_pushed_into_the_parquet_reader(tmp_path):
    _files(tmp_path)
    chunked = _reader(tmp_path).chunks(SCHEMA, 2, None, 4)
    assert chunked is not None
    plan = next(chunked.frames).filter(pl.col("id") > 3).explain()
    scan = plan[plan.index("Parquet SCAN"):]
    assert "SLICE: Positive { offset: 3, len: 4 }" in scan
    assert 'SELECTION: [(col("id")) > (3)]' in scan or 'SELECTION: col("id") > 3' in scan


def test_a_parquet_run_stopped_by_limit_resumes_where_it_stopped(tmp_path):
    _files(tmp_path)
    spec = write_spec(tmp_path, """
    settings: {batch_size: 2}
    sources:
      s: {type: file, path: in-*.parquet, schema: {id: int, name: string}}
    steps:
      - filter: id % 3 != 0
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    first = run(spec, "--quiet", "--limit", "5")
    assert first.exit_code == 0, first.output
    again = run(spec, "--quiet")
    assert again.exit_code == 0, again.output
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [i for i in range(12) if i % 3]
    assert [r["name"] for r in records(tmp_path / "out.jsonl")][:4] == ["n1", "n2", "n4", "n5"]
    assert records(tmp_path / "out.jsonl")[-1] == {"id": 11, "name": None}
    completed = [e for e in events(tmp_path) if e["type"] == "completed"]
    assert completed[-1]["data"]["counts"]["read"] == 12  # the pipeline's counts: both runs, each row once
