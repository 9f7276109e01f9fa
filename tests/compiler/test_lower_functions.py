"""The Polars implementations agree with the reference ones, row by row: values and error texts.

Each table runs its rows through `FunctionDef.evaluate` (with the interpreter's null rule) and through
`POLARS_FUNCTIONS` on one DataFrame, and compares the outcomes of every row.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.compiler.lower_expr import lower
from flowc.compiler.lower_fn_text import CASE_DIFFERENCES
from flowc.compiler.lower_functions import POLARS_FUNCTIONS
from flowc.compiler.lowered import LowerContext, Lowered
from flowc.compiler.polars_types import to_polars
from flowc.compiler.typecheck import check_expression
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.functions import EXAMPLE_NOW, EXAMPLE_RECORD, FUNCTIONS, Fails
from flowc.dsl.interpret import conform, evaluate
from flowc.dsl.parser import parse_expression
from flowc.dsl.record_errors import RecordError

S, I, F, B, DT, D, N = t.STRING, t.INT, t.FLOAT, t.BOOL, t.DATETIME, t.DATE, t.NULL  # noqa: E741
LS, LI = t.ListOf(t.STRING), t.ListOf(t.INT)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
UNICODE = ["", "a", "né", "ne\u0301", "𝔘𝔫𝔦", "😀x😀", "ǅ", "İ", "ΣΑΣ σ", "ß", "\u00a0 x \u3000", "\x1c y\x1f",
           "\t\n", "a\u200bb", "ﬁ"]


def _key(value: object) -> object:
    """Compare floats by their text so that -0.0 and 0.0, and NaNs, are told apart and matched."""
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    if isinstance(value, list):
        return [_key(v) for v in value]
    return value


def reference(name: str, args: tuple[object, ...], types: tuple[t.Type, ...] | None = None) -> object:
    """What the interpreter does with a call: the null rule, then (given the types) int-to-float widening."""
    fn = FUNCTIONS[name]
    try:
        if fn.lazy:
            value = fn.evaluate(*(lambda a=a: a for a in args))
        elif fn.nulls == "propagate" and any(a is None for a in args):
            return None
        else:
            value = fn.evaluate(*args)
    except RecordError as error:
        return Fails(str(error))
    return _key(value if types is None else conform(value, fn.result_type(types)))


def polars(name: str, types: tuple[t.Type, ...], rows: list[tuple[object, ...]]) -> list[object]:
    fn = FUNCTIONS[name]
    result = fn.result_type(types)
    assert not isinstance(result, str), result
    constants = {i for i, _ in fn.constant_args}
    frame = pl.DataFrame({f"a{i}": pl.Series([r[i] for r in rows], dtype=to_polars(ty)) for i, ty in enumerate(types)})
    args = tuple(Lowered(pl.lit(rows[0][i], dtype=to_polars(ty)) if i in constants else pl.col(f"a{i}"))
                 for i, ty in enumerate(types))
    lowered = POLARS_FUNCTIONS[name](args, types, result)
    error = lowered.error if lowered.error is not None else pl.lit(None, dtype=pl.String)
    out = frame.select(value=lowered.value, error=error)
    return [Fails(e) if e is not None else _key(v) for v, e in out.iter_rows()]


def agree(name: str, types: tuple[t.Type, ...], rows: list[tuple[object, ...]]) -> None:
    expected = [reference(name, row, types) for row in rows]
    got = polars(name, types, rows)
    for row, want, have in zip(rows, expected, got, strict=True):
        assert have == want, f"{name}{row}: polars {have!r}, reference {want!r}"


def test_every_function_but_now_has_a_polars_implementation() -> None:
    assert set(POLARS_FUNCTIONS) == set(FUNCTIONS) - {"now"}


def test_case_differences_table_is_exactly_where_python_and_polars_disagree() -> None:
    """From code point 0: the fast query checks only texts beyond ASCII for these (`lower_fn_text._cased`)."""
    codes = [c for c in range(0, 0x110000) if not 0xD800 <= c < 0xE000]
    chars = pl.Series([chr(c) for c in codes])
    python = pl.DataFrame({"lower": [chr(c).lower() for c in codes], "upper": [chr(c).upper() for c in codes]})
    differ = (chars.str.to_lowercase() != python["lower"]) | (chars.str.to_uppercase() != python["upper"])
    found = [c for c, d in zip(codes, differ.to_list(), strict=True) if d]
    assert found == [c for a, b in CASE_DIFFERENCES for c in range(a, b + 1)]


# --- the examples: parsed, type-checked, interpreted and lowered ----------------------------------

_SCHEMA = t.Struct((("s", S), ("n", I), ("x", F), ("missing", S), ("tags", LS), ("ts", DT)))


def _lower(node: ast.Expr, ctx: LowerContext) -> Lowered:
    """The call site of `flowc.compiler.lower_functions`' docstring; other nodes by `lower`."""
    if isinstance(node, ast.Call) and node.name != "now":
        args = tuple(_lower(a, ctx) for a in node.args)
        return POLARS_FUNCTIONS[node.name](args, tuple(ctx.types[a] for a in node.args), ctx.types[node])
    return lower(node, ctx)


