"""Black-box acceptance tests of SPEC §5, written from SPEC.md alone: how YAML scalars become
expressions, and which expressions make record errors (conversions, integer overflow) rather than
nulls or a crashed batch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MAX = 9223372036854775807
MIN = -9223372036854775808


def flowc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_spec(folder: Path, body: str) -> subprocess.CompletedProcess:
    spec = folder / "p.flow.yaml"
    spec.write_text(textwrap.dedent(body), encoding="utf-8")
    return flowc("run", str(spec), "--quiet", cwd=folder)


YAML_FORMS = """\
version: 1
pipeline: forms
sources:
  data:
    type: inline
    schema: {web: string, i: int, NO: string}
    records:
      - {web: field-value, i: 4, NO: norway}
steps:
  - map: {channel: web, lit: '"web"'}
  - map:
      int_const: 5
      float_const: 2.5
      neg_const: -3
      true_const: true
      false_const: False
      null_const: null
      plain: i + 1
      single: 'i * 2'
      double: "i * 3"
      double_lit: "\\"quoted\\""
      backslash: '"a\\\\b"'
      block: |
        if(i > 3,
           "big",
           "small")
      folded: >-
        concat("x",
        "y")
      list_expr: "[1, 2]"
      country: NO
sinks:
  out: {type: file, path: out.jsonl}
"""


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("forms")
    done = run_spec(folder, YAML_FORMS)
    assert done.returncode == 0, done.stdout + done.stderr
    [record] = read_jsonl(folder / "out.jsonl")
    return record


@pytest.mark.parametrize(("field", "expected"), [
    ("channel", "field-value"),  # `map: {channel: web}` reads the field `web`
    ("lit", "web"),              # a string constant needs expression quotes
    ("int_const", 5), ("float_const", 2.5), ("neg_const", -3), ("true_const", True),
    ("false_const", False), ("null_const", None),
    ("plain", 5), ("single", 8), ("double", 12), ("double_lit", "quoted"), ("backslash", "a\\b"),
    ("block", "big"), ("folded", "xy"), ("list_expr", [1, 2]),
    ("country", "norway"),       # YAML 1.2: NO is a string, so the expression reads field `NO`
    ("web", "field-value"), ("i", 4),
])
def test_yaml_scalar_forms(forms, field, expected):
    assert field in forms, sorted(forms)
    assert forms[field] == expected and type(forms[field]) is type(expected), forms[field]


RECORD_ERRORS = f"""\
version: 1
pipeline: errs
sources:
  data:
    type: inline
    schema: {{id: int, s: string, fs: string, tss: string, bs: string, big: int}}
    records:
      - {{id: 1, s: "5", fs: "1.5", tss: "2026-01-01T00:00:00Z", bs: "true", big: 1}}
      - {{id: 2, s: "abc", fs: "1.5", tss: "2026-01-01T00:00:00Z", bs: "true", big: 1}}
      - {{id: 3, s: "5", fs: "x1", tss: "2026-01-01T00:00:00Z", bs: "true", big: 1}}
      - {{id: 4, s: "5", fs: "1.5", tss: "not a time", bs: "true", big: 1}}
      - {{id: 5, s: "5", fs: "1.5", tss: "2026-01-01T00:00:00Z", bs: "maybe", big: 1}}
      - {{id: 6, s: "5", fs: "1.5", tss: "2026-01-01T00:00:00Z", bs: "true", big: {MAX}}}
      - {{id: 7, s: "5", fs: "1.5", tss: "2026-01-01T00:00:00Z", bs: "true", big: 4611686018427387904}}
      - {{id: 8, s: "5", fs: "1.5", tss: "2026-01-01T00:00:00Z", bs: "true", big: {MIN}}}
      - {{id: 9, s: null, fs: null, tss: null, bs: null, big: null}}
steps:
  - name: c_int
    map: {{a: to_int(s)}}
  - name: c_float
    map: {{b: to_float(fs)}}
  - name: c_ts
    map: {{c: parse_timestamp(tss)}}
  - name: c_bool
    map: {{d: to_bool(bs)}}
  - name: o_add
    map: {{e: "if(big > 4611686018427387904, big + 1, big)"}}
  - name: o_mul
    map: {{g: "if(big == 4611686018427387904, big * 2, big)"}}
  - name: o_neg
    map: {{h: -big}}
sinks:
  out: {{type: file, path: out.jsonl, from: o_neg}}
  e_int: {{type: file, path: e_int.jsonl, from: c_int.errors}}
  e_float: {{type: file, path: e_float.jsonl, from: c_float.errors}}
  e_ts: {{type: file, path: e_ts.jsonl, from: c_ts.errors}}
  e_bool: {{type: file, path: e_bool.jsonl, from: c_bool.errors}}
  e_add: {{type: file, path: e_add.jsonl, from: o_add.errors}}
  e_mul: {{type: file, path: e_mul.jsonl, from: o_mul.errors}}
  e_neg: {{type: file, path: e_neg.jsonl, from: o_neg.errors}}
"""


@pytest.fixture(scope="module")
def record_errors(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("errs")
    done = run_spec(folder, RECORD_ERRORS)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_good_and_null_records_pass_every_step(record_errors):
    out = read_jsonl(record_errors / "out.jsonl")
    assert [r["id"] for r in out] == [1, 9]
    good, nulls = out
    assert (good["a"], good["b"], good["d"], good["e"], good["g"], good["h"]) == (5, 1.5, True, 1, 1, -1)
    # a conversion of null is null, not an error (SPEC: fails "on a non-null value")
    assert all(nulls[k] is None for k in "abcdegh")


@pytest.mark.parametrize(("sink", "step", "record_id"), [
    ("e_int", "c_int", 2), ("e_float", "c_float", 3), ("e_ts", "c_ts", 4), ("e_bool", "c_bool", 5),
    ("e_add", "o_add", 6), ("e_mul", "o_mul", 7), ("e_neg", "o_neg", 8),
])
def test_failed_conversion_or_overflow_is_a_record_error(record_errors, sink, step, record_id):
    [error] = read_jsonl(record_errors / f"{sink}.jsonl")
    assert error["id"] == record_id
    assert error["_error"]["step"] == step
    assert error["_error"]["code"] and error["_error"]["message"]


def test_sum_overflow_fails_the_run(tmp_path):
    done = run_spec(tmp_path, f"""\
        version: 1
        pipeline: sums
        sources:
          data:
            type: inline
            schema: {{x: int}}
            records: [{{x: {MAX}}}, {{x: 1}}]
        steps:
          - aggregate: {{compute: {{total: sum(x)}}}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "overflow" in (done.stdout + done.stderr).lower()
