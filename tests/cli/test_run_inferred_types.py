"""Expressions type-checked against the schemas a run infers (SPEC §3): validation without data cannot
know them (N301), so `flowc run`, `run --dry-run`, `plan` and `test` check again once they are known and
show a type error as `flowc validate` does (exit 1, nothing read or written), never a traceback; and
`validate --with-data` samples the event-time field as the datetime the run reads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]

EVENTS = '{"ts": "2026-01-01T00:00:00Z", "v": 1}\n{"ts": "2026-01-01T00:00:01Z", "v": 2}\n'

PARSED_TWICE = textwrap.dedent("""\
    version: 1
    pipeline: pt2
    sources:
      s: {type: file, path: e.jsonl, event_time: {field: ts}}
    steps:
      - map: {t2: parse_timestamp(ts)}
    sinks:
      out: {type: file, path: out.jsonl}
    """)

E222 = "p.flow.yaml:6:15: error[E222]: bad argument to 'parse_timestamp': argument 1 ('ts') must be string, got datetime"
SNIPPET = ["6 |   - map: {t2: parse_timestamp(ts)}", "  |               ^^^^^^^^^^^^^^^^^^^"]


def write(folder: Path, spec: str, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(spec))
    return path


def flowc(folder: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], cwd=folder, capture_output=True, text=True, timeout=timeout)


def assert_rendered(stderr: str, header: str = E222, snippet: list[str] = SNIPPET) -> None:
    lines = stderr.splitlines()
    assert header in lines, stderr
    at = lines.index(header)
    assert lines[at + 1:at + 4] == ["  |", *snippet], stderr
    assert "Traceback" not in stderr and "KeyError" not in stderr


def test_run_shows_the_type_error_against_the_inferred_schema_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, PARSED_TWICE, {"e.jsonl": EVENTS})
    done = flowc(tmp_path, "run", "p.flow.yaml")
    assert done.returncode == 1, done.stderr
    assert_rendered(done.stderr)
    assert "= note: checked against the schemas inferred from the data: 's' {ts: datetime, v: int}" in done.stderr
    assert not (tmp_path / "out.jsonl").exists()
    events = tmp_path / ".flow/pt2/events.log"
    assert not events.exists() or events.read_text() == ""  # nothing compiled, nothing started


def test_dry_run_and_plan_show_the_same_error(tmp_path: Path) -> None:
    write(tmp_path, PARSED_TWICE, {"e.jsonl": EVENTS})
    for args in (("run", "--dry-run", "p.flow.yaml"), ("plan", "p.flow.yaml"), ("plan", "--format", "json", "p.flow.yaml")):
        done = flowc(tmp_path, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert_rendered(done.stderr)
        assert done.stdout == "", args


def test_validate_with_data_types_the_event_time_as_the_run_does(tmp_path: Path) -> None:
    write(tmp_path, PARSED_TWICE, {"e.jsonl": EVENTS})
    assert flowc(tmp_path, "validate", "p.flow.yaml").returncode == 0  # no data: the schema is unknown
    done = flowc(tmp_path, "validate", "--with-data", "p.flow.yaml")
    assert done.returncode == 1
    assert_rendered(done.stdout + done.stderr)


def test_validate_with_data_reads_csv_dates_as_text_as_the_run_does(tmp_path: Path) -> None:
    """Only the event-time field is a datetime: another ISO column is text, in sampling as in the run."""
    write(tmp_path, PARSED_TWICE.replace("parse_timestamp(ts)", "parse_timestamp(created)")
          .replace("e.jsonl", "e.csv"), {"e.csv": "ts,created\n2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"})
    checked = flowc(tmp_path, "validate", "--with-data", "p.flow.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    done = flowc(tmp_path, "run", "--quiet", "p.flow.yaml")
    assert done.returncode == 0, done.stderr
    [record] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert record["t2"] == "2026-01-02T00:00:00.000000Z"


def test_a_well_typed_spec_over_the_inferred_event_time_runs(tmp_path: Path) -> None:
    write(tmp_path, PARSED_TWICE.replace("parse_timestamp(ts)", "ts + 1h"), {"e.jsonl": EVENTS})
    done = flowc(tmp_path, "run", "--quiet", "p.flow.yaml")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line)["t2"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out == ["2026-01-01T01:00:00.000000Z", "2026-01-01T01:00:01.000000Z"]


def test_a_resumed_run_checks_against_the_schema_recorded_in_the_event_log(tmp_path: Path) -> None:
    """The frozen schema wins over one inferred again: `v` stays an int although the data now says text."""
    spec = PARSED_TWICE.replace("parse_timestamp(ts)", "v + 1").replace("pipeline: pt2", "pipeline: pt2\n"
                                                                         "settings: {batch_size: 1}")
    path = write(tmp_path, spec, {"e.jsonl": EVENTS})
    assert flowc(tmp_path, "run", "--quiet", "--limit", "1", "p.flow.yaml").returncode == 0
    path.write_text(path.read_text().replace("v + 1", "upper(v)"))
    (tmp_path / "e.jsonl").write_text(EVENTS.replace('"v": 1', '"v": "a"').replace('"v": 2', '"v": "b"'))
    done = flowc(tmp_path, "run", "p.flow.yaml")
    assert done.returncode == 1, done.stderr
    assert_rendered(done.stderr, "p.flow.yaml:7:15: error[E222]: bad argument to 'upper': argument 1 ('v') must be "
                    "string, got int", ["7 |   - map: {t2: upper(v)}", "  |               ^^^^^^^^"])
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1  # the first run's record only


def test_an_enrich_table_read_by_the_run_is_checked_too(tmp_path: Path) -> None:
    write(tmp_path, """\
        version: 1
        pipeline: e
        sources:
          s: {type: file, path: d.csv}
        steps:
          - enrich: {table: {type: file, path: t.csv}, on: {left: k, right: code}, fields: [name]}
        sinks:
          out: {type: file, path: out.jsonl}
        """, {"d.csv": "k,v\na,1\n", "t.csv": "code,name\n1,x\n"})
    done = flowc(tmp_path, "run", "p.flow.yaml")
    assert done.returncode == 1, done.stderr
    assert "p.flow.yaml:6:59: error[E314]: enrich key 'k' is string but 'code' in table 't.csv' is int" in done.stderr
    assert "the table of 'enrich_1' {code: int, name: string}" in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_flowc_test_reads_the_event_time_as_the_run_does_and_reports_the_error(tmp_path: Path) -> None:
    write(tmp_path, PARSED_TWICE + textwrap.dedent("""\
        tests:
          - name: parsed
            inputs:
              s: [{ts: "2026-01-01T00:00:00Z", v: 1}]
            expect:
              out: [{ts: "2026-01-01T00:00:00Z", v: 1, t2: "2026-01-01T00:00:00Z"}]
        """), {"e.jsonl": EVENTS})
    done = flowc(tmp_path, "test", "p.flow.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL parsed" in done.stdout
    assert E222 in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_watched_folder_inferred_from_its_first_batch_fails_with_the_error(tmp_path: Path) -> None:
    write(tmp_path, """\
        version: 1
        pipeline: w
        settings: {batch_timeout: 100ms}
        sources:
          s: {type: file, path: in/*.jsonl, watch: true, event_time: {field: ts}}
        steps:
          - map: {t2: parse_timestamp(ts)}
        sinks:
          out: {type: file, path: out/o.jsonl}
        """, {"in/a.jsonl": EVENTS})
    done = flowc(tmp_path, "run", "p.flow.yaml")  # a watched folder never ends: only the error stops it
    assert done.returncode == 1, done.stderr
    assert_rendered(done.stderr, E222.replace(":6:", ":7:"), ["7 " + SNIPPET[0][2:], SNIPPET[1]])
    assert not (tmp_path / "out").exists()
    events = [json.loads(line)["type"] for line in (tmp_path / ".flow/w/events.log").read_text().splitlines()] \
        if (tmp_path / ".flow/w/events.log").exists() else []
    assert "batch_committed" not in events and "compiled" not in events


def test_flowc_test_passes_where_the_run_works_on_the_inferred_event_time(tmp_path: Path) -> None:
    write(tmp_path, PARSED_TWICE.replace("parse_timestamp(ts)", "ts + 1h") + textwrap.dedent("""\
        tests:
          - name: shifted
            inputs:
              s: [{ts: "2026-01-01T00:00:00Z", v: 1}]
            expect:
              out: [{ts: "2026-01-01T00:00:00Z", v: 1, t2: "2026-01-01T01:00:00Z"}]
        """), {"e.jsonl": EVENTS})
    done = flowc(tmp_path, "test", "p.flow.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS shifted" in done.stdout
