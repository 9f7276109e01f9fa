"""`flowc test` (SPEC §8): specs under tmp_path run through the real runner, in this process."""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from flowc.cli import cli
from flowc.compiler.normalize import normalize_spec
from flowc.dsl import types as t
from flowc.dsl.loader import load_text
from flowc.dsl.scalar_spans import FORBIDDEN
from flowc.dsl.types import ListOf, Struct
from flowc.test_compare import compare, convert_record, equal, maximum_matching, yaml_value

ORDERS = """
sources:
  orders:
    type: inline
    schema: {id: int, ts: datetime, status: string, amount: float, qty: int}
    # no event_time: inputs here leave ts out, and a null event time is a record error (SPEC §3)
    records: []
steps:
  - filter: status == "paid"
  - map:
      total: amount * qty
sinks:
  report: {type: file, path: out/report.jsonl}
"""


def write(folder: Path, body: str, tests: str = "", name: str = "p.flow.yaml") -> Path:
    path = folder / name
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body) + textwrap.dedent(tests))
    return path


def flowc(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


PASSING = """
tests:
  - name: keeps paid orders
    inputs:
      orders:
        - {id: 1, ts: "2026-01-01T00:00:05Z", status: paid, amount: 2.5, qty: 2}
        - {id: 2, ts: "2026-01-01T00:00:06Z", status: open, amount: 3, qty: 1}
        - {id: 3, ts: "2026-01-01T00:00:07Z", status: paid, amount: 0.1, qty: 3}
    expect:
      report:   # order-insensitive; a subset of the fields; values converted to the output's types
        - {id: 3, total: 0.30000000000000004, ts: "2026-01-01T00:00:07+00:00"}
        - {id: 1, total: 5, ts: "2026-01-01T00:00:05Z"}
  - name: nothing in, nothing out
    expect:
      report: []
"""


def test_passing_tests_print_pass_and_exit_0(tmp_path):
    path = write(tmp_path, ORDERS, PASSING)
    result = flowc("test", str(path))
    assert result.exit_code == 0, result.output
    assert result.output == (f"{path}: 2 tests\nPASS keeps paid orders\nPASS nothing in, nothing out\n"
                             "2 tests in 1 file: 2 passed\n")
    assert not (tmp_path / "out").exists() and not (tmp_path / ".flow").exists(), "tests write only temp files"


FAILING = """
tests:
  - name: wrong total
    inputs:
      orders:
        - {id: 1, ts: "2026-01-01T00:00:05Z", status: paid, amount: 2.5, qty: 2}
        - {id: 2, ts: "2026-01-01T00:00:06Z", status: paid, amount: 1, qty: 1}
        - {id: 4, ts: "2026-01-01T00:00:08Z", status: paid, amount: 1, qty: 4}
    expect:
      report:
        - {id: 1, total: 6.0}
        - {id: 2, total: 1.0}
        - {id: 3, total: 9.0}
"""


def test_a_failing_test_prints_a_diff_per_record_and_exits_1(tmp_path):
    path = write(tmp_path, ORDERS, FAILING)
    result = flowc("test", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}: 1 test",
        "FAIL wrong total",
        "  report: 3 expected, 3 written, 1 matched",
        "    record 1 (line 26) {id: 1, total: 6.0}",
        '      closest written: {id: 1, ts: "2026-01-01T00:00:05Z", status: paid, amount: 2.5, qty: 2, total: 5.0}',
        "      total: expected 6.0, got 5.0",
        "    missing: record 3 (line 28) {id: 3, total: 9.0}",
        '    unexpected: {id: 4, ts: "2026-01-01T00:00:08Z", status: paid, amount: 1.0, qty: 4, total: 4.0}',
        "1 test in 1 file: 0 passed, 1 failed",
    ]


