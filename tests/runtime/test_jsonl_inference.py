"""A JSON lines source without a schema infers it from its first lines that hold a JSON object: a
malformed line is a record error when the run reads it, never a reason to refuse the run (SPEC §3)."""

from __future__ import annotations

import gzip

import polars as pl
import pytest
from runner_cases import records, run, write_spec

from flowc.runtime.sources.jsonl_lines import inferred_jsonl_schema

SPEC = """
settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
sources:
  s: {type: file, path: FILE}
sinks:
  out: {type: file, path: out.jsonl}
"""


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz"])
def test_malformed_and_blank_lines_among_the_first_are_left_out_and_become_record_errors(tmp_path, name):
    text = '\ufeffnot json\n\n[1, 2]\n{"id": 1, "tags": ["a"]}\n{"id": 2, "tags": [], "note": "x"}\n'
    spec = write_spec(tmp_path, SPEC.replace("FILE", name))
    data = text.encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"id": 1, "tags": ["a"], "note": None},
                                               {"id": 2, "tags": [], "note": "x"}]
    dead = records(tmp_path / "dead.jsonl")
    assert [d["_source"]["position"] for d in dead] == [f"{name}:1", f"{name}:3"]
    assert dead[0]["_error"]["message"].endswith(": not json")  # the byte order mark is not part of the line


def test_inference_reads_the_first_rows_objects_and_no_further(tmp_path):
    lines = ['{"a": 1}', "oops"] + ['{"a": 2.5}'] * 3 + ['{"a": "text"}']
    (tmp_path / "f.jsonl").write_text("\n".join(lines) + "\n")
    assert inferred_jsonl_schema(str(tmp_path / "f.jsonl"), 4) == pl.Schema({"a": pl.Float64})
    assert inferred_jsonl_schema(str(tmp_path / "f.jsonl"), 10) == pl.Schema({"a": pl.String})


def test_a_file_without_any_object_cannot_be_inferred_from(tmp_path):
    (tmp_path / "f.jsonl").write_text("[1]\nnope\n\n")
    with pytest.raises(pl.exceptions.ComputeError, match="no line of the first 4 holds a JSON object"):
        inferred_jsonl_schema(str(tmp_path / "f.jsonl"), 1000)
