"""Acceptance audit of SPEC §3 sources and formats, §5 expressions and §10 validate diagnostics:
combinations and edges the other acceptance files leave out, written from SPEC.md and run through the
real `flowc` command on real files."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

from acceptance_cli import FLOWC, flowc, lines, write_spec


def run_ok(folder: Path, body: str, files: dict | None = None) -> None:
    done = flowc("run", "--quiet", str(write_spec(folder, body, files)))
    assert done.returncode == 0, done.stderr


# --- §3 schema inference: "from the first infer_rows records of a bounded source", not of its first file ---

def test_inference_samples_past_an_empty_first_file_of_the_glob(tmp_path):
    run_ok(tmp_path, """
    sources:
      c: {type: file, path: "c*.csv"}
      j: {type: file, path: "j*.jsonl"}
      a: {type: file, path: "a*.json"}
    steps:
      - union: [c, j, a]
      - map: {twice: x * 2}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"c1.csv": "", "c2.csv": "x,y\n", "c3.csv": "x,y\n1,2\n",
          "j1.jsonl": "", "j2.jsonl": '\n\n{"x": 5, "z": true}',
          "a1.json": "[]", "a2.json": "", "a3.json": '[{"x": 2}]'})
    assert lines(tmp_path / "out.jsonl") == [
        {"x": 1, "y": 2, "z": None, "twice": 2},
        {"x": 5, "y": None, "z": True, "twice": 10},
        {"x": 2, "y": None, "z": None, "twice": 4},
    ]


def test_inference_sample_spans_files_so_a_later_files_column_is_kept(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: file, path: "in*.jsonl"}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in1.jsonl": '{"x": 1}\n', "in2.jsonl": '{"x": 2, "note": "q"}\n'})
    assert lines(tmp_path / "out.jsonl") == [{"x": 1, "note": None}, {"x": 2, "note": "q"}]


def test_a_glob_of_only_empty_files_cannot_be_inferred_and_says_so(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: "in*.csv"}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in1.csv": "", "in2.csv": ""})
    done = flowc("run", "--quiet", str(path))
    assert done.returncode == 1
    assert "cannot infer a schema" in done.stderr and "in*.csv" in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_validate_with_data_infers_what_run_infers(tmp_path):
    # a header-only first file and a latin-1 file: validate sampled the first file alone, as UTF-8,
    # and reported `x * 2` on a string (or nothing at all) where the run reads an int
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: "in*.csv", options: {encoding: latin-1}}
    steps:
      - map: {y: x * 2}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in1.csv": "x,n\xe9\n".encode("latin-1"), "in2.csv": "x,n\xe9\n5,\xe9\n".encode("latin-1")})
    checked = flowc("validate", "--with-data", str(path))
    assert checked.returncode == 0, checked.stdout
    assert "N301" not in checked.stdout
    assert flowc("run", "--quiet", str(path)).returncode == 0
    assert lines(tmp_path / "out.jsonl") == [{"x": 5, "né": "é", "y": 10}]


