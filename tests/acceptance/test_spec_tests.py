"""Black-box acceptance tests of SPEC §8 (`tests:` in a spec, `flowc test`), written from SPEC.md
alone: named sources replaced by the inputs (others empty), expected values converted to the output
type, numbers within a relative 1e-9, records matched one to one as a multiset, subsets of fields,
`ordered: true`, `.errors`/`.late`, `now:`, a readable diff, `--update`, exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def flowc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


PIPELINE = """\
version: 1
pipeline: orders
sources:
  orders:
    type: inline
    schema: {order_id: int, ts: datetime, status: string, amount: float, qty: int, country: string, code: string}
    records: []
  refunds:
    type: inline
    schema: {order_id: int, ts: datetime, status: string, amount: float, qty: int, country: string, code: string}
    records: [{order_id: 99, status: paid, amount: 1.0, qty: 1, country: xx, code: "1",
               ts: "2026-01-01T00:00:00Z"}]
steps:
  - from: orders
    filter: status in ("paid", "shipped") and amount > 10
  - name: conv
    map:
      total: amount * qty
      country: upper(coalesce(country, "zz"))
      n: to_int(code)
      third: amount / 3
      year_now: year(now())
      hour_now: hour(now())
  - name: per_minute
    from: conv
    aggregate:
      by: [country]
      window: {type: tumbling, size: 1m, time: ts}
      compute:
        orders: count()
        revenue: sum(total)
  - name: both
    union: [orders, refunds]
sinks:
  all: {type: file, path: out/all.jsonl, from: both}
  lines: {type: file, path: out/lines.jsonl, from: conv}
  report: {type: file, path: out/report.jsonl, from: per_minute}
"""

ORDER = '{order_id: %d, status: %s, amount: %s, qty: %d, country: %s, code: "%s", ts: "%s"}'


def order(order_id: int, status: str = "paid", amount: str = "20", qty: int = 2, country: str = "de",
          code: str = "1", ts: str = "2026-01-01T00:00:05Z") -> str:
    return ORDER % (order_id, status, amount, qty, country, code, ts)


# name -> (test body, passes?)
CASES = {
    "example from the spec": (f"""\
    inputs:
      orders: [{order(1)}, {order(2, status="cancelled")}]
    expect:
      report: [{{country: DE, orders: 1, revenue: 40.0}}]
""", True),
    "unnamed sources are empty": (f"""\
    inputs:
      orders: [{order(1)}]
    expect:
      all: [{{order_id: 1}}]
""", True),
    "int expectation converted to float field": (f"""\
    inputs:
      orders: [{order(1)}]
    expect:
      report: [{{country: DE, revenue: 40}}]
""", True),
    "datetime expectation converted from text": (f"""\
    inputs:
      orders: [{order(1)}]
    expect:
      report: [{{country: DE, window_start: "2026-01-01T00:00:00Z", window_end: "2026-01-01T00:01:00Z"}}]
""", True),
    "numbers within relative 1e-9": (f"""\
    inputs:
      orders: [{order(1, amount="20")}]
    expect:
      lines: [{{order_id: 1, third: 6.66666666667}}]
""", True),
    "numbers outside relative 1e-9 fail": (f"""\
    inputs:
      orders: [{order(1, amount="20")}]
    expect:
      lines: [{{order_id: 1, third: 6.6667}}]
""", False),
    "order insensitive by default": (f"""\
    inputs:
      orders: [{order(1)}, {order(2)}, {order(3)}]
    expect:
      lines: [{{order_id: 3}}, {{order_id: 1}}, {{order_id: 2}}]
""", True),
    "ordered true checks order": (f"""\
    inputs:
      orders: [{order(1)}, {order(2)}, {order(3)}]
    ordered: true
    expect:
      lines: [{{order_id: 3}}, {{order_id: 1}}, {{order_id: 2}}]
""", False),
    "ordered true in order passes": (f"""\
    inputs:
      orders: [{order(1)}, {order(2)}, {order(3)}]
    ordered: true
    expect:
      lines: [{{order_id: 1}}, {{order_id: 2}}, {{order_id: 3}}]
""", True),
    "multiset - missing duplicate fails": (f"""\
    inputs:
      orders: [{order(1)}, {order(1)}]
    expect:
      lines: [{{order_id: 1}}]
""", False),
    "multiset - extra expected fails": (f"""\
    inputs:
      orders: [{order(1)}]
    expect:
      lines: [{{order_id: 1}}, {{order_id: 1}}]
""", False),
    "multiset - duplicates match": (f"""\
    inputs:
      orders: [{order(1)}, {order(1, country="fr")}]
    expect:
      lines: [{{order_id: 1, country: FR}}, {{order_id: 1}}]
""", True),
    "wrong value fails": (f"""\
    inputs:
      orders: [{order(1)}]
    expect:
      report: [{{country: DE, orders: 1, revenue: 41.0}}]
""", False),
    "absent field fails": (f"""\
    inputs:
      orders: [{order(1)}]
    expect:
      lines: [{{order_id: 1, no_such_field: 1}}]