def test_ordered_compares_record_by_record(tmp_path):
    tests = """
    tests:
      - name: in order
        ordered: true
        inputs: {orders: [{id: 1, status: paid, amount: 1, qty: 1}, {id: 2, status: paid, amount: 1, qty: 1}]}
        expect: {report: [{id: 2}, {id: 1}]}
      - name: any order
        inputs: {orders: [{id: 1, status: paid, amount: 1, qty: 1}, {id: 2, status: paid, amount: 1, qty: 1}]}
        expect: {report: [{id: 2}, {id: 1}]}
    """
    result = flowc("test", str(write(tmp_path, ORDERS, tests)))
    assert result.exit_code == 1
    assert ("FAIL in order\n  report: 2 expected, 2 written, 0 matched\n    record 1 (line 21) {id: 2}\n"
            "      written record 1: {id: 1, ts: null, status: paid, amount: 1.0, qty: 1, total: 1.0}\n"
            "      id: expected 2, got 1\n") in result.output
    assert "PASS any order" in result.output


def test_a_failing_pipeline_is_a_failed_test(tmp_path):
    tests = """
    tests:
      - name: bad amount
        inputs: {orders: [{id: 1, status: paid, amount: lots, qty: 1}]}
        expect: {report: []}
    """
    result = flowc("test", str(write(tmp_path, ORDERS, tests)))
    assert result.exit_code == 1
    assert "FAIL bad amount\n  the pipeline failed: " in result.output
    assert "cannot convert 'lots' to float" in result.output


ERRORS = """
sources:
  orders:
    type: inline
    schema: {id: int, amount: float}
    records: []
steps:
  - name: check
    validate: {positive: amount > 0}
sinks:
  good: {type: file, path: good.jsonl}
"""


def test_side_outputs_named_in_expect_are_compared(tmp_path):
    tests = """
    tests:
      - name: errors are caught
        inputs: {orders: [{id: 1, amount: 5}, {id: 2, amount: -1}, {id: 3, amount: x}]}
        expect:
          good: [{id: 1}]
          check.errors: [{id: 2, _error: {step: check, code: validate, message: "failed rules: positive"}}]
          orders.errors: [{id: 3, amount: null, _source: {name: orders, position: "records[2]"}}]
    """
    result = flowc("test", str(write(tmp_path, ERRORS, tests)))
    assert result.exit_code == 0, result.output
    assert "PASS errors are caught" in result.output