def test_csv_without_header_names_fields_column_1_column_2(tmp_path):
    # docs/reference.md: `header: false` gives fields `column_1`, `column_2`, ... (Polars 2 counts from 0)
    run_ok(tmp_path, """
    sources:
      s: {type: file, path: in.csv, options: {header: false}}
    steps:
      - map: {next: column_1 + 1}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.csv": "1,x\n2,y\n"})
    assert lines(tmp_path / "out.jsonl") == [{"column_1": 1, "column_2": "x", "next": 2},
                                             {"column_1": 2, "column_2": "y", "next": 3}]


# --- a UTF-8 byte order mark (Excel's "CSV UTF-8", Notepad) opens many files: it is no part of the data ---

BOM = b"\xef\xbb\xbf"


def test_a_byte_order_mark_is_not_part_of_a_text_files_first_line(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: file, path: in.txt}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.txt": BOM + b"hello\r\nworld"})
    assert lines(tmp_path / "out.jsonl") == [{"line": "hello"}, {"line": "world"}]


def test_a_watched_folder_skips_byte_order_marks_and_makes_nested_misfits_record_errors(tmp_path):
    # The BOM named a CSV file's first field '\ufeffa' and made a JSON line malformed; a nested value
    # of another shape (`{"x": [1]}` for `{x: int}`) failed the run with a Polars traceback.
    path = write_spec(tmp_path, """
    settings: {batch_timeout: 100ms, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      c: {type: file, path: "in/*.csv", watch: true}
      j: {type: file, path: "in/*.jsonl", watch: true}
      t: {type: file, path: "in/*.txt", watch: true}
      n: {type: file, path: "nested/*.jsonl", watch: true, schema: {u: {x: int}}}
    sinks:
      oc: {type: file, path: c.jsonl, from: c}
      oj: {type: file, path: j.jsonl, from: j}
      ot: {type: file, path: t.jsonl, from: t}
      on: {type: file, path: n.jsonl, from: n}
    """, {"in/a.csv": BOM + b"a,b\r\n1,x\r\n", "in/b.jsonl": BOM + b'{"a": 2}\n', "in/c.txt": BOM + b"hello\n",
          "nested/a.jsonl": '{"u": {"x": 1}}\n{"u": {"x": [1]}}\n{"u": {"x": "2"}}\n{"u": 5}\n'})
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    outputs = [tmp_path / name for name in ("c.jsonl", "j.jsonl", "t.jsonl")]
    nested, dead = tmp_path / "n.jsonl", tmp_path / "dead.jsonl"

    def count(file: Path) -> int:
        return len(file.read_text().splitlines()) if file.exists() else 0

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None and not (
                all(count(p) for p in outputs) and count(nested) == 2 and count(dead) == 2):
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 130, proc.stderr.read() if proc.stderr else ""
    assert lines(outputs[0]) == [{"a": 1, "b": "x"}]
    assert lines(outputs[1]) == [{"a": 2}]
    assert lines(outputs[2]) == [{"line": "hello"}]
    assert lines(nested) == [{"u": {"x": 1}}, {"u": {"x": 2}}]
    assert [(d["_source"]["position"], d["_error"]["code"]) for d in lines(dead)] == [
        ("nested/a.jsonl:2", "conversion"), ("nested/a.jsonl:4", "conversion")]


# --- §7 "format defaults from the path's extension (.csv, .jsonl, .json, .parquet, .txt, with .gz after it)" ---

def test_gzipped_json_array_and_text_sources_are_read_decompressed(tmp_path):
    run_ok(tmp_path, """
    sources:
      a: {type: file, path: in.json.gz}
      b: {type: file, path: in.txt.gz}
      c: {type: file, path: typed.json.gz, schema: {x: int}}
      d: {type: file, path: in.CSV}
    steps:
      - union: [a, b, c, d]
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: c.errors}
    """, {"in.json.gz": gzip.compress(b'[{"x": 3}, {"x": 4}]'), "in.txt.gz": gzip.compress(b"l1\r\nl2\n"),
          "typed.json.gz": gzip.compress(b'[{"x": 5}, {"x": "q"}]'), "in.CSV": "x\n6\n"})
    out = lines(tmp_path / "out.jsonl")
    assert sorted(json.dumps(r, sort_keys=True) for r in out) == sorted(json.dumps(r, sort_keys=True) for r in [
        {"x": 3, "line": None}, {"x": 4, "line": None}, {"x": None, "line": "l1"}, {"x": None, "line": "l2"},
        {"x": 5, "line": None}, {"x": 6, "line": None}])
    [bad] = lines(tmp_path / "bad.jsonl")
    assert bad["_source"]["position"] == "typed.json.gz[1]" and "'q'" in bad["_error"]["message"]


# --- §3 generate: its fields are expressions, so SPEC §5's errors hold there too ---

def test_a_generate_field_that_fails_makes_a_record_error_not_a_null_or_a_wrap(tmp_path):
    run_ok(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      g:
        type: generate
        count: 4
        fields:
          n: _n
          v: if(_n == 1, to_int("zz"), _n)
          big: if(_n == 2, 9223372036854775807 + _n, 0)
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert lines(tmp_path / "out.jsonl") == [{"n": 0, "v": 0, "big": 0}, {"n": 3, "v": 3, "big": 0}]
    dead = lines(tmp_path / "dead.jsonl")
    assert [(d["_source"]["position"], d["_error"]["code"]) for d in dead] == [("_n=1", "conversion"),
                                                                             ("_n=2", "overflow")]
    assert "'zz'" in dead[0]["_error"]["message"]
    assert dead[1]["big"] is None  # never the wrapped value


def test_a_failing_generate_field_fails_the_run_by_default_naming_the_record(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      g: {type: generate, count: 3, fields: {v: 'to_int(if(_n == 2, "x", "1"))'}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = flowc("run", "--quiet", str(path))
    assert done.returncode == 1
    assert "_n=2" in done.stderr and "cannot convert 'x' to int" in done.stderr


# --- §3 nested mappings and list<T>: a value that does not fit is a record error, never a crash or a cast ---

def test_inline_nested_values_that_do_not_fit_are_record_errors(tmp_path):
    # A list where a struct is declared failed the run with a Polars traceback; 1.5 in a list<int> became 1,
    # "q" a null, and "abc" a list of three nulls.
    run_ok(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s:
        type: inline
        schema: {id: int, u: {x: int}, l: "list<int>"}
        records:
          - {id: 1, u: {x: 1}, l: [1, "2"]}
          - {id: 2, u: [1]}
          - {id: 3, l: [1.5]}
          - {id: 4, l: "abc"}
          - {id: 5, u: {x: "y"}}
          - {id: 6, u: {x: null}, l: [null]}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert lines(tmp_path / "out.jsonl") == [{"id": 1, "u": {"x": 1}, "l": [1, 2]},
                                             {"id": 6, "u": {"x": None}, "l": [None]}]
    dead = lines(tmp_path / "dead.jsonl")
    assert [d["_source"]["position"] for d in dead] == ["records[1]", "records[2]", "records[3]", "records[4]"]
    assert {d["_error"]["code"] for d in dead} == {"conversion"}
    messages = [d["_error"]["message"] for d in dead]
    assert messages[0].startswith("field 'u': ") and messages[1].startswith("field 'l[0]': ")
    assert messages[2].startswith("field 'l': ") and messages[3].startswith("field 'u.x': ")
    assert [d["id"] for d in dead] == [2, 3, 4, 5]


def test_a_glob_that_also_matches_a_folder_reads_the_files_only(tmp_path):
    # `in/*` matched the folder `in/sub` too, and the run failed with "Is a directory"
    run_ok(tmp_path, """
    sources:
      s: {type: file, path: "in/*", format: csv}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in/a.csv": "x\n1\n", "in/sub/b.csv": "x\n2\n", "in/c.csv": "x\n3\n"})
    assert lines(tmp_path / "out.jsonl") == [{"x": 1}, {"x": 3}]


def test_a_text_source_schema_may_only_type_line(tmp_path):
    # `{x: int}` on a text source gave a null `x` per line, silently; `{line: int}` reads a file of numbers
    path = write_spec(tmp_path, """
    sources:
      c: {type: file, path: c.txt, schema: {x: int}}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"c.txt": "5\n"})
    done = flowc("validate", str(path))
    assert done.returncode == 1 and "error[E404]" in done.stdout and "'x'" in done.stdout
    assert f"{path}:5:41: error[E404]" in done.stdout
    run_ok(tmp_path, """
    sources:
      c: {type: file, path: c.txt, schema: {line: int}}
    steps:
      - map: {next: line + 1}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"c.txt": "5\n7"})
    assert lines(tmp_path / "out.jsonl") == [{"line": 5, "next": 6}, {"line": 7, "next": 8}]