@pytest.mark.parametrize(("text", "expected"), [e for fn in FUNCTIONS.values() for e in fn.examples])
def test_example_lowered_agrees_with_interpreter(text: str, expected: object) -> None:
    expr = parse_expression(text)
    typed = check_expression(expr, _SCHEMA, where="map")
    assert typed.problems == ()
    try:
        interpreted: object = evaluate(expr, EXAMPLE_RECORD, now=EXAMPLE_NOW, types=typed.types)
    except RecordError as error:
        interpreted = Fails(str(error))
    assert interpreted == expected
    frame = pl.DataFrame([EXAMPLE_RECORD], schema={n: to_polars(ty) for n, ty in _SCHEMA.fields})
    lowered = _lower(expr, LowerContext(typed.types, EXAMPLE_NOW))
    error = lowered.error if lowered.error is not None else pl.lit(None, dtype=pl.String)
    value, message = frame.select(value=lowered.value, error=error).row(0)
    assert (Fails(message) if message is not None else value) == expected


@pytest.mark.parametrize("text", ['"2026-01-01T00:00:00Z"', '"2026-01-01T00:00:00"', '"2026-01-01T01:00:00+01:00"',
                                  '"2026-01-01"'])
def test_parse_timestamp_of_a_constant(text: str) -> None:
    """Polars evaluates both branches of a when/then on a constant: no branch may fail on a valid value."""
    expr = parse_expression(f"parse_timestamp({text})")
    typed = check_expression(expr, _SCHEMA, where="map")
    lowered = lower(expr, LowerContext(typed.types, EXAMPLE_NOW))
    frame = pl.DataFrame({"n": [1, 2]})
    values = frame.with_columns(value=lowered.value).get_column("value").to_list()
    assert values == [datetime(2026, 1, 1, tzinfo=UTC)] * 2


# --- dense edge-case tables -------------------------------------------------------------------------

def _strings(*more: str | None) -> list[tuple[object, ...]]:
    return [(s,) for s in [*UNICODE, *more, None]]


