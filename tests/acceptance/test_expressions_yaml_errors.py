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
    schema: {web: string, i: int, NO: string, "on": int, "yes": int, "off": int}
    records:
      - {web: field-value, i: 4, NO: norway, "on": 1, "yes": 2, "off": 3}
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
  - map:
      y_on: on
      y_yes: yes
      y_off: off + 1
      y_octal: 0o17
      y_hex: 0x1F
      y_tilde: ~
      y_null: Null
      y_true: TRUE
      y_plus: +12
      y_half: -.5
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
    # YAML 1.2 core schema (SPEC §1): on/yes/off are strings, so they name fields; ~ and Null are null
    ("y_on", 1), ("y_yes", 2), ("y_off", 4), ("y_octal", 15), ("y_hex", 31), ("y_tilde", None),
    ("y_null", None), ("y_true", True), ("y_plus", 12), ("y_half", -0.5),
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


LAZY = """\
version: 1
pipeline: lazy
sources:
  o:
    type: inline
    schema: {id: int, ok: bool, s: string, d: int, big: int}
    records:
      - {id: 1, ok: true, s: "5", d: 2, big: 1}
      - {id: 2, ok: false, s: "abc", d: 0, big: 9223372036854775807}
      - {id: 3, ok: null, s: "x", d: 0, big: 9223372036854775807}
      - {id: 4, ok: true, s: "-7", d: -2, big: 3}
steps:
  - filter: id > 0
  - map:
      a: if(ok, to_int(s), 0)
      b: coalesce(ok, false) and to_int(s) > 0
      c: not coalesce(ok, false) or to_int(s) > 0
      d2: case when ok then to_int(s) * 2 when s == "abc" then 1 else -1 end
      e: coalesce(if(ok, null, 1), to_int(s))
      f: if(ok, big + 1, big)
      g: if(ok, to_float(s) // d, -1.0)
  - filter: ok
  - map: {v: to_int(s) + big}
sinks:
  out: {type: file, path: out.jsonl}
"""


@pytest.mark.parametrize("batch_size", [100, 1, 3])
def test_only_evaluated_branches_fail_per_record(tmp_path, batch_size):
    """SPEC §5: `if`, `case`, `and`, `or`, `coalesce` evaluate per record only the branch they need,
    so rows of one batch that take the other branch fail nothing (default policy `fail`)."""
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(LAZY)
    done = flowc("run", str(spec), "--quiet", "--set", f"settings.batch_size={batch_size}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = read_jsonl(tmp_path / "out.jsonl")
    picked = [{k: r[k] for k in ["id", "a", "b", "c", "d2", "e", "f", "g", "v"]} for r in out]
    assert picked == [
        {"id": 1, "a": 5, "b": True, "c": True, "d2": 10, "e": 5, "f": 2, "g": 2.0, "v": 6},
        {"id": 4, "a": -7, "b": False, "c": False, "d2": -14, "e": -7, "f": 4, "g": 3.0, "v": -4},
    ]


def test_failing_expression_is_not_moved_across_a_filter(tmp_path):
    """SPEC §5: rewrites never move an expression that can fail across a filter: a filter before a
    failing map protects it; a failing map before a filter still fails the records it would drop."""
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(textwrap.dedent("""\
        version: 1
        pipeline: moves
        sources:
          o:
            type: inline
            schema: {id: int, s: string}
            records: [{id: 1, s: "5"}, {id: 2, s: "abc"}]
        steps:
          - name: guard
            filter: s != "abc"
          - name: conv
            map: {v: to_int(s)}
          - name: conv2
            from: o
            map: {v: to_int(s)}
          - name: after
            filter: s != "abc"
        sinks:
          out: {type: file, path: out.jsonl, from: conv}
          out2: {type: file, path: out2.jsonl, from: after}
          errs: {type: file, path: errs.jsonl, from: conv2.errors}
        """))
    done = flowc("run", str(spec), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(r["id"], r["v"]) for r in read_jsonl(tmp_path / "out.jsonl")] == [(1, 5)]
    assert [(r["id"], r["v"]) for r in read_jsonl(tmp_path / "out2.jsonl")] == [(1, 5)]
    assert [(r["id"], r["_error"]["step"]) for r in read_jsonl(tmp_path / "errs.jsonl")] == [(2, "conv2")]


def test_failing_expression_is_not_moved_across_a_validate(tmp_path):
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(textwrap.dedent("""\
        version: 1
        pipeline: vm
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          o:
            type: inline
            schema: {id: int, s: string}
            records: [{id: 1, s: "5"}, {id: 2, s: "abc"}, {id: 3, s: "0"}]
        steps:
          - name: chk
            validate: {numeric: 'matches(s, "^[0-9]+$")', nonzero: s != "0"}
          - name: conv
            map: {v: 100 // to_int(s)}
        sinks:
          out: {type: file, path: out.jsonl}
        """))
    done = flowc("run", str(spec), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(r["id"], r["v"]) for r in read_jsonl(tmp_path / "out.jsonl")] == [(1, 20)]
    dead = read_jsonl(tmp_path / "dead.jsonl")
    assert [(r["id"], r["_error"]["step"]) for r in dead] == [(2, "chk"), (3, "chk")]
    assert "numeric" in dead[0]["_error"]["message"] and "nonzero" in dead[1]["_error"]["message"]