def test_a_gzipped_parquet_source_is_read_decompressed(tmp_path):
    import io

    import polars as pl

    packed = io.BytesIO()
    pl.DataFrame({"x": [7, 8], "y": ["true", "zz"]}).write_parquet(packed)
    run_ok(tmp_path, """
    settings: {batch_size: 1}
    sources:
      s: {type: file, path: in.parquet.gz, schema: {x: int, y: bool}}
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: s.errors}
    """, {"in.parquet.gz": gzip.compress(packed.getvalue())})
    assert lines(tmp_path / "out.jsonl") == [{"x": 7, "y": True}]
    assert [b["_source"]["position"] for b in lines(tmp_path / "bad.jsonl")] == ["in.parquet.gz[1]"]


def test_inference_reads_a_field_of_mixed_json_kinds_as_text(tmp_path):
    # `[1]` then `5`, or `1` then `true`, within the sample refused the run ("failed to determine supertype")
    rows = '{"a": 1, "c": [1], "e": 1}\n{"a": true, "c": 5, "e": 2.5}\n{"a": null, "c": ["x"], "e": null}\n'
    # an inline source's field of no common type is text too: its list was Python's repr, not JSON
    run_ok(tmp_path, """
    sources:
      j: {type: file, path: in.jsonl}
      a: {type: file, path: in.json}
      i: {type: inline, records: [{a: 1, c: [1], e: 1}, {a: true, c: 5, e: 2.5}, {a: null, c: ["x"], e: null}]}
    sinks:
      out: {type: file, path: out.jsonl, from: j}
      out2: {type: file, path: out2.jsonl, from: a}
      out3: {type: file, path: out3.jsonl, from: i}
    """, {"in.jsonl": rows, "in.json": "[" + ",".join(rows.splitlines()) + "]"})
    expected = [{"a": "1", "c": "[1]", "e": 1.0}, {"a": "true", "c": "5", "e": 2.5},
                {"a": None, "c": '["x"]', "e": None}]
    assert lines(tmp_path / "out.jsonl") == expected
    assert lines(tmp_path / "out2.jsonl") == expected
    assert lines(tmp_path / "out3.jsonl") == expected