TABLES: list[tuple[str, tuple[t.Type, ...], list[tuple[object, ...]]]] = [
    ("lower", (S,), _strings("ÀÉ", "ΣΑΣ.", "ΌΣΟΣ", "\U00010d50 ΣΑΣ", "\ua7dc\u019b", None, "Ƛ")),
    ("upper", (S,), _strings("straße", "ŉ", "ǰ", "\u019b\u0264 ß", "\U00016ebb", "ﬀ\u1c8a")),
    ("trim", (S,), _strings("  \t x \n", "\u2028x\u2029", "\x85y\x85")),
    ("len", (S,), _strings()),
    ("len", (LI,), [([],), ([1, None],), (None,)]),
    ("sha256", (S,), _strings()),
    ("substr", (S, I, I), [(s, a, n) for s in ["", "héllo", "😀a😀b"] for a in [0, 1, 3, 5, 9, -1, -4, -99, INT_MIN]
                           for n in [None, 0, 1, 2, -1, 10, INT_MAX]] + [(None, 0, 1), ("x", None, 1)]),
    ("substr", (S, I), [(s, a) for s in ["", "héllo"] for a in [0, 2, 9, -2, -9, INT_MIN, INT_MAX, None]]),
    ("replace", (S, S, S), [(s, o, n) for s in ["", "aaa", "héllo é", "a$b", "😀😀"] for o in ["", "a", "aa", "é", "$", "😀", None]
                            for n in ["", "-", "$1", "\\", None]]),
    ("split", (S, S), [(s, p) for s in ["", "a,b,,c", ",", "😀x😀", "ab"] for p in ["", ",", "😀", "ab", "zz", None]]),
    ("contains", (S, S), [(s, x) for s in ["", "héllo", None] for x in ["", "l", "é", "z", None]]),
    ("contains", (LI, I), [([1, 2, None], 2), ([1, 2, None], 3), ([], 1), (None, 1), ([1], None), ([INT_MAX], INT_MAX)]),
    ("contains", (LI, F), [([1, 2], 2.0), ([1, 2], 2.5), ([None], 0.0)]),
    ("contains", (LS, S), [(["a", None], "a"), (["a"], ""), ([], "a")]),
    ("starts_with", (S, S), [(s, x) for s in ["", "héllo", None] for x in ["", "h", "hé", "é", None]]),
    ("ends_with", (S, S), [(s, x) for s in ["", "héllo", "😀"] for x in ["", "o", "lo", "😀", None]]),
    ("concat", (S, I, F, B), [("a", 1, 1.5, True), (None, None, None, None), (None, -3, None, False),
                              ("", None, 1e-7, None), ("x", INT_MIN, float("nan"), None)]),
    ("concat", (DT, D), [(datetime(2024, 1, 2, 3, 4, 5, 120000, UTC), date(1, 1, 1)), (None, date(2024, 2, 29)),
                         (datetime(999, 1, 1, tzinfo=UTC), None), (datetime(2024, 1, 1, 0, 0, 0, 1, UTC), None)]),
    ("abs", (I,), [(0,), (-1,), (INT_MAX,), (INT_MIN,), (INT_MIN + 1,), (None,)]),
    ("abs", (F,), [(-0.0,), (-1.5,), (float("-inf"),), (float("nan"),), (None,)]),
    ("floor", (F,), [(x,) for x in [-2.5, -0.5, -0.0, 0.5, 2.0, 1e300, -1e-300, float("inf"), float("nan"), None]]),
    ("ceil", (F,), [(x,) for x in [-2.5, -0.5, -0.0, 0.5, 2.0, 1e300, -1e-300, float("-inf"), None]]),
    ("floor", (I,), [(INT_MIN,), (3,), (None,)]),
    ("least", (I, F, N), [(1, 2.5, None), (None, None, None), (3, None, None), (None, float("nan"), None), (2**53 + 1, 1e300, None)]),
    ("greatest", (I, F), [(1, 2.5), (None, None), (3, float("nan")), (-5, float("-inf"))]),
    # two equal zeros: the result is 0.0 whichever one Python's min/max or Polars' horizontal keeps
    ("least", (I, F, F), [(0, -0.0, None), (None, -0.0, 0.0), (None, -0.0, -0.0)]),
    ("greatest", (F, I), [(-0.0, 0), (-0.0, None), (0.0, None)]),
    ("least", (S, S, S), [("b", "a", None), ("é", "z", "😀"), (None, None, None), ("", "a", None)]),
    ("greatest", (DT, DT), [(datetime(2024, 1, 1, tzinfo=UTC), None), (datetime(1, 1, 1, tzinfo=UTC), datetime(2, 1, 1, tzinfo=UTC))]),
    ("coalesce", (I, F), [(None, 1.5), (2, None), (None, None), (3, 4.5)]),
    ("coalesce", (S, S, S), [(None, None, "c"), ("a", None, None), (None, "", "c")]),
    ("to_int", (S,), _strings("42", "+42", "-0", "007", " 42", "42 ", "4.0", "1_0", "٤٢", "9223372036854775807",
                              "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "0x10", "x" * 60)),
    ("to_int", (F,), [(x,) for x in [0.0, -0.0, 2.9, -2.9, 9.223372036854775e18, 9.223372036854776e18,
                                     -9.223372036854776e18, float("nan"), float("inf"), 1e-300, 2.5e-7, 1e20, None]]),
    ("to_int", (B,), [(True,), (False,), (None,)]),
    ("to_float", (S,), _strings("1", "-1.5", ".5", "5.", "1e5", "1E+05", "+.5e-3", "1e400", "-1e400", "nan", "inf",
                                " 1", "1 ", "1e", "e5", ".", "1.7976931348623157e308", "0x1p3", "1_000")),
    ("to_float", (I,), [(INT_MAX,), (INT_MIN,), (2**53 + 1,), (None,)]),
    ("to_string", (F,), [(x,) for x in [0.1, -0.0, 1e16, 1e15, 1e-5, 1.5e-5, 1e-6, 2.675, float("nan"),
                                        float("-inf"), 5e-324, 1.7976931348623157e308, 123456789.125, None]]),
    ("to_string", (I,), [(INT_MIN,), (0,), (None,)]),
    ("to_string", (B,), [(True,), (False,)]),
    ("to_string", (DT,), [(datetime(2024, 1, 2, 3, 4, 5, ms, UTC),) for ms in (0, 1, 120000, 123000, 999999)]
     + [(datetime(1, 1, 1, tzinfo=UTC),), (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),)]),
    ("to_string", (D,), [(date(1, 1, 1),), (date(2024, 2, 29),), (None,)]),
    ("to_bool", (S,), _strings("true", "TRUE", "False", "1", "0", "yes", " true", "t", "01")),
    ("to_bool", (I,), [(0,), (1,), (-1,), (INT_MIN,), (None,)]),
    ("year", (DT,), [(datetime(1, 1, 1, tzinfo=UTC),), (datetime(2024, 12, 31, 23, 59, tzinfo=UTC),), (None,)]),
    ("month", (D,), [(date(2024, 2, 29),), (None,)]),
    ("day", (DT,), [(datetime(2024, 2, 29, 23, tzinfo=UTC),)]),
    ("hour", (DT,), [(datetime(2024, 2, 29, 23, tzinfo=UTC),), (datetime(2024, 1, 1, tzinfo=UTC),)]),
    ("minute", (DT,), [(datetime(2024, 2, 29, 23, 59, 59, 999999, UTC),)]),
    ("day_of_week", (DT,), [(datetime(2024, 3, d, tzinfo=UTC),) for d in range(4, 11)]),
    ("day_of_week", (D,), [(date(1, 1, 1),), (date(2024, 3, 10),), (None,)]),
]
_TIMES = [datetime(2024, 3, 10, 14, 5, 9, 250000, UTC), datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 6, 23, tzinfo=UTC),
          datetime(9999, 12, 31, 23, 59, 59, 999999, UTC), datetime(2024, 2, 29, tzinfo=UTC), None]
