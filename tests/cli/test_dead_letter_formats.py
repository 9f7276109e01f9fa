"""A csv or parquet dead_letter sink gathers the .errors records of differently shaped steps (audit4 F9):
its files take the union of their columns, the envelope last, a missing one null, and a column whose
type differs between the steps as text; a jsonl dead letter keeps each record's own fields."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import polars as pl
from click.testing import CliRunner

from flowc.cli import cli
from flowc.runtime.sinks.columns import align, union_columns

SPEC = """\
version: 1
pipeline: dl
settings:
  batch_size: BATCH
  on_error: dead_letter
  dead_letter: {type: file, path: DEAD}
sources:
  s:
    type: inline
    schema: {id: int, x: string, l: list<int>}
    records:
      - {id: 1, x: "1", l: [1]}
      - {id: 2, x: "b", l: [2, 3]}
      - {id: 3, x: "3", l: []}
      - {id: 4, x: "4", l: [4]}
steps:
  - map: {x: to_int(x)}
  - map: {l: to_string(id)}
  - validate: {not3: x != 3}
  - select: {id: id, w: l}
  - validate: {not4: id != 4}
sinks:
  o: {type: file, path: out/o.jsonl}
"""


def _run(folder: Path, dead: str, *args: str, batch: int = 10) -> object:
    spec = folder / "dl.flow.yaml"
    spec.write_text(SPEC.replace("DEAD", dead).replace("BATCH", str(batch)))
    return CliRunner().invoke(cli, ["run", str(spec), "--quiet", *args])


ERRORS = [("map_1", "conversion", "records[1]"), ("validate_3", "validate", "records[2]"),
          ("validate_5", "validate", "records[3]")]


def test_a_csv_dead_letter_writes_the_union_of_the_records_columns(tmp_path):
    result = _run(tmp_path, "out/dead.csv")
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(tmp_path / "out/dead.csv", infer_schema=False)
    assert frame.columns == ["id", "x", "l", "w", "_error", "_source"]
    assert frame.select("id", "x", "l", "w").rows() == [("2", "b", "[2,3]", None), ("3", "3", "3", None),
                                                        ("4", None, None, "4")]
    errors = [json.loads(e) for e in frame["_error"]]
    assert [(e["step"], e["code"], json.loads(s)["position"]) for e, s in zip(errors, frame["_source"], strict=True)] \
        == ERRORS


def test_a_parquet_dead_letter_writes_one_schema_with_differing_types_as_text(tmp_path):
    result = _run(tmp_path, "out/dead.parquet")
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "out/dead.parquet")
    assert dict(frame.schema) == {"id": pl.Int64, "x": pl.String, "l": pl.String, "w": pl.String,
                                  "_error": frame.schema["_error"], "_source": frame.schema["_source"]}
    assert frame.select("id", "x", "l", "w").rows() == [(2, "b", "[2,3]", None), (3, "3", "3", None),
                                                        (4, None, None, "4")]
    assert [(e["step"], e["code"], s["position"]) for e, s in zip(frame["_error"], frame["_source"], strict=True)] \
        == ERRORS


def test_a_resumed_parquet_dead_letter_is_the_same_file(tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    whole.mkdir()
    resumed.mkdir()
    assert _run(whole, "out/dead.parquet", batch=1).exit_code == 0
    assert _run(resumed, "out/dead.parquet", "--limit", "2", batch=1).exit_code == 0
    result = _run(resumed, "out/dead.parquet", batch=1)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(resumed / "out/dead.parquet").equals(pl.read_parquet(whole / "out/dead.parquet"))


def test_a_jsonl_dead_letter_keeps_each_records_own_fields(tmp_path):
    result = _run(tmp_path, "out/dead.jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out/dead.jsonl").read_text().splitlines()]
    assert [list(r) for r in records] == [["id", "x", "l", "_error", "_source"]] * 2 + [["id", "w", "_error", "_source"]]
    assert (records[0]["x"], records[0]["l"], records[1]["x"]) == ("b", [2, 3], 3)


def test_an_empty_parquet_dead_letter_has_the_union_schema(tmp_path):
    spec = tmp_path / "e.flow.yaml"
    spec.write_text(textwrap.dedent(SPEC.replace("DEAD", "out/dead.parquet").replace("BATCH", "10")
                                    .replace('x: "b"', 'x: "2"').replace("x != 3", "x != 30")
                                    .replace("id != 4", "id != 40")))
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "out/dead.parquet")
    assert frame.height == 0
    assert frame.columns == ["id", "x", "l", "w", "_error", "_source"]
    assert frame.schema["x"] == pl.String


LATE = """\
version: 1
pipeline: late
settings:
  batch_size: 2
  on_error: dead_letter
  dead_letter: {type: file, path: out/dead.csv}
sources:
  s:
    type: inline
    schema: {id: int, t: datetime, x: string}
    event_time: {field: t}
    records:
      - {id: 1, t: "2024-01-01T00:10:00Z", x: "1"}
      - {id: 2, t: "2024-01-01T00:20:00Z", x: "b"}
      - {id: 3, t: "2024-01-01T00:00:00Z", x: "3"}
steps:
  - map: {v: to_int(x)}
  - aggregate: {window: {type: tumbling, size: 5m}, compute: {n: count()}}
sinks:
  o: {type: file, path: out/o.jsonl}
"""


def test_late_records_and_errors_share_a_csv_dead_letter(tmp_path):
    spec = tmp_path / "late.flow.yaml"
    spec.write_text(LATE)
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(tmp_path / "out/dead.csv", infer_schema=False)
    assert frame.columns == ["id", "t", "x", "v", "_error", "_source"]
    assert frame.select("id", "v").rows() == [("2", None), ("3", "3")]
    assert [json.loads(e)["code"] for e in frame["_error"]] == ["conversion", "late"]


def test_union_columns_put_the_envelope_last_and_differing_types_as_text():
    envelope = {"_error": pl.Struct({"step": pl.String}), "_source": pl.Struct({"name": pl.String})}
    union = union_columns([pl.Schema({"a": pl.Int64, "l": pl.List(pl.Int64), **envelope}),
                           pl.Schema({"b": pl.Null, "a": pl.Int64, "l": pl.Int64, **envelope}),
                           pl.Schema({"b": pl.Float64, **envelope})])
    assert union == pl.Schema({"a": pl.Int64, "l": pl.String, "b": pl.Float64, **envelope})
    frame = pl.DataFrame({"l": [[1, 2], None]}, schema={"l": pl.List(pl.Int64)})
    assert align(frame, pl.Schema({"a": pl.Int64, "l": pl.String})).rows() == [(None, "[1,2]"), (None, None)]
    unknown = pl.DataFrame({"a": [1], "z": [2]})  # a column the plan does not know is kept, not dropped
    assert align(unknown, pl.Schema({"a": pl.Int64, "l": pl.String})).equals(unknown)
