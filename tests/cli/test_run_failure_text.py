"""A failed run's reason carries no Python class name (audit 4 F6a: `run failed: FileNotFoundError:
source 'd': ...`, `EnrichTableError: ...`), in `flowc run` and in a `flowc test` that fails."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import polars as pl

from flowc.runtime.failure_text import failure_reason
from flowc.runtime.sources.http_client import HttpFailed
from flowc.runtime.stateful.agg_partials import AggregateOverflow

SPEC = """version: 1
pipeline: f
sources:
  d: {type: file, path: "nodata/*.jsonl", schema: {a: int}}
steps:
  - enrich: {table: {type: file, path: t.csv}, on: {left: a, right: a}}
sinks:
  o: {type: file, path: out.jsonl}
tests:
  - name: t
    inputs: {d: [{a: 1}]}
    expect: {o: [{a: 1}]}
"""


def flowc(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=folder, capture_output=True, text=True,
                          timeout=120)


def test_run_and_test_failures_read_without_class_names(tmp_path):
    (tmp_path / "p.flow.yaml").write_text(SPEC)
    (tmp_path / "t.csv").write_text("a,b\n1,x\n")
    done = flowc(tmp_path, "run", "--quiet", "p.flow.yaml")
    assert done.returncode == 1
    assert "error: run failed: source 'd': no file matches 'nodata/*.jsonl'" in done.stderr
    assert "FileNotFoundError" not in done.stderr
    (tmp_path / "t.csv").write_text("a,b\n1,x\n1,y\n")
    tested = flowc(tmp_path, "test", "p.flow.yaml")
    assert tested.returncode == 1
    assert "enrich 'enrich_1': table 't.csv' has duplicate keys in 'a': 1" in tested.stdout + tested.stderr
    assert "EnrichTableError" not in tested.stdout + tested.stderr


def test_failure_reason_words():
    assert failure_reason(HttpFailed("http source 'api': GET http://x/ answered 404: not here")) == \
        "http source 'api': GET http://x/ answered 404: not here"
    assert failure_reason(AggregateOverflow("aggregate 'a': sum overflows int64")) == \
        "aggregate 'a': sum overflows int64"
    assert failure_reason(FileNotFoundError(errno.ENOENT, "No such file or directory", "in/a.csv")) == \
        "No such file or directory: 'in/a.csv'"
    assert failure_reason(pl.exceptions.ComputeError("something odd\nmore detail")) == "polars: something odd"