TABLES += [("date_trunc", (S, DT), [(unit, ts) for ts in _TIMES]) for unit in
           ("year", "month", "week", "day", "hour", "minute", "second")]
TABLES += [("date_trunc", (S, D), [(unit, d) for d in (date(1, 1, 3), date(2024, 3, 10), date(2024, 2, 29), None)])
           for unit in ("year", "month", "week", "day", "hour")]
TABLES += [("format_timestamp", (DT, S), [(ts, fmt) for ts in _TIMES]) for fmt in
           ("%Y-%m-%d %H:%M:%S.%f", "%j %z %%Y", "T%d/%m/%Y%H", "plain")]


@pytest.mark.parametrize(("name", "types", "rows"), TABLES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(TABLES)])
def test_table_agrees(name: str, types: tuple[t.Type, ...], rows: list[tuple[object, ...]]) -> None:
    agree(name, types, rows)


_ROUND_VALUES = [2.675, -2.675, 2.5, -2.5, 0.5, 1.005, 0.285, 5.015, 1e300, -1e-300, 5e-324, 0.0, -0.0, 1234.5,
                 float("inf"), float("nan"), 0.49999999999999994, 4503599627370495.5, None]


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 15, 17, 20, 300, -1, -2, -3, -300])
def test_round_float_table(digits: int) -> None:
    agree("round", (F, I), [(x, digits) for x in _ROUND_VALUES])


@pytest.mark.parametrize("digits", [0, 2, -1, -2, -18, -19, -20, -400])
def test_round_int_table(digits: int) -> None:
    values = [0, 5, -5, 15, -15, 14, 149, -150, 151, INT_MAX, INT_MIN, INT_MAX - 5, 5 * 10**18, -5 * 10**18,
              4999999999999999999, None]
    agree("round", (I, I), [(x, digits) for x in values])


_TEXTS = ["", "a1b22", "baaac", "héllo wörld", "٣4", "x\ny", "KELVIN \u212a k", "a_b-c", "😀😀", "aaa", "<a>"]
_REGEXES = [r"[0-9]+", r"\d", r"\w+", r"\s", r"\bw", r"a*", r"x*", r"^", r"$", r"(?i)k", r"(?i)\w", "é|e\u0301",
            r"[^a]", r"(a)|(b)", r"(?m)^y", r"(?s)x.y", r"[\d\s]", r"[[:alpha:]]+", r"\pL+", r"a{,2}", r"\<a\>",
            r"[a&&b]", r"[!--]", r"}", r"(?P<w>[a-z])(?P<d>[0-9])", r"\x{1F600}", r"."]


