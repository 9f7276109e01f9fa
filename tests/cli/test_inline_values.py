"""Inline records (and `flowc test` inputs, which are read as inline records) hold YAML values: a
YAML 1.2 `.inf`/`.nan` is a float (audit 4 F7: a conversion error), and a nested datetime, date or
duration is read from its text as a top-level one is (audit 4 F13: a raw Polars ComputeError)."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result

from flowc.cli import cli


def _write(folder: Path, body: str) -> Path:
    spec = folder / "p.flow.yaml"
    spec.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return spec


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, [*args], catch_exceptions=False)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("schema", ["schema: {a: float}", ""])
def test_yaml_infinities_and_nan_are_floats(tmp_path, schema):
    spec = _write(tmp_path, f"""
        sources:
          s:
            type: inline
            {schema}
            records: [{{a: .inf}}, {{a: -.inf}}, {{a: .Inf}}, {{a: .nan}}, {{a: .NaN}}, {{a: 1}}, {{a: 2.5}}]
        steps:
          - map: {{positive: a > 0, text: to_string(a)}}
        sinks:
          o: {{type: file, path: o.jsonl}}
          p: {{type: file, path: o.parquet}}
        """)
    result = _invoke("run", str(spec), "--quiet")
    assert result.exit_code == 0, result.output
    read = pl.read_parquet(tmp_path / "o.parquet")
    values = read["a"].to_list()
    assert values[:3] == [math.inf, -math.inf, math.inf] and all(math.isnan(v) for v in values[3:5])
    assert values[5:] == [1.0, 2.5]
    assert read["text"].to_list()[:4] == ["inf", "-inf", "inf", "NaN"]
    assert [r["a"] for r in _records(tmp_path / "o.jsonl")][:5] == [None] * 5  # JSON has no inf/NaN (reference.md)


NESTED = """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s:
        type: inline
        schema: {u: {t: datetime, d: duration, dt: date}, l: "list<datetime>"}
        records:
          - {u: {t: "2026-01-01T00:00:00Z", d: "90s", dt: "2026-01-02"}, l: ["2026-01-01T10:00:00+02:00"]}
          - {u: {t: "2026-01-01T00:00:01.5Z", d: "PT1M30S", dt: "2026-01-02T23:00:00-02:00"}, l: []}
          - {u: {t: "bad", d: "1s", dt: "2026-01-02"}, l: []}
          - {u: {t: "2026-01-01T00:00:00Z", d: 90, dt: "2026-01-02"}, l: []}
          - {u: {t: "2026-01-01T00:00:00Z", d: "1s", dt: "2026-01-02"}, l: ["2026-01-01T00:00:00Z", "x"]}
          - {u: null, l: null}
    steps:
      - map: {later: u.t + u.d, day: u.dt, first: "l[0]"}
    sinks:
      o: {type: file, path: o.jsonl}
    """


def test_nested_datetimes_dates_and_durations_are_read_from_text(tmp_path):
    spec = _write(tmp_path, NESTED)
    result = _invoke("run", str(spec), "--quiet")
    assert result.exit_code == 0, result.output
    out = _records(tmp_path / "o.jsonl")
    assert [(r["u"], r["later"], r["day"], r["first"]) for r in out] == [
        ({"t": "2026-01-01T00:00:00.000000Z", "d": "PT1M30S", "dt": "2026-01-02"}, "2026-01-01T00:01:30.000000Z",
         "2026-01-02", "2026-01-01T08:00:00.000000Z"),
        ({"t": "2026-01-01T00:00:01.500000Z", "d": "PT1M30S", "dt": "2026-01-03"}, "2026-01-01T00:01:31.500000Z",
         "2026-01-03", None),
        (None, None, None, None)]
    dead = [(d["_source"]["position"], d["_error"]["code"], d["_error"]["message"])
            for d in _records(tmp_path / "dead.jsonl")]
    assert dead == [
        ("records[2]", "conversion", "field 'u.t': cannot convert 'bad' to datetime"),
        ("records[3]", "conversion",
         "field 'u.d': cannot convert '90' to duration (durations are read from text such as '90s' or 'PT1M30S')"),
        ("records[4]", "conversion", "field 'l[1]': cannot convert 'x' to datetime")]


def test_a_bad_nested_value_fails_the_run_under_fail_with_its_record(tmp_path):
    spec = _write(tmp_path, NESTED.replace("on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}",
                                           "on_error: fail"))
    result = _invoke("run", str(spec), "--quiet")
    assert result.exit_code == 1
    assert "records[2]: conversion: field 'u.t': cannot convert 'bad' to datetime" in result.output
    assert "ComputeError" not in result.output


def test_flowc_test_inputs_with_a_nested_datetime(tmp_path):
    spec = _write(tmp_path, """
        sources:
          s: {type: file, path: x.jsonl, schema: {u: {t: datetime, d: duration}}}
        sinks:
          o: {type: file, path: o.jsonl}
        tests:
          - name: nested
            inputs: {s: [{u: {t: "2026-01-01T01:00:00+01:00", d: "2m"}}]}
            expect: {o: [{u: {t: "2026-01-01T00:00:00Z", d: "PT2M"}}]}
        """)
    result = _invoke("test", str(spec))
    assert result.exit_code == 0, result.output
    assert "PASS nested" in result.output


def test_an_int_too_large_for_a_float_is_still_a_conversion_error(tmp_path):
    spec = _write(tmp_path, f"""
        settings: {{on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
        sources:
          s: {{type: inline, schema: {{a: float}}, records: [{{a: 1.5}}, {{a: {"9" * 400}}}]}}
        sinks:
          o: {{type: file, path: o.jsonl}}
        """)
    result = _invoke("run", str(spec), "--quiet")
    assert result.exit_code == 0, result.output
    assert len(_records(tmp_path / "o.jsonl")) == 1
    assert [d["_error"]["code"] for d in _records(tmp_path / "dead.jsonl")] == ["conversion"]


def test_a_watched_folders_json_lines_with_nested_datetimes(tmp_path):
    """Polled sources (a watched folder, http, kafka json) build their frame as inline records do."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"u": {"t": "2026-01-01T01:00:00+01:00", "d": "90s"}}\n'
                                              '{"u": {"t": "bad", "d": "1s"}}\n')
    spec = _write(tmp_path, """
        settings: {batch_timeout: 100ms, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: file, path: "in/*.jsonl", watch: true, schema: {u: {t: datetime, d: duration}}}
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    process = subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec), "--quiet"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (tmp_path / "dead.jsonl").exists() or not (tmp_path / "dead.jsonl").read_text():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert _records(tmp_path / "o.jsonl") == [{"u": {"t": "2026-01-01T00:00:00.000000Z", "d": "PT1M30S"}}]
    assert [(d["_source"]["position"], d["_error"]["message"]) for d in _records(tmp_path / "dead.jsonl")] == [
        ("in/a.jsonl:2", "field 'u.t': cannot convert 'bad' to datetime")]


def test_a_date_that_does_not_parse_says_date(tmp_path):
    """A `date` field is read as a timestamp cut to its day; its error names the declared type."""
    spec = _write(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s:
            type: inline
            schema: {d: date, u: {d: date}}
            records: [{d: "2026-02-28", u: {d: "2026-02-28"}}, {d: "2026-02-30", u: {d: "2026-02-28"}},
                      {d: "2026-02-28", u: {d: "x"}}]
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    result = _invoke("run", str(spec), "--quiet")
    assert result.exit_code == 0, result.output
    assert [d["_error"]["message"] for d in _records(tmp_path / "dead.jsonl")] == [
        "field 'd': cannot convert '2026-02-30' to date", "field 'u.d': cannot convert 'x' to date"]
