"""A source without a declared schema still parses its event-time field (SPEC §3): inference sees ISO
text as strings, but the event time is read as a datetime, and one that does not parse is a record
error of the source."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]


def run(folder: Path, source: str) -> subprocess.CompletedProcess:
    (folder / "p.flow.yaml").write_text(textwrap.dedent("""\
        version: 1
        pipeline: p
        settings:
          on_error: dead_letter
          dead_letter: {type: file, path: dead.jsonl}
        sources:
          s:
        """) + textwrap.indent(textwrap.dedent(source), "    ") + textwrap.dedent("""\
        steps:
          - aggregate:
              by: [k]
              window: {type: tumbling, size: 1m}
              compute: {n: count()}
        sinks:
          out: {type: file, path: out.jsonl}
        """))
    return subprocess.run([*FLOWC, "run", str(folder / "p.flow.yaml"), "--quiet"], capture_output=True,
                          text=True, timeout=60)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_inline_source_event_time_is_parsed(tmp_path: Path) -> None:
    done = run(tmp_path, """\
        type: inline
        event_time: {field: ts}
        records:
          - {k: a, ts: "2026-01-01T00:00:05Z"}
          - {k: a, ts: "2026-01-01T00:01:05Z"}
        """)
    assert done.returncode == 0, done.stderr
    assert [(r["window_start"], r["n"]) for r in lines(tmp_path / "out.jsonl")] == [
        ("2026-01-01T00:00:00.000000Z", 1), ("2026-01-01T00:01:00.000000Z", 1)]


def test_a_csv_event_time_that_does_not_parse_is_a_source_record_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("k,ts\na,2026-01-01T00:00:05Z\nb,yesterday\n")
    done = run(tmp_path, """\
        type: file
        path: d.csv
        event_time: {field: ts}
        """)
    assert done.returncode == 0, done.stderr
    assert [r["k"] for r in lines(tmp_path / "out.jsonl")] == ["a"]
    [dead] = lines(tmp_path / "dead.jsonl")
    assert dead["_error"]["step"] == "s" and "cannot convert 'yesterday' to datetime" in dead["_error"]["message"]
    assert dead["_source"] == {"name": "s", "position": "d.csv:3"}