def test_now_pins_the_clock_and_unnamed_sources_are_empty(tmp_path):
    body = """
    sources:
      a: {type: inline, schema: {id: int, start: datetime}, records: [{id: 100}]}
      b: {type: inline, schema: {id: int, start: datetime}, records: [{id: 200}]}
    steps:
      - union: [a, b]
      - map: {at: now(), age: now() - start}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    tests = """
    tests:
      - name: pinned
        now: "2026-03-01T12:00:00Z"
        inputs: {b: [{id: 7, start: "2026-01-01T00:00:00Z"}]}
        expect: {out: [{id: 7, at: "2026-03-01T12:00:00Z", age: 1428h}]}
    """
    path = write(tmp_path, body, tests)
    result = flowc("test", str(path))
    assert result.exit_code == 0, result.output


def test_update_rewrites_only_the_failing_expectations(tmp_path):
    path = write(tmp_path, ORDERS, FAILING + PASSING.replace("tests:\n", ""))
    before = path.read_text()
    result = flowc("test", "--update", str(path))
    assert result.exit_code == 0, result.output
    assert "UPDATED wrong total\nPASS keeps paid orders\n" in result.output
    after = path.read_text()
    expected = before.replace(
        "        - {id: 1, total: 6.0}\n        - {id: 2, total: 1.0}\n        - {id: 3, total: 9.0}\n",
        "        - {id: 1, total: 5.0}\n        - {id: 2, total: 1.0}\n        - {id: 4, total: 4.0}\n")
    assert after == expected, "only the failing expectation changes; comments and the rest stay"
    again = flowc("test", str(path))
    assert again.exit_code == 0 and "3 tests in 1 file: 3 passed" in again.output


def test_update_of_an_empty_flow_expectation_writes_every_field(tmp_path):
    tests = """
    tests:
      - name: was empty
        inputs: {orders: [{id: 1, ts: "2026-01-01T00:00:05.5Z", status: paid, amount: 2.5, qty: 2}]}
        expect: {report: []}  # keep me
    """
    path = write(tmp_path, ORDERS, tests)
    assert flowc("test", "--update", str(path)).exit_code == 0
    # Too long for one line: one record per line, indented past the line's indentation.
    assert path.read_text().endswith(
        '    expect: {report: [\n'
        '        {id: 1, ts: "2026-01-01T00:00:05.500000Z", status: paid, amount: 2.5, qty: 2, total: 5.0}]}  # keep me\n')
    assert flowc("test", str(path)).exit_code == 0


def test_spec_without_tests_says_so(tmp_path):
    result = flowc("test", str(write(tmp_path, ORDERS)))
    assert result.exit_code == 0
    assert result.output == f"{tmp_path / 'p.flow.yaml'}: no tests\n0 tests in 1 file: 0 passed\n"


def test_select_by_name(tmp_path):
    result = flowc("test", "-k", "nothing", str(write(tmp_path, ORDERS, PASSING)))
    assert result.exit_code == 0
    assert "PASS nothing in, nothing out" in result.output and "keeps paid" not in result.output


def test_spec_errors_exit_1_and_other_specs_still_run(tmp_path):
    bad = write(tmp_path, ORDERS, """
    tests:
      - name: typo
        inputs: {ordrs: [{id: 1}]}
        expect: {report: []}
    """, name="bad.flow.yaml")
    good = write(tmp_path, ORDERS, PASSING, name="good.flow.yaml")
    result = CliRunner().invoke(cli, ["test", str(bad), str(good)])
    assert result.exit_code == 1
    assert "error[E101]: unknown source 'ordrs'; did you mean 'orders'?" in result.output
    assert f"{bad}: not run: the spec has errors" in result.output
    assert "2 tests in 2 files: 2 passed, 1 spec with errors" in result.output


def test_folders_and_usage_errors(tmp_path):
    (tmp_path / "nested").mkdir()
    write(tmp_path / "nested", ORDERS, PASSING)
    result = flowc("test", str(tmp_path))
    assert result.exit_code == 0 and "2 tests in 1 file: 2 passed" in result.output
    assert CliRunner().invoke(cli, ["test"]).exit_code == 2
    assert CliRunner().invoke(cli, ["test", str(tmp_path / "missing.flow.yaml")]).exit_code == 2


def test_a_bad_now_is_a_spec_error_at_its_position(tmp_path):
    """`now:` must be an ISO-8601 time: validate reports it (E404 at the value) and no test runs."""
    tests = """
    tests:
      - name: bad now
        now: yesterday
        expect: {report: []}
    """
    path = write(tmp_path, ORDERS, tests)
    result = flowc("test", str(path))
    assert result.exit_code == 1
    assert "not run: the spec has errors" in result.output
    validated = flowc("validate", str(path))
    assert validated.exit_code == 1
    line, column = next((i, text.index("yesterday") + 1) for i, text in enumerate(path.read_text().splitlines(), 1)
                        if "now: yesterday" in text)
    assert f"{path}:{line}:{column}: error[E404]: invalid value 'yesterday' for 'now' in test 'bad now'" in validated.output


def test_two_tests_of_one_name_are_a_spec_error_at_the_second(tmp_path):
    """`flowc test` reports and `-k` selects tests by name: a second test of a name is E102 at its name,
    as a second source, step or sink of a name is. Tests have their own namespace: a test may share a
    name with a sink."""
    tests = """
    tests:
      - name: report
        expect: {report: []}
      - name: twice
        expect: {report: []}
      - name: twice
        expect: {report: []}
    """
    path = write(tmp_path, ORDERS, tests)
    lines = path.read_text().splitlines()
    first, second = (i for i, text in enumerate(lines, 1) if text.endswith("- name: twice"))
    validated = flowc("validate", str(path))
    assert validated.exit_code == 1
    assert validated.output.splitlines()[0] == (
        f"{path}:{second}:11: error[E102]: duplicate name 'twice' (also used on line {first})")
    assert validated.output.splitlines()[-1] == "1 file checked: 1 error"
    result = flowc("test", str(path))
    assert result.exit_code == 1 and "not run: the spec has errors" in result.output


def test_bad_expectations_are_failures(tmp_path):
    tests = """
    tests:
      - name: bad values
        inputs: {orders: [{id: 1, status: paid, amount: 1, qty: 1}]}
        expect: {report: [{id: one}, {idd: 1}]}
    """
    result = flowc("test", str(write(tmp_path, ORDERS, tests)))
    assert result.exit_code == 1
    assert "    record 1 (line 20): field 'id': cannot read 'one' as int\n" in result.output
    assert "    record 2 (line 20): field 'idd' is not in the output; did you mean 'id'?" in result.output


# --- the comparison itself ---


def test_matching_is_maximal_not_greedy():
    expected = [{"a": 1}, {"a": 1, "b": 2}]
    actual = [{"a": 1, "b": 2}, {"a": 1, "b": 3}]
    assert maximum_matching(expected, actual) == [1, 0]
    assert compare("out", expected, actual, ordered=False).ok


def test_numbers_compare_within_a_relative_1e9():
    assert equal(0.3, 0.1 + 0.2) and equal(1e20, 1e20 * (1 + 5e-10)) and not equal(1.0, 1.000001)
    assert equal(10**12, 10**12 + 1) and not equal(2, 3) and not equal(10**9, 10**9 + 2)  # ints: relative 1e-9
    assert equal(math.nan, math.nan) and not equal(1, True) and equal(None, None) and not equal(0, None)
    assert equal({"a": [1.0, None]}, {"a": [1.0, None], "b": 2}) and not equal([1], [1, 2])


def test_expected_values_convert_to_the_output_types():
    schema = Struct((("i", t.INT), ("f", t.FLOAT), ("s", t.STRING), ("ts", t.DATETIME), ("d", t.DURATION),
                     ("l", ListOf(t.DATE)), ("b", t.BOOL)))
    converted, problems = convert_record(
        {"i": 5.0, "f": 2, "s": 12, "ts": "2026-01-01T01:00:00+01:00", "d": "90s", "l": ["2026-01-02"], "b": "true"},
        schema)
    assert problems == []
    assert converted == {"i": 5, "f": 2.0, "s": "12", "ts": datetime(2026, 1, 1, tzinfo=UTC),
                         "d": timedelta(seconds=90), "l": [datetime(2026, 1, 2).date()], "b": True}
    iso, problems = convert_record({"d": "PT1M30S"}, schema)  # as flowc's sinks write durations
    assert problems == [] and iso == {"d": timedelta(seconds=90)}
    _, problems = convert_record({"i": True, "d": 5, "ts": "soon"}, schema)
    assert problems == ["field 'i': cannot read true as int",
                        "field 'd': cannot read 5 as duration (write it like 90s, 250ms or PT1M30S)",
                        "field 'ts': cannot read 'soon' as datetime"]


values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True),
    # the loader refuses some characters in a spec, even escaped (E004, E017): values cannot hold them
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).filter(lambda s: not FORBIDDEN.search(s)),
    st.datetimes(timezones=st.just(UTC)), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=999)),
)


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b c", "true", "x:y"]), values, min_size=1), max_size=4))
def test_written_expectations_read_back_equal(records):
    """What --update writes is YAML that the loader reads back, and converts back, to the same values."""
    text = "version: 1\npipeline: p\ntests:\n  - expect:\n      out: [" + ", ".join(map(yaml_value, records)) + "]\n"
    document, found = load_text(text, "t.flow.yaml")
    assert document is not None and not found, found
    spec, _ = normalize_spec(document)
    for record, written in zip(records, spec.tests[0].expect[0].records, strict=True):
        schema = Struct(tuple((k, _type_of(v)) for k, v in record.items()))
        converted, problems = convert_record(dict(written), schema)
        assert problems == [] and equal(record, converted) and equal(converted, record)


def _type_of(value: object) -> t.Type:
    for python, type_ in ((bool, t.BOOL), (int, t.INT), (float, t.FLOAT), (str, t.STRING), (datetime, t.DATETIME),
                          (timedelta, t.DURATION)):
        if isinstance(value, python):
            return type_
    return t.NULL


WINDOWED = """
settings:
  dead_letter: {type: file, path: dead.jsonl}
