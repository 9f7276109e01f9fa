"""More acceptance tests for SPEC §3 file sources (compressed and recursive paths, text lines, time zones,
durations, encodings), written from SPEC.md alone and run through the `flowc` command."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import polars as pl
from acceptance_cli import FLOWC, flowc, lines, write_spec


def run_ok(path: Path) -> None:
    done = flowc("run", "--quiet", str(path))
    assert done.returncode == 0, done.stderr


def test_gzipped_sources_take_their_format_from_the_extension_before_gz(tmp_path):
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"n,s\n1,x\n2,y\n"))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b'{"n": 3}\n{"n": 4}\n'))
    run_ok(write_spec(tmp_path, """
    sources:
      c: {type: file, path: a.csv.gz}
      j: {type: file, path: b.jsonl.gz}
    sinks:
      c_out: {type: file, path: c.jsonl, from: c}
      j_out: {type: file, path: j.jsonl, from: j}
    """))
    assert lines(tmp_path / "c.jsonl") == [{"n": 1, "s": "x"}, {"n": 2, "s": "y"}]
    assert lines(tmp_path / "j.jsonl") == [{"n": 3}, {"n": 4}]


def test_recursive_glob_reads_every_matching_file_in_name_order(tmp_path):
    for name, n in (("data/2026/02/x.jsonl", 3), ("data/2026/01/x.jsonl", 1), ("data/2026/01/y.jsonl", 2),
                    ("data/top.jsonl", 4)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps({"n": n}) + "\n")
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: "data/**/*.jsonl"}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    assert sorted(r["n"] for r in lines(tmp_path / "out.jsonl")) == [1, 2, 3, 4]
    order = [r["n"] for r in lines(tmp_path / "out.jsonl")]
    assert order.index(1) < order.index(2)  # one folder's files in name order


def test_text_lines_without_line_endings(tmp_path):
    (tmp_path / "in.txt").write_bytes(b"alpha\r\nbeta\r\n\r\ngamma")
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.txt}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    assert lines(tmp_path / "out.jsonl") == [{"line": "alpha"}, {"line": "beta"}, {"line": ""}, {"line": "gamma"}]


def test_datetimes_with_offsets_are_converted_to_utc_and_durations_read(tmp_path):
    (tmp_path / "in.csv").write_text("ts,d\n2026-01-01T01:30:00+01:00,90s\n2026-01-01T00:00:00.123456Z,5m\n")
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.csv, schema: {ts: datetime, d: duration}}
    steps:
      - map: {h: hour(ts), later: ts + d}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    out = lines(tmp_path / "out.jsonl")
    assert [r["h"] for r in out] == [0, 0]
    assert out[0]["ts"].startswith("2026-01-01T00:30:00") and out[0]["later"].startswith("2026-01-01T00:31:30")
    assert out[1]["ts"].startswith("2026-01-01T00:00:00.123456")
    assert out[1]["later"].startswith("2026-01-01T00:05:00.123456")


def test_csv_encoding_option(tmp_path):
    (tmp_path / "in.csv").write_bytes("name,city\nJosé,Zürich\n".encode("latin-1"))
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.csv, options: {encoding: latin-1}}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    assert lines(tmp_path / "out.jsonl") == [{"name": "José", "city": "Zürich"}]


def test_parquet_with_datetimes_and_nested_columns(tmp_path):
    frame = pl.DataFrame({"ts": ["2026-01-01T00:00:05"], "u": [{"a": 1, "b": "x"}], "xs": [[1, 2]]})
    frame.with_columns(pl.col("ts").str.to_datetime(time_unit="us", time_zone="UTC")).write_parquet(tmp_path / "in.parquet")
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.parquet}
    steps:
      - map: {m: minute(ts), b: u.b, x1: "xs[1]"}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    [rec] = lines(tmp_path / "out.jsonl")
    assert rec["ts"].startswith("2026-01-01T00:00:05") and (rec["m"], rec["b"], rec["x1"]) == (0, "x", 2)


def test_inferred_jsonl_datetime_text_serves_as_event_time(tmp_path):
    (tmp_path / "in.jsonl").write_text('{"ts": "2026-01-01T00:00:05Z", "v": 1}\n{"ts": "2026-01-01T00:01:05Z", "v": 2}\n')
    run_ok(write_spec(tmp_path, """
    sources:
      s:
        type: file
        path: in.jsonl
        event_time: {field: ts, max_out_of_orderness: 0s}
    steps:
      - aggregate: {window: {type: tumbling, size: 1m}, compute: {total: sum(v)}}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    assert [r["total"] for r in lines(tmp_path / "out.jsonl")] == [1, 2]


def test_inferred_int_then_float_value_is_a_record_error_after_the_sample(tmp_path):
    (tmp_path / "in.csv").write_text("n\n1\n2\n2.5\n3\n")
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.csv, infer_rows: 2}
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: s.errors}
    """))
    assert lines(tmp_path / "out.jsonl") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert "2.5" in (tmp_path / "bad.jsonl").read_text()


def test_csv_empty_unquoted_field_is_null_and_quoted_empty_is_text(tmp_path):
    (tmp_path / "in.csv").write_text('a,b,c\n1,,x\n,"",y\n')
    run_ok(write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.csv, schema: {a: int, b: string, c: string}}
    sinks:
      out: {type: file, path: out.jsonl}
    """))
    assert lines(tmp_path / "out.jsonl") == [{"a": 1, "b": None, "c": "x"}, {"a": None, "b": "", "c": "y"}]


def test_a_format_the_extension_cannot_tell_is_a_compile_error(tmp_path):
    (tmp_path / "in.dat").write_text('{"n": 1}\n')
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.dat}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = flowc("validate", str(path))
    assert done.returncode == 1 and "format" in done.stdout


def test_a_watched_glob_matching_a_gz_file_fails_naming_it(tmp_path):
    # A watched source reads growing text files; a compressed one that `in/*` matches was read as text
    # (its records lost without a word): now the run fails naming it.
    (tmp_path / "in").mkdir()
    (tmp_path / "in/a.csv.gz").write_bytes(gzip.compress(b"n,s\n1,x\n"))
    (tmp_path / "in/b.csv").write_text("n,s\n2,y\n")
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: "in/*", format: csv, watch: true}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = subprocess.run([*FLOWC, "run", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "in/a.csv.gz" in done.stderr and "compressed" in done.stderr
