"""A JSON source (one array per file): an element that does not fit the schema is a record error at
`file[i]`, the other elements go on (SPEC §3), with or without a declared schema."""

from __future__ import annotations

import json

import pytest
from runner_cases import records, run, write_spec

SPEC = """
settings: {{on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}, infer_rows: 3}}
sources:
  j: {{type: file, path: "in-*.json"{schema}}}
sinks:
  out: {{type: file, path: out.jsonl}}
"""


@pytest.mark.parametrize("schema", ["", ", schema: {a: int, tags: 'list<string>'}"])
def test_an_element_that_does_not_fit_is_a_record_error_at_its_index(tmp_path, schema):
    first = [{"a": i, "tags": ["x"]} for i in range(4)] + [{"a": "abc", "tags": []}, [1, 2], {"a": 6, "tags": "no"}]
    files = {"in-1.json": json.dumps(first), "in-2.json": json.dumps({"a": 7, "tags": None})}
    result = run(write_spec(tmp_path, SPEC.format(schema=schema), files), "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"a": i, "tags": ["x"]} for i in range(4)] + [{"a": 7, "tags": None}]
    dead = records(tmp_path / "dead.jsonl")
    assert [(d["_source"]["position"], d["_error"]["code"]) for d in dead] == [
        ("in-1.json[4]", "conversion"), ("in-1.json[5]", "parse"), ("in-1.json[6]", "parse")]
    assert dead[1]["_error"]["message"] == "json: the line is not a JSON object: [1, 2]"


def test_a_well_formed_file_is_read_by_polars_at_once(tmp_path):
    files = {"in-1.json": json.dumps([{"a": 1, "tags": ["p", "q"]}, {"a": None, "tags": []}])}
    result = run(write_spec(tmp_path, SPEC.format(schema=""), files), "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"a": 1, "tags": ["p", "q"]}, {"a": None, "tags": []}]