sources:
  clicks:
    type: inline
    schema: {id: int, ts: datetime, user: string}
    event_time: {field: ts}
    records: []
steps:
  - name: per_minute
    aggregate:
      by: [user]
      window: {type: tumbling, size: 1m}
      compute: {clicks: count()}
sinks:
  counts: {type: file, path: counts.jsonl}
"""


def test_windows_follow_the_data_and_late_records_are_compared(tmp_path):
    tests = """
    tests:
      - name: a late click
        inputs:
          clicks:
            - {id: 1, ts: "2026-01-01T00:00:05Z", user: a}
            - {id: 2, ts: "2026-01-01T09:01:10Z", user: a}
            - {id: 3, ts: "2026-01-01T00:00:30Z", user: a}
        expect:
          counts:
            - {user: a, window_start: "2026-01-01T09:01:00Z", window_end: "2026-01-01T09:02:00Z", clicks: 1}
            - {user: a, window_start: "2026-01-01T00:00:00Z", clicks: 1}
          per_minute.late: [{id: 3, _error: {step: per_minute, code: late}}]
    """
    path = write(tmp_path, WINDOWED, tests)
    result = flowc("test", str(path))
    assert result.exit_code == 0, result.output
    wrong = path.read_text().replace("per_minute.late: [{id: 3,", "per_minute.late: [{id: 2,")
    path.write_text(wrong)
    failed = flowc("test", str(path))
    assert failed.exit_code == 1
    assert "  per_minute.late: 1 expected, 1 written, 0 matched\n" in failed.output
    assert "      id: expected 2, got 3\n" in failed.output


def test_a_source_without_schema_that_no_test_feeds_keeps_the_real_sources_schema(tmp_path):
    body = """
    sources:
      g: {type: generate, count: 3, fields: {n: _n}}
    steps:
      - map: {m: n * 2}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    tests = """
    tests:
      - name: nothing in
        expect: {out: []}
    """
    result = flowc("test", str(write(tmp_path, body, tests)))
    assert result.exit_code == 0, result.output  # without the generator's schema, 'n' would be unknown


