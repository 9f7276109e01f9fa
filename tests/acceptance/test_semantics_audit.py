"""Acceptance audit of step semantics and stateful steps (SPEC §2, §4, §6, §8), written from SPEC.md
alone and run through the `flowc` command: combinations and edges the other acceptance files leave
out. Expected results are worked out by hand in the comments (times in seconds after
2026-01-01T00:00:00Z, which is aligned to the epoch at every minute)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def flowc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def write_spec(folder: Path, body: str, files: dict[str, str] | None = None, name: str = "p.flow.yaml") -> Path:
    for file, content in (files or {}).items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_text(content)
    path = folder / name
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return path


def run_ok(path: Path, *args: str) -> subprocess.CompletedProcess:
    done = flowc("run", "--reset", *args, str(path))
    assert done.returncode == 0, done.stderr
    return done


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def at(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def secs(text: str) -> int:
    return int((datetime.fromisoformat(text.replace("Z", "+00:00")) - BASE).total_seconds())


# --- §4 sql: every way of limiting or aggregating rows is a compile error ---------------------------

def _sql_spec(folder: Path, name: str, query: str) -> Path:
    return write_spec(folder, f"""
    sources:
      s: {{type: inline, records: [{{n: 1, c: a}}, {{n: 2, c: b}}]}}
    steps:
      - sql: "{query}"
    sinks:
      out: {{type: file, path: out.jsonl}}
    """, name=name)


def test_sql_fetch_first_and_polars_only_aggregates_are_compile_errors(tmp_path):
    # FETCH FIRST is standard SQL's LIMIT; quantile_cont, listagg and friends are Polars SQL
    # aggregates: each would give one row per batch, so its result would change with the batch size.
    queries = ["SELECT n FROM input FETCH FIRST 1 ROWS ONLY", "SELECT quantile_cont(n, 0.5) AS q FROM input",
               "SELECT quantile_disc(n, 0.5) AS q FROM input", "SELECT listagg(c, ',') AS q FROM input",
               "SELECT covar(n, n) AS q FROM input", "SELECT var(n) AS q FROM input",
               "SELECT total(n) AS q FROM input"]
    paths = [_sql_spec(tmp_path, f"q{i}.flow.yaml", q) for i, q in enumerate(queries)]
    done = flowc("validate", *map(str, paths))
    assert done.returncode == 1
    failed = {line.split(":")[0] for line in done.stdout.splitlines() if "error[E307]" in line}
    assert failed == set(map(str, paths)), done.stdout
    # a row-wise query with a function call and a constant column is fine, one row per input record
    ok = _sql_spec(tmp_path, "ok.flow.yaml", "SELECT upper(c) AS u, 1 AS one FROM input WHERE n > 1")
    run_ok(ok, "--set", "settings.batch_size=1")
    assert lines(tmp_path / "out.jsonl") == [{"u": "B", "one": 1}]
