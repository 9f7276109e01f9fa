"""Dotted `map` targets through `flowc run` (SPEC §4: `user.tier` sets a nested field): into an existing
struct, through missing parts of the path, and into a parent that is null (the struct is then made)."""

from __future__ import annotations

import polars as pl
from runner_cases import records, run, write_spec

SOURCE = """
sources:
  s:
    type: inline
    records: [{id: 1, user: {tier: a, geo: {c: x}}}, {id: 2, user: null}, {id: 3, user: {tier: b, geo: null}}]
"""


def _run(tmp_path, steps: str, sink: str = "out.jsonl") -> list[dict]:
    spec = write_spec(tmp_path, SOURCE + steps + f"sinks:\n  o: {{type: file, path: {sink}}}\n")
    result = run(spec)
    assert result.exit_code == 0, result.output
    return records(tmp_path / sink) if sink.endswith(".jsonl") else pl.read_parquet(tmp_path / sink).to_dicts()


def test_a_dotted_target_makes_the_missing_structs_inside_an_existing_struct(tmp_path):
    out = _run(tmp_path, "steps:\n  - map: {user.x.y: id}\n")
    assert [r["user"] for r in out] == [{"tier": "a", "geo": {"c": "x"}, "x": {"y": 1}},
                                        {"tier": None, "geo": None, "x": {"y": 2}},
                                        {"tier": "b", "geo": None, "x": {"y": 3}}]


def test_a_null_parent_becomes_a_struct_with_the_value_set_and_its_other_fields_null(tmp_path):
    out = _run(tmp_path, "steps:\n  - map: {user.new: id, user.geo.c: '\"y\"'}\n")
    assert [r["user"] for r in out] == [{"tier": "a", "geo": {"c": "y"}, "new": 1},
                                        {"tier": None, "geo": {"c": "y"}, "new": 2},
                                        {"tier": "b", "geo": {"c": "y"}, "new": 3}]


def test_later_targets_of_one_map_see_the_structs_earlier_ones_made_and_all_read_the_input(tmp_path):
    steps = "steps:\n  - map: {user.x.y: id, user.x.z: 'user.tier + \"!\"', user.tier: '\"t\"', n.m: id}\n"
    out = _run(tmp_path, steps)
    assert out[0] == {"id": 1, "user": {"tier": "t", "geo": {"c": "x"}, "x": {"y": 1, "z": "a!"}}, "n": {"m": 1}}
    assert out[1]["user"] == {"tier": "t", "geo": None, "x": {"y": 2, "z": None}}


def test_the_written_types_are_the_ones_validate_gives(tmp_path):
    out = _run(tmp_path, "steps:\n  - map: {user.x.y: id, user.geo.d: 1.5}\n", sink="out.parquet")
    schema = pl.read_parquet_schema(tmp_path / "out.parquet")
    assert schema["user"] == pl.Struct({"tier": pl.String, "geo": pl.Struct({"c": pl.String, "d": pl.Float64}),
                                        "x": pl.Struct({"y": pl.Int64})})
    assert out[1]["user"] == {"tier": None, "geo": {"c": None, "d": 1.5}, "x": {"y": 2}}


def test_a_field_null_in_every_record_becomes_a_struct(tmp_path):
    spec = write_spec(tmp_path, """
        sources:
          s: {type: inline, records: [{id: 1, u: null}, {id: 2, u: null}]}
        steps:
          - map: {u.a.b: id}
        sinks:
          o: {type: file, path: out.jsonl}
        """)
    assert run(spec).exit_code == 0
    assert [r["u"] for r in records(tmp_path / "out.jsonl")] == [{"a": {"b": 1}}, {"a": {"b": 2}}]


def test_a_dotted_target_through_a_field_that_is_not_a_struct_is_a_compile_error(tmp_path):
    spec = write_spec(tmp_path, SOURCE + "steps:\n  - map: {user.tier.z: id}\nsinks:\n  o: {type: file, path: o.jsonl}\n")
    result = run(spec)
    assert result.exit_code != 0
    assert "E310" in result.output and "'user.tier' is string, not a struct" in result.output