""", False),
    "empty expectation": (f"""\
    inputs:
      orders: [{order(1, status="cancelled")}]
    expect:
      lines: []
      report: []
""", True),
    "errors output": (f"""\
    inputs:
      orders: [{order(1)}, {order(2, code="abc")}]
    expect:
      lines: [{{order_id: 1, n: 1}}]
      conv.errors: [{{order_id: 2}}]
""", True),
    "late output": (f"""\
    inputs:
      orders: [{order(1, ts="2026-01-01T00:05:00Z")}, {order(2, ts="2026-01-01T00:00:05Z")}]
    expect:
      report: [{{country: DE, orders: 1, window_start: "2026-01-01T00:05:00Z"}}]
      per_minute.late: [{{order_id: 2}}]
""", True),
    "windows far apart in time": (f"""\
    inputs:
      orders: [{order(1, ts="2020-01-01T00:00:05Z")}, {order(2, ts="2030-06-01T10:00:59Z")}]
    expect:
      report: [{{country: DE, orders: 1, window_start: "2020-01-01T00:00:00Z"}},
               {{country: DE, orders: 1, window_start: "2030-06-01T10:00:00Z"}}]
""", True),
    "now pinned": (f"""\
    now: "2031-05-01T12:34:56Z"
    inputs:
      orders: [{order(1)}]
    expect:
      lines: [{{order_id: 1, year_now: 2031, hour_now: 12}}]
""", True),
}


def spec_text(cases: dict) -> str:
    tests = "".join(f"  - name: {name}\n{body}" for name, (body, _) in cases.items())
    return PIPELINE + "tests:\n" + tests


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> subprocess.CompletedProcess:
    folder = tmp_path_factory.mktemp("spec_tests")
    (folder / "p.flow.yaml").write_text(spec_text(CASES), encoding="utf-8")
    return flowc("test", "p.flow.yaml", cwd=folder)


def test_any_failure_exits_1(result):
    assert result.returncode == 1, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "passes"), [(n, p) for n, (_, p) in CASES.items()], ids=list(CASES))
def test_each_test_reported(result, name, passes):
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if name in line and re.search(r"\b(PASS|FAIL)", line.upper())]
    assert lines, output
    verdict = "PASS" if passes else "FAIL"
    assert verdict in lines[0].upper() and ("FAIL" if passes else "PASS") not in lines[0].upper(), output


def test_all_passing_exits_0(tmp_path):
    passing = {n: c for n, c in CASES.items() if c[1]}
    (tmp_path / "p.flow.yaml").write_text(spec_text(passing), encoding="utf-8")
    done = flowc("test", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_failure_prints_a_readable_diff(tmp_path):
    (tmp_path / "p.flow.yaml").write_text(spec_text({"wrong value fails": CASES["wrong value fails"]}))
    done = flowc("test", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "report" in output and "revenue" in output
    assert "41" in output and "40" in output  # expected and actual values both shown


def test_several_specs_and_folders(tmp_path):
    passing = spec_text({"example from the spec": CASES["example from the spec"]})
    failing = spec_text({"wrong value fails": CASES["wrong value fails"]})
    (tmp_path / "a.flow.yaml").write_text(passing)
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "deep" / "b.flow.yaml").write_text(failing)
    both = flowc("test", "a.flow.yaml", "sub", cwd=tmp_path)
    assert both.returncode == 1
    assert "example from the spec" in both.stdout + both.stderr
    assert "wrong value fails" in both.stdout + both.stderr
    assert flowc("test", "a.flow.yaml", cwd=tmp_path).returncode == 0


def test_usage_error_exits_2(tmp_path):
    (tmp_path / "a.flow.yaml").write_text(spec_text({"example from the spec": CASES["example from the spec"]}))
    assert flowc("test", "--bogus", "a.flow.yaml", cwd=tmp_path).returncode == 2


def test_invalid_spec_exits_1_with_diagnostic(tmp_path):
    text = spec_text({"example from the spec": CASES["example from the spec"]}).replace(
        "total: amount * qty", "total: amount * qtty")
    (tmp_path / "a.flow.yaml").write_text(text)
    done = flowc("test", "a.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert re.search(r"a\.flow\.yaml:\d+:\d+: error\[E\d+\]: .*qtty", done.stdout + done.stderr)


def test_update_writes_actual_outputs(tmp_path):
    stale = {
        "wrong value fails": CASES["wrong value fails"],
        "errors output": (CASES["errors output"][0].replace("n: 1}", "n: 5}"), False),
    }
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(spec_text(stale), encoding="utf-8")
    assert flowc("test", "p.flow.yaml", cwd=tmp_path).returncode == 1
    updated = flowc("test", "--update", "p.flow.yaml", cwd=tmp_path)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    tests = yaml.safe_load(spec.read_text(encoding="utf-8"))["tests"]
    report = tests[0]["expect"]["report"]
    assert len(report) == 1 and report[0]["revenue"] == 40.0 and report[0]["orders"] == 1
    assert tests[1]["expect"]["lines"][0]["n"] == 1
    assert len(tests[1]["expect"]["conv.errors"]) == 1
    again = flowc("test", "p.flow.yaml", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