def test_an_integer_sampled_beyond_64_bits_is_inferred_as_text_not_int(tmp_path):
    # SPEC §3: int is 64-bit. The sample inferred `int` and the sampled record itself became an error.
    run_ok(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      c: {type: file, path: in.csv}
      j: {type: file, path: in.jsonl}
    sinks:
      out: {type: file, path: out.jsonl, from: c}
      oj: {type: file, path: oj.jsonl, from: j}
    """, {"in.csv": "a,b\n1,99999999999999999999\n2,3\n",
          "in.jsonl": '{"b": 99999999999999999999, "l": [1, 99999999999999999999]}\n{"b": 3, "l": [2]}\n'})
    assert lines(tmp_path / "out.jsonl") == [{"a": 1, "b": "99999999999999999999"}, {"a": 2, "b": "3"}]
    assert lines(tmp_path / "oj.jsonl") == [{"b": "99999999999999999999", "l": ["1", "99999999999999999999"]},
                                            {"b": "3", "l": ["2"]}]
    assert not (tmp_path / "dead.jsonl").exists() or not (tmp_path / "dead.jsonl").read_text()


def test_a_csv_source_reads_lists_and_structs_from_the_json_text_flowcs_csv_sink_writes(tmp_path):
    # A CSV source with a `list<int>` or struct field failed the run ("casting from Utf8View to list type")
    run_ok(tmp_path, """
    sources:
      s:
        type: inline
        records: [{id: 1, l: [1, 2], u: {x: 3, t: "2026-01-01T05:00:00Z"}}, {id: 2}]
    sinks:
      out: {type: file, path: written.csv}
    """)
    shutil.rmtree(tmp_path / ".flow")  # the same pipeline name: start the second spec afresh
    run_ok(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: "*.csv", schema: {id: int, l: "list<int>", u: {x: int, t: datetime}}}
    steps:
      - map: {second: "l[1]", hour: hour(u.t)}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"more.csv": 'id,l,u\n3,x,"{""x"": 4}"\n'})
    assert lines(tmp_path / "out.jsonl") == [
        {"id": 1, "l": [1, 2], "u": {"x": 3, "t": "2026-01-01T05:00:00.000000Z"}, "second": 2, "hour": 5},
        {"id": 2, "l": None, "u": None, "second": None, "hour": None}]
    [dead] = lines(tmp_path / "dead.jsonl")
    assert dead["_source"]["position"] == "more.csv:2" and dead["_error"]["code"] == "conversion"
    assert dead["_error"]["message"] == "field 'l': cannot convert 'x' to list<int>"


def test_a_parquet_column_of_another_shape_than_declared_is_a_record_error(tmp_path):
    # A list column declared `int` failed the run ("cannot cast List type"); a struct declared `string`
    # became '{1,"a"}', and a struct's text field declared `int` a null without an error.
    from datetime import datetime

    import polars as pl

    pl.DataFrame({"u": [{"x": "1"}, {"x": "q"}], "l": [[1, 2], [3]], "s": [{"k": 1, "n": "a"}, None],
                  "t": [datetime(2026, 1, 1, 5), None]}).write_parquet(tmp_path / "in.parquet")
    run_ok(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      p: {type: file, path: in.parquet, schema: {u: {x: int}, s: string, t: string}}
      q: {type: file, path: in.parquet, schema: {l: int}}
    sinks:
      out: {type: file, path: out.jsonl, from: p}
      oq: {type: file, path: oq.jsonl, from: q}
    """)
    # a datetime read as text is ISO-8601, as to_string gives it (Polars' cast: '2026-01-01 05:00:00.000000')
    assert lines(tmp_path / "out.jsonl") == [{"u": {"x": 1}, "s": '{"k": 1, "n": "a"}', "t": "2026-01-01T05:00:00Z"}]
    assert lines(tmp_path / "oq.jsonl") == []
    dead = lines(tmp_path / "dead.jsonl")
    assert sorted((d["_source"]["name"], d["_source"]["position"], d["_error"]["message"]) for d in dead) == [
        ("p", "in.parquet[1]", "field 'u.x': cannot convert 'q' to int"),
        ("q", "in.parquet[0]", "field 'l': cannot convert '[1, 2]' to int"),
        ("q", "in.parquet[1]", "field 'l': cannot convert '[3]' to int")]


def test_an_empty_inline_source_without_schema_is_a_placeholder_its_tests_fill(tmp_path):
    # `records: []` without a schema made every field E104, so `flowc test` refused the spec
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: []}
    steps:
      - filter: a > 1
    sinks:
      out: {type: file, path: out.jsonl}
    tests:
      - name: keeps the big ones
        inputs:
          s: [{a: 1}, {a: 2}]
        expect:
          out: [{a: 2}]
    """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 0 and "N301" in checked.stdout, checked.stdout
    tested = flowc("test", str(path))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout
