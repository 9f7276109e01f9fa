"""Acceptance audit of SPEC §3 sources and formats, §5 expressions and §10 validate diagnostics:
combinations and edges the other acceptance files leave out, written from SPEC.md and run through the
real `flowc` command on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]


def flowc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1"})


def write_spec(folder: Path, body: str, files: dict[str, str | bytes] | None = None) -> Path:
    for name, content in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    path = folder / "p.flow.yaml"
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


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
    path.write_text(path.read_text().replace("x * 2", "nope * 2"))
    wrong = flowc("validate", "--with-data", str(path))
    assert wrong.returncode == 1 and "unknown field 'nope'" in wrong.stdout


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
