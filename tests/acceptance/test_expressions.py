"""Black-box acceptance tests of SPEC §5 (expressions), written from SPEC.md alone.

Every expression below is one field of one `map` over one inline record; the pipeline runs once
through the real `flowc run` command (a subprocess) and each case checks its own output field.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

RECORD = {
    "i": 7, "j": 2, "neg": -7, "z": 0, "f": 2.5, "s": "héllo wörld", "web": "from-field",
    "n": None, "ns": None, "nb": None, "b": False, "t": True, "word": "abc",
    "ts": "2026-01-01T10:37:05Z", "ts2": "2026-01-01T10:42:05Z",
    "items": [10, 20, 30], "user": {"tier": "gold", "age": 30},
    "odd key": "odd", "field with spaces": 3, "big": 9223372036854775807,
}
SCHEMA = (
    "{i: int, j: int, neg: int, z: int, f: float, s: string, web: string, n: int, ns: string,"
    " nb: bool, b: bool, t: bool, word: string, ts: datetime, ts2: datetime, items: list<int>,"
    " user: {tier: string, age: int}, odd key: string, field with spaces: int, big: int}"
)

class Number:
    """Either an int or a float with this value: SPEC §5 does not say which (`floor`, `ceil`)."""

    def __init__(self, value: float):
        self.value = value

    def __repr__(self) -> str:
        return f"Number({self.value})"


SHA_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# (expression text, expected JSON value of the output field)
CASES: list[tuple[str, object]] = [
    # literals and escapes
    ("42", 42), ("-3.5", -3.5), ("1e6", 1e6), ('"text"', "text"), ("'text'", "text"),
    (r'"a\nb"', "a\nb"), (r'"a\tb"', "a\tb"), (r'"a\\b"', "a\\b"), (r'"say \"hi\""', 'say "hi"'),
    (r"'it\'s'", "it's"), (r"'q\"'", 'q"'), ("true", True), ("false", False), ("null", None),
    ("[1, 2]", [1, 2]),
    ("5m == 300s", True), ("1h > 59m", True), ("250ms < 1s", True), ("1d == 24h", True),
    # fields
    ("web", "from-field"), ("user.tier", "gold"), ("items[0]", 10), ("items[-1]", 30), ("items[1]", 20),
    ("`field with spaces`", 3), ("$.user.tier", "gold"), ('$["odd key"]', "odd"), ("$.i", 7),
    ("`odd key`", "odd"),
    # arithmetic and precedence
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("2 * 3 % 4", 2), ("-i * 2", -14),
    ("-i + 1", -6), ("-user.age", -30), ("i + f", 9.5), ("i * 1.0", 7.0), ("2 - -3", 5),
    ("7 / 2", 3.5), ("4 / 2", 2.0), ("i / j", 3.5), ("7 // 2", 3), ("-7 // 2", -4), ("neg // j", -4),
    ("7 // -2", -4), ("-7 % 3", 2), ("7 % -3", -2), ("neg % 3", 2), ("7.5 // 2", 3.0), ("7.5 % 2", 1.5), ("-7.5 // 2", -4.0), ("-7.5 % 2", 0.5),
    ("7.5 % -2", -0.5), ("i // 0.0", None), ("i % 0.0", None), ("7 % 7", 0), ("not not true", True),
    ("neg == (neg // 3) * 3 + neg % 3", True), ("i / z", None), ("i // z", None), ("i % z", None),
    ("1 / 0", None), ("f / 0.0", None), ("f % 0", None), ("i / 0.0", None),
    ('"ab" + "cd"', "abcd"), ('word + "!"', "abc!"),
    # boolean precedence
    ("not true or true", True), ("true or false and false", True), ("false and true or true", True),
    ("not i == 7", False), ("1 + 1 == 2", True), ("not false and false", False),
    ("i > 5 and i < 10", True), ("i == 7 or n > 1", True),
    # comparisons, between, in
    ('"a" < "b"', True), ('"Z" < "a"', True), ('"é" > "z"', True), ('"ab" < "abc"', True),
    ("1 < 2.5", True), ("i == 7.0", True), ("i != 7", False), ("i >= 7", True), ("i <= 6", False),
    ("i between 1 and 10", True), ("i between 8 and 10", False), ("i between 7 and 7", True),
    ("n between 1 and 10", None), ("i between 1 and 10 and false", False),
    ("i between n and 10", None), ("i between n and 5", False),
    ("i in (1, 7)", True), ("i in [1, 2]", False), ("n in (1, 2)", None), ("i in (1, null)", False),
    ("i not in (1, 2)", True), ("n not in (1, 2)", None), ("i not in (1, null)", True),
    ("i not in (7, 8)", False), ('word in ("abc", "x")', True), ("n in (null)", None),
    # null semantics
    ("null + 1", None), ("n + 1", None), ("n * 2", None), ("-n", None), ("null == null", None),
    ("n == n", None), ("n != 1", None), ("n < 1", None), ("null and false", False),
    ("null and true", None), ("null or true", True), ("null or false", None), ("not null", None),
    ("nb and false", False), ("nb or true", True), ("false and nb", False), ("true or nb", True),
    ("n is null", True), ("i is null", False), ("n is not null", False), ("null is null", True),
    ("ns is null", True), ('ns + "x"', None),
    ("upper(ns)", None), ("len(ns)", None), ("abs(n)", None), ("substr(ns, 0, 1)", None),
    ("coalesce(n, 5)", 5), ("coalesce(n, null)", None), ("coalesce(null, i, 3)", 7),
    ('concat("a", ns, "b")', "ab"), ("concat(ns, null)", None), ('concat("a", "b", "c")', "abc"),
    ("least(3, n, 1)", 1), ("greatest(3, n, 1)", 3), ("least(n, null)", None), ("greatest(n, null)", None),
    ("greatest(1, 2.5)", 2.5), ("least(3, 1, 2)", 1), ("greatest(3, 1, 2)", 3),
    ('greatest("a", "b")', "b"),
    # conditionals
    ("if(nb, 1, 2)", 2), ("if(true, 1, 2)", 1), ('if(i > 5, "big", "small")', "big"),
    ("if(n > 1, 1, 2)", 2),
    ('case when i > 10 then "a" when i > 5 then "b" else "c" end', "b"),
    ("case when nb then 1 else 2 end", 2), ('case when i > 100 then "a" else "z" end', "z"),
    # errors only from what is evaluated
    ("if(b, to_int(s), 0)", 0), ("if(t, 0, to_int(s))", 0), ("b and to_int(s) > 0", False),
    ("t or to_int(s) > 0", True), ("coalesce(i, to_int(s))", 7),
    ("case when b then to_int(s) else 1 end", 1),
    # strings
    ('lower("ÀB")', "àb"), ("upper(s)", "HÉLLO WÖRLD"), ('trim("  x  ")', "x"), ("len(s)", 11),
    ('len("日本語")', 3), ('len("")', 0),
    ('substr("hello", 1, 3)', "ell"), ('substr("hello", -3, 2)', "ll"), ('substr("hello", -10, 2)', "he"),
    ('substr("hello", 2)', "llo"), ('substr("hello", 1, 0)', ""), ('substr("hello", 1, -1)', ""),
    ('substr("hello", 10, 2)', ""), ('substr("héllo", 1, 2)', "él"), ('substr("日本語", 1)', "本語"),
    ('substr("hello", 0, 100)', "hello"), ('substr("hello", -2)', "lo"),
    ('replace("a.b.c", ".", "-")', "a-b-c"), ('replace("abc", "", "x")', "abc"),
    ('replace("aaa", "a", "bb")', "bbbbbb"), ('replace("a*b", "*", "+")', "a+b"),
    ('split("a,b,,c", ",")', ["a", "b", "", "c"]), ('split("a b", " ")', ["a", "b"]),
    ('contains("hello", "ell")', True), ("contains(items, 20)", True), ("contains(items, 99)", False),
    ('contains("a.c", ".")', True), ('contains("abc", ".")', False), ('contains(s, "wö")', True),
    ('starts_with("hello", "he")', True), ('ends_with("hello", "lo")', True),
    ('starts_with("hello", "lo")', False), ('starts_with("a.c", ".")', False),
    ('matches("hello", "ll")', True), ('matches("hello", "^ll$")', False),
    ('matches("hello", "^h.*o$")', True), (r'matches("a1", "\\d")', True), ('matches(s, "ö")', True),
    ('regex_extract("order-123-x", "([a-z]+)-([0-9]+)", 2)', "123"),
    ('regex_extract("order-123-x", "([a-z]+)-([0-9]+)", 1)', "order"),
    ('regex_extract("order-123-x", "([a-z]+)-([0-9]+)", 0)', "order-123"),
    ('regex_extract("nothing", "([0-9]+)", 1)', None),
    ('regex_replace("a1b22", "[0-9]+", "#")', "a#b#"),
    ('sha256("abc")', SHA_ABC), ('sha256("")', SHA_EMPTY),
    # numbers
    ("abs(-3)", 3), ("abs(-2.5)", 2.5), ("abs(neg)", 7), ("round(2.5)", 3.0), ("round(-2.5)", -3.0),
    ("round(2.675, 2)", 2.67), ("round(0.5)", 1.0), ("round(1.005, 2)", 1.0), ("round(1234.5678, -2)", 1200.0),
    ("round(15, -1)", 20), ("round(-15, -1)", -20), ("round(7, -1)", 10), ("round(7)", 7),
    ("round(2.4)", 2.0), ("round(f)", 3.0), ("round(-15.5, -1)", -20.0),
    ("floor(2.7)", Number(2)), ("floor(-2.5)", Number(-3)), ("ceil(2.1)", Number(3)),
    ("ceil(-2.1)", Number(-2)), ("floor(i)", 7),
    # conversions
    ('to_int("42")', 42), ('to_int("-5")', -5), ('to_float("2.5")', 2.5), ("to_float(2)", 2.0),
    ("to_string(42)", "42"), ("to_string(2.5)", "2.5"), ("to_string(true)", "true"),
    ('to_bool("true")', True), ('to_bool("false")', False), ("to_int(n)", None), ("to_string(ns)", None),
    ('year(parse_timestamp("2026-03-02T03:04:05Z"))', 2026),
    ('day(parse_timestamp("02/03/2026 10:00", "%d/%m/%Y %H:%M"))', 2),
    ('month(parse_timestamp("02/03/2026 10:00", "%d/%m/%Y %H:%M"))', 3),
    ('format_timestamp(ts, "%Y-%m-%d %H:%M:%S")', "2026-01-01 10:37:05"),
    ('format_timestamp(ts, "%Y/%m/%d")', "2026/01/01"),
    # time
    ("year(ts)", 2026), ("month(ts)", 1), ("day(ts)", 1), ("hour(ts)", 10), ("minute(ts)", 37),
    ('format_timestamp(date_trunc("hour", ts), "%H:%M:%S")', "10:00:00"),
    ('format_timestamp(date_trunc("day", ts), "%Y-%m-%d %H:%M")', "2026-01-01 00:00"),
    ('format_timestamp(ts + 5m, "%H:%M:%S")', "10:42:05"),
    ('format_timestamp(ts - 1h, "%H:%M:%S")', "09:37:05"),
    ('format_timestamp(ts + 1d, "%Y-%m-%d")', "2026-01-02"),
    ("ts2 - ts == 5m", True), ("ts - ts2 < 0s", True), ("ts2 > ts", True), ("ts + 5m == ts2", True),
    ("ts2 - ts > 4m", True), ("(ts2 - ts) + 1m == 6m", True),
    ("day_of_week(ts)", 4),  # 2026-01-01 is a Thursday; ISO numbering (Monday 1), as Polars and Flink
    ('format_timestamp(parse_timestamp("2026-01-02T03:04:05+02:00"), "%H:%M")', "01:04"),
    ("ts - 5m < ts", True), ("5m + 30s == 330s", True), ("ts + null", None),
    # more precedence
    ("-items[0]", -10), ("not i in (1, 2)", True), ("i + 1 is null", False), ("-i is not null", True),
    ("i + 1 between 2 and 3 * 3", True), ("not i between 1 and 3", True), ("i * 2 in (14, 15)", True),
    ("1 - 2 - 3", -4), ("2 * 3 // 4", 1), ("8 // 2 // 2", 2), ("-3 % 5", 2), ("- -3", 3),
    ("not not not true", False), ("true and not false", True), ("i == 7 and not n is not null", True),
    ('"a" + "b" == "ab"', True), ('len("a" + "bc")', 3),
    ("len(items)", 3), ("items[-3]", 10), ("user.age + 1", 31),
]


def case_id(index: int) -> str:
    return f"e{index:03d}"


def flowc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def yaml_record(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("expressions")
    fields = "\n".join(f"      {case_id(k)}: {json.dumps(expr, ensure_ascii=False)}"
                       for k, (expr, _) in enumerate(CASES))
    spec = folder / "expr.flow.yaml"
    spec.write_text(
        "version: 1\npipeline: expr\nsources:\n  data:\n    type: inline\n"
        f"    schema: {SCHEMA}\n    records:\n      - {yaml_record(RECORD)}\n"
        f"steps:\n  - map:\n{fields}\n"
        "sinks:\n  out: {type: file, path: out.jsonl, format: jsonl}\n",
        encoding="utf-8",
    )
    done = flowc("run", str(spec), "--quiet", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (folder / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def same(actual: object, expected: object) -> bool:
    """Equal, and of the same JSON kind: an int where SPEC promises an int, a float for a float."""
    if isinstance(expected, bool) or expected is None:
        return actual is expected
    if isinstance(expected, Number):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual == expected.value
    if isinstance(expected, float):
        return type(actual) is float and math.isclose(actual, expected, rel_tol=1e-12)
    if isinstance(expected, int):
        return type(actual) is int and actual == expected
    return actual == expected


@pytest.mark.parametrize(("index", "expr", "expected"), [(k, e, v) for k, (e, v) in enumerate(CASES)],
                         ids=[f"{k}:{e}" for k, (e, _) in enumerate(CASES)])
def test_expression_value(outputs, index, expr, expected):
    actual = outputs[case_id(index)]
    assert same(actual, expected), f"{expr!r} gave {actual!r}, expected {expected!r}"
