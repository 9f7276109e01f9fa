"""The function registry and the reference implementations, on their own (Polars: tests/compiler)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowc.dsl import codes
from flowc.dsl import types as t
from flowc.dsl.aggregates import AGGREGATES
from flowc.dsl.function_def import NOT_CONSTANT, constant_value
from flowc.dsl.functions import EXAMPLE_NOW, EXAMPLE_RECORD, FUNCTIONS, Fails
from flowc.dsl.interpret import evaluate
from flowc.dsl.lib_convert import format_float
from flowc.dsl.parser import parse_expression
from flowc.dsl.record_errors import RecordError
from flowc.dsl.regex import regex_problem, to_rust


def run(name: str, *args: object) -> object:
    try:
        return FUNCTIONS[name].evaluate(*args)
    except RecordError as error:
        return Fails(str(error))


@pytest.mark.parametrize("fn", FUNCTIONS.values(), ids=list(FUNCTIONS))
def test_entry_is_complete(fn) -> None:
    assert fn.signature.startswith(f"{fn.name}(") and fn.doc and 1 <= len(fn.examples) <= 3
    assert fn.nulls in ("propagate", "skip", "custom") and (fn.max_args is None or fn.min_args <= fn.max_args)


@pytest.mark.parametrize(("text", "expected"), [e for fn in FUNCTIONS.values() for e in fn.examples])
def test_example_through_the_interpreter(text: str, expected: object) -> None:
    try:
        got = evaluate(parse_expression(text), EXAMPLE_RECORD, now=EXAMPLE_NOW)
    except RecordError as error:
        got = Fails(str(error))
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("substr", ("héllo", -2), "lo"), ("substr", ("héllo", -99, 2), "hé"), ("substr", ("abc", 5, 1), ""),
    ("substr", ("abc", 1, 0), ""), ("substr", ("abc", 1, -1), ""), ("len", ("e\u0301😀",), 3),
    ("replace", ("abc", "", "x"), "abc"), ("replace", ("a.b", ".", "$1"), "a$1b"), ("split", ("", ""), []),
    ("round", (2.675, 2), 2.67), ("round", (-2.5,), -3.0), ("round", (2.5,), 3.0), ("round", (15, -1), 20),
    ("round", (-15, -1), -20), ("round", (14, -1), 10), ("round", (7, 3), 7), ("round", (2**63 - 1, -1), Fails("overflow: integer overflow in round")),
    ("abs", (-(2**63),), Fails("overflow: integer overflow in abs")), ("floor", (-0.5,), -1.0), ("ceil", (-0.5,), -0.0),
    ("least", (None, None), None), ("greatest", (1, None, 2.5), 2.5), ("least", (float("nan"), 1.0), 1.0),
    ("concat", (None, 1.0, True), "1.0true"), ("to_int", (" 42",), Fails("conversion: cannot convert ' 42' to int")),
    ("to_int", (float("nan"),), Fails("conversion: cannot convert NaN to int")), ("to_int", (1e19,), Fails("conversion: cannot convert 1e+19 to int")),
    ("to_int", ("x" * 50,), Fails("conversion: cannot convert '" + "x" * 40 + "...' to int")),
    ("to_float", ("1e400",), Fails("conversion: cannot convert '1e400' to float")), ("to_bool", ("No",), Fails("conversion: cannot convert 'No' to bool")),
    ("to_string", (1e-5,), "0.00001"), ("to_string", (2.5e-7,), "2.5e-7"), ("to_string", (datetime(5, 1, 2, tzinfo=UTC),), "0005-01-02T00:00:00Z"),
    ("matches", ("٣", r"\d"), False), ("matches", ("x٣", r"\pN"), True), ("regex_extract", ("ab", "(a)|(b)", 2), None),
    ("regex_replace", ("baaac", "a*", "-"), "-b-c-"), ("regex_replace", ("ab", "(?P<x>a)", "${x}$x$1x$$"), "aa$b"),
    ("parse_timestamp", ("2024-03-10T00:30+01:00",), datetime(2024, 3, 9, 23, 30, tzinfo=UTC)),
    ("parse_timestamp", ("2024-03-10T24:00",), Fails("conversion: cannot convert '2024-03-10T24:00' to datetime")),
    ("parse_timestamp", ("03/2024", "%m/%Y"), datetime(2024, 3, 1, tzinfo=UTC)),
    ("parse_timestamp", ("2024", "%d"), Fails("conversion: cannot convert '2024' to datetime with format '%d'")),
    ("format_timestamp", (datetime(2024, 1, 2, 3, 4, 5, 6, UTC), "%j|%f|%z|%%"), "002|000006|+0000|%"),
    ("date_trunc", ("week", datetime(2024, 3, 10, 5, tzinfo=UTC)), datetime(2024, 3, 4, tzinfo=UTC)),
])
def test_reference_edge_case(name: str, args: tuple, expected: object) -> None:
    got = run(name, *args)
    assert got == expected and type(got) is type(expected)


def test_coalesce_evaluates_only_until_a_value() -> None:
    def fail() -> object:
        raise AssertionError("evaluated")

    assert FUNCTIONS["coalesce"].evaluate(lambda: None, lambda: 3, fail) == 3


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("upper", (t.STRING,), t.STRING), ("upper", (t.INT,), "argument 1 must be string, got int"),
    ("len", (t.ListOf(t.INT),), t.INT), ("round", (t.INT, t.INT), t.INT), ("floor", (t.FLOAT,), t.FLOAT),
    ("least", (t.INT, t.FLOAT, t.NULL), t.FLOAT), ("least", (t.INT, t.STRING), "argument 2 has type string, which does not fit int"),
    ("coalesce", (t.ListOf(t.INT), t.NULL), t.ListOf(t.INT)), ("concat", (t.STRING, t.ListOf(t.INT)), "argument 2 must be string, int, float, bool, datetime or date, got list<int>"),
    ("contains", (t.ListOf(t.INT), t.FLOAT), t.BOOL), ("contains", (t.ListOf(t.INT), t.STRING), "argument 2 must fit the list's items (int), got string"),
    ("date_trunc", (t.STRING, t.DATE), t.DATE), ("hour", (t.DATE,), "argument 1 must be datetime, got date"),
    ("to_string", (t.DURATION,), "argument 1 must be string, int, float, bool, datetime or date, got duration"),
])
def test_result_type(name: str, args: tuple, expected: object) -> None:
    assert FUNCTIONS[name].result_type(args) == expected


@pytest.mark.parametrize(("name", "constants", "expected"), [
    ("matches", (NOT_CONSTANT, "(?=a)"), [(1, "E223", {"problem": "invalid perl operator: (?="})]),
    ("matches", (NOT_CONSTANT, r"(a)\1"), [(1, "E223", {"problem": "invalid escape sequence: \\1"})]),
    ("matches", (NOT_CONSTANT, r"\Qa\E"), [(1, "E223", {"problem": "unrecognized escape sequence (RE2 accepts it, Rust's regex does not)"})]),
    ("matches", (NOT_CONSTANT, NOT_CONSTANT), [(1, "E227", {"index": 2, "name": "matches", "what": "string (a regex literal)"})]),
    ("matches", (NOT_CONSTANT, None), []), ("matches", (NOT_CONSTANT, "^a+$"), []),
    ("regex_extract", (NOT_CONSTANT, "(a)", 2), [(2, "E225", {"name": "regex_extract", "problem": "group 2 does not exist; the regex has groups 0 to 1"})]),
    ("regex_extract", (NOT_CONSTANT, "(a)", NOT_CONSTANT), [(2, "E227", {"index": 3, "name": "regex_extract", "what": "int (a group number)"})]),
    ("date_trunc", ("weeks", NOT_CONSTANT), [(0, "E225", {"name": "date_trunc", "problem": "unknown unit 'weeks'; units are year, month, week, day, hour, minute, second"})]),
    ("parse_timestamp", (NOT_CONSTANT, "%Y-%b"), [(1, "E225", {"name": "parse_timestamp", "problem": "unsupported directive '%b' in format; use %Y %m %d %H %M %S %f %z or %%"})]),
    ("parse_timestamp", (NOT_CONSTANT, "%Y %Y"), [(1, "E225", {"name": "parse_timestamp", "problem": "directive '%Y' appears twice in format"})]),
    ("parse_timestamp", (NOT_CONSTANT,), []),
    ("format_timestamp", (NOT_CONSTANT, "100%"), [(1, "E225", {"name": "format_timestamp", "problem": "format ends with a lone '%'"})]),
    ("round", (NOT_CONSTANT, 401), [(1, "E225", {"name": "round", "problem": "digits must be between -400 and 400"})]),
    ("round", (NOT_CONSTANT, NOT_CONSTANT), [(1, "E227", {"index": 2, "name": "round", "what": "int (the number of digits)"})]),
])
def test_check_constants(name: str, constants: tuple, expected: list) -> None:
    problems = FUNCTIONS[name].check_constants(constants)
    assert list(problems) == expected
    for _, code, args in problems:
        codes.diagnostic(code, None, **args)  # every problem fills its code's template


def test_constant_value_reads_literals_and_negated_numbers() -> None:
    assert constant_value(parse_expression("-2")) == -2
    assert constant_value(parse_expression("'a'")) == "a"
    assert constant_value(parse_expression("null")) is None
    assert constant_value(parse_expression("x")) is NOT_CONSTANT


@pytest.mark.parametrize(("pattern", "rust"), [
    (r"\d+\w\s\b", r"[0-9]+[0-9A-Za-z_][\t\n\f\r ](?-u:\b)"), (r"[\d\S]", r"[0-9[^\t\n\f\r ]]"),
    (r"a{,2}", r"a\{,2}"), (r"a{2,}", r"a{2,}"), (r"\<x\>", "<x>"), (r"[a&&b~~!--]", r"[a\&\&b\~\~!-\-]"),
    (r"[]a[]", r"[\]a\[]"), (r"\p{Greek}\x{41}", r"\p{Greek}\x{41}"), (r"[[:alpha:]]", "[[:alpha:]]"),
])
def test_to_rust(pattern: str, rust: str) -> None:
    assert to_rust(pattern) == rust
    assert regex_problem(pattern) is None


@pytest.mark.parametrize("pattern", ["(?=a)", "(?<!a)b", r"(a)\1", "(a", "[z-a]", r"\C", r"\Qa\E", "a{1001}", "(?x)a"])
def test_regex_problem(pattern: str) -> None:
    assert regex_problem(pattern)


def test_format_float_matches_polars_layout() -> None:
    assert [format_float(x) for x in (1e16, 1e15, 1e-5, 1.5e-6, float("nan"), -0.0)] == [
        "1e+16", "1000000000000000.0", "0.00001", "1.5e-6", "NaN", "-0.0"]


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("count", (), t.INT), ("count", (t.STRING,), t.INT), ("sum", (t.INT,), t.INT), ("avg", (t.INT,), t.FLOAT),
    ("sum", (t.STRING,), "argument 1 must be int, float or duration, got string"), ("min", (t.STRING,), t.STRING),
    ("collect", (t.INT,), t.ListOf(t.INT)), ("first", (t.BOOL,), t.BOOL), ("max", (t.BOOL,), t.BOOL), ("sum", (t.NULL,), t.NULL),
    ("min", (t.ListOf(t.INT),), "argument 1 must be int, float, string, datetime, date, duration or bool, got list<int>"),
])
def test_aggregate_types(name: str, args: tuple, expected: object) -> None:
    aggregate = AGGREGATES[name]
    assert aggregate.min_args <= len(args) <= aggregate.max_args
    assert aggregate.result_type(args) == expected


def test_examples_use_the_example_record_fields() -> None:
    assert set(EXAMPLE_RECORD) >= {"s", "n", "x", "missing", "tags", "ts"}
    assert FUNCTIONS["now"].examples == (("now()", EXAMPLE_NOW),)