DEAD_LETTER = "\nsettings: {on_error: dead_letter, dead_letter: {type: file, path: out/dead.jsonl}}" + ERRORS


def test_an_expectation_can_name_the_dead_letter_sink(tmp_path):
    tests = """
    tests:
      - name: a bad order goes to the dead letters
        inputs:
          orders: [{id: 1, amount: 2}, {id: 2, amount: -1}]
        expect:
          good: [{id: 1}]
          dead_letter: [{id: 2, _error: {code: validate, step: check}}]
      - name: a wrong expectation of them fails
        inputs:
          orders: [{id: 2, amount: -1}]
        expect:
          dead_letter: [{id: 3}]
    """
    result = flowc("test", str(write(tmp_path, DEAD_LETTER, tests)))
    assert result.exit_code == 1, result.output
    assert "PASS a bad order goes to the dead letters" in result.output
    assert "FAIL a wrong expectation of them fails" in result.output and "dead_letter:" in result.output


def test_dead_letter_is_no_expectation_without_a_dead_letter_sink(tmp_path):
    body = "\nsettings: {on_error: skip}" + ERRORS
    tests = "tests:\n  - name: t\n    expect:\n      dead_letter: []\n"
    result = flowc("test", str(write(tmp_path, body, tests)))
    assert result.exit_code == 1 and "error[E101]" in result.output and "'dead_letter'" in result.output


def test_an_int_output_matches_an_expected_int_within_a_relative_1e_9(tmp_path):
    """SPEC §8: numbers within a relative 1e-9, ints too (an audit found ints compared exactly)."""
    tests = """
    tests:
      - name: close enough
        inputs:
          orders: [{id: 1000000000000, status: paid, amount: 1.0, qty: 1}]
        expect:
          report: [{id: 1000000000001}]
      - name: too far
        inputs:
          orders: [{id: 2, status: paid, amount: 1.0, qty: 1}]
        expect:
          report: [{id: 3}]
    """
    result = flowc("test", str(write(tmp_path, ORDERS, tests)))
    assert result.exit_code == 1, result.output
    assert "PASS close enough\n" in result.output and "FAIL too far\n" in result.output, result.output