@pytest.mark.parametrize("regex", _REGEXES)
def test_regex_functions_table(regex: str) -> None:
    agree("matches", (S, S), [(s, regex) for s in [*_TEXTS, None]])
    agree("regex_extract", (S, S, I), [(s, regex, 0) for s in [*_TEXTS, None]])
    repls = ["-", "[$0]", "$1$2", "${w}:${d}", "$$", "$", "$x", "${2", "$+1", "${+1}", "$01", None]
    agree("regex_replace", (S, S, S), [(s, regex, r) for s in _TEXTS for r in repls])


_TIMESTAMPS = ["2024-03-10", "2024-03-10T15:05", "2024-03-10 15:05:09", "2024-03-10T15:05:09.1234567Z",
               "2024-03-10T15:05:09+01:00", "2024-03-10T15:05:09-0130", "2024-02-29T00:00Z", "2023-02-29",
               "2024-13-01", "2024-03-10T24:00", "2024-03-10T23:60", "2024-03-10T23:59:60", "0000-01-01",
               "0001-01-01T00:00+00:01", "9999-12-31T23:59-00:01", "2024-03-10T15:05:09+24:00",
               "2024-03-10T15:05:09+01:60", "2024-3-10", " 2024-03-10", "2024-03-10Z", "٢٠٢٤-03-10", "", "x" * 50]


@pytest.mark.parametrize("fmt", [None, "%d/%m/%Y", "%Y%m%d%H%M%S%f", "%H:%M %z", "at %Y.%m.%d %%", "%S"])
def test_parse_timestamp_table(fmt: str | None) -> None:
    texts = [*_TIMESTAMPS, "10/03/2024", "20240310150509123", "15:05 +01:00", "15:05 Z", "at 2024.03.10 %", "59", None]
    if fmt is None:
        agree("parse_timestamp", (S,), [(s,) for s in texts])
    else:
        agree("parse_timestamp", (S, S), [(s, fmt) for s in texts])


# --- properties: each example is a whole frame of rows, so a few dozen examples cover a lot -------------
FEW = settings(max_examples=60)

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@FEW
@given(st.lists(st.tuples(_text, st.integers(-20, 20), st.one_of(st.none(), st.integers(-3, 20))), min_size=1, max_size=60))
def test_substr_property(rows: list[tuple[str, int, int | None]]) -> None:
    agree("substr", (S, I, I), rows)


@FEW
@given(st.lists(st.tuples(_text, st.sampled_from(["", "a", "é", " ", "ab"]), _text), min_size=1, max_size=60))
def test_replace_split_contains_property(rows: list[tuple[str, str, str]]) -> None:
    agree("replace", (S, S, S), rows)
    agree("split", (S, S), [(s, sep) for s, sep, _ in rows])
    agree("contains", (S, S), [(s, sep) for s, sep, _ in rows])


@FEW
@given(st.lists(st.tuples(_text), min_size=1, max_size=60))
def test_case_trim_len_property(rows: list[tuple[str]]) -> None:
    for name in ("lower", "upper", "trim", "len", "to_int", "to_float", "to_bool"):
        agree(name, (S,), rows)


@FEW
@given(st.lists(st.tuples(st.floats(allow_nan=True)), min_size=1, max_size=60))
def test_float_conversions_property(rows: list[tuple[float]]) -> None:
    for name in ("to_string", "to_int", "floor", "ceil", "abs"):
        agree(name, (F,), rows)
    agree("to_float", (S,), [(repr(x),) for (x,) in rows])


@FEW
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=60), st.integers(-5, 12))
def test_round_property(values: list[float], digits: int) -> None:
    agree("round", (F, I), [(x, digits) for x in values])


@FEW
@given(st.lists(st.integers(INT_MIN, INT_MAX), min_size=1, max_size=60), st.integers(-20, 2))
def test_round_int_property(values: list[int], digits: int) -> None:
    agree("round", (I, I), [(x, digits) for x in values])


@FEW
@given(st.lists(st.text("ab1 -", max_size=8), min_size=1, max_size=20), st.sampled_from(_REGEXES))
def test_regex_property(texts: list[str], regex: str) -> None:
    agree("regex_replace", (S, S, S), [(s, regex, "<$0>") for s in texts])
    agree("matches", (S, S), [(s, regex) for s in texts])


@FEW
@given(st.lists(st.datetimes(timezones=st.just(UTC)), min_size=1, max_size=20))
def test_timestamp_round_trip_property(stamps: list[datetime]) -> None:
    agree("to_string", (DT,), [(ts,) for ts in stamps])
    agree("parse_timestamp", (S,), [(reference("to_string", (ts,)),) for ts in stamps])
    for unit in ("week", "month", "second"):
        agree("date_trunc", (S, DT), [(unit, ts) for ts in stamps])
