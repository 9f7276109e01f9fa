"""JSON lines: a malformed line is a record error when the run reads it (SPEC §3), never a reason to
refuse the run (a source without a schema infers it from its first lines that hold a JSON object), and
is read the same whatever its neighbours (runtime/sources/jsonl_lines.py)."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from runner_cases import records, run, write_spec

from flowc.runtime.sources.csv_lines import BLANK
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.jsonl_lines import inferred_jsonl_schema
from flowc.runtime.sources.line_chunks import jsonl_chunks

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


_MIXED_LINE = st.sampled_from([b'{"n": "1"}', b'{"n": "2", "tags": ["a"]}', b"", b"   ", b"not json", b"[1, 2]",
                               b"7", b'{"n": 3}', b'{"n": "4", "tags": "x"}', b'{"n": "5"} junk', b"{", b"null",
                               b'{"n": NaN}', b'{"n": "\\u00e9"}', b"\r"])
_DTYPES = {"n": pl.String, "tags": pl.List(pl.String)}


def _alone(line: bytes) -> tuple[str | None, ...] | None:
    """The line read on its own: its values, or None when it holds no JSON object of `_DTYPES`."""
    try:
        if not isinstance(json.loads(line), dict):
            return None
        row = pl.read_ndjson(line, schema=_DTYPES)
    except (ValueError, pl.exceptions.PolarsError):
        return None
    return row.rows()[0] if row.height == 1 else None


@given(lines=st.lists(_MIXED_LINE, max_size=40), rows=st.integers(1, 50))
def test_each_json_line_is_read_as_it_reads_alone_whatever_its_neighbours(tmp_path_factory, lines, rows):
    path = tmp_path_factory.mktemp("jsonl") / "f.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    got = pl.concat([chunk.frame.collect() for chunk in jsonl_chunks(str(path), _DTYPES, first_row=0,
                                                                      rows_per_chunk=rows)] or [pl.DataFrame()])
    assert got.height == len(lines)
    for line, row in zip(lines, got.iter_rows(named=True), strict=True):
        if not line.strip(b" \t\r"):
            assert row[BLANK] and row[RAW_ERROR] is None
            continue
        alone = _alone(line)
        assert not row[BLANK]
        if alone is None:
            assert row[RAW_ERROR] is not None and row[RAW_ERROR].endswith(": " + line.decode().removesuffix("\r"))
            assert (row["n"], row["tags"]) == (None, None)
        else:
            assert row[RAW_ERROR] is None and (row["n"], row["tags"]) == alone, line


@pytest.mark.parametrize(("name", "text"), [("in.csv", "a\n1\n2\nx\n"),
                                            ("in.jsonl", '{"a": 1}\n{"a": 2}\n{"a": "x"}\n')])
def test_a_sources_own_infer_rows_bounds_its_sample(tmp_path, name, text):
    """`infer_rows` on a source (the JSON Schema allows it, `validate --with-data` sampled with it) was
    ignored by the run, which took `settings.infer_rows`: here the third value is read as a record error
    of the int the first two infer, not folded into a string column."""
    spec = write_spec(tmp_path, SPEC.replace("path: FILE}", "path: FILE, infer_rows: 2}").replace("FILE", name),
                      {name: text})
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"a": 1}, {"a": 2}]
    (dead,) = records(tmp_path / "dead.jsonl")
    assert dead["_error"]["code"] == "conversion"
