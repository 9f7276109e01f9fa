"""A source's typed fields are read by fast paths (one `str.to_datetime` for the common ISO shape,
Polars' casts for ints and floats); they must give exactly what the language's `parse_timestamp`,
`to_int` and `to_float` give (value and error) for every string."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.compiler.lower_functions import POLARS_FUNCTIONS
from flowc.compiler.lowered import Lowered
from flowc.compiler.source_types import _COMMON_ISO, SLOW_PATH, convert, fast_conversions
from flowc.dsl import types as t


def _general(strings: list[str | None]) -> pl.DataFrame:
    lowered = POLARS_FUNCTIONS["parse_timestamp"]((Lowered(pl.col("ts")),), (t.STRING,), t.DATETIME)
    error = pl.lit("conversion: field 'ts': ") + lowered.error.str.strip_prefix("conversion: ")
    return pl.DataFrame({"ts": strings}, schema={"ts": pl.String}).select(v=lowered.value, e=error)


def _source(strings: list[str | None]) -> pl.DataFrame:
    converted = convert("ts", pl.String, t.DATETIME)
    return pl.DataFrame({"ts": strings}, schema={"ts": pl.String}).lazy().select(v=converted.value,
                                                                                 e=converted.error).collect()


EDGES = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-12-31T23:59:59.999999Z", "2026-02-30T00:00:00Z",
         "2026-02-29T00:00:00Z", "2024-02-29T12:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
         "2026-01-01T00:00:60Z", "2026-01-01T00:00:00.1234567Z", "0999-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
         "2026-01-01 00:00:00Z", "2026-01-01T00:00:00+02:00", "2026-01-01", "2026-13-01T00:00:00Z", "", "x", None,
         "9999-12-31T23:59:59.999999Z", "2026-01-01T00:00:00.Z", "2026-1-01T00:00:00Z",
         # the fixed widths Polars parses itself (27, 24 and 20 bytes), with days that do not exist
         "2026-02-30T00:00:00.000000Z", "2023-02-29T10:00:00.123Z", "2024-02-29T10:00:00.123456Z",
         "2026-00-10T00:00:00.000001Z", "2026-04-31T00:00:00Z", "2026-04-00T00:00:00.999Z", "1000-01-01T00:00:00Z",
         "2026-01-01T00:00:00.123456ZZ", "2026-01-01T00:00:00.12345Z", "2026-01-01T00:00:00.1234Z"]

# A timestamp of one of the fixed widths, with any digits in month and day (00, 13, 31 in April...)
FIXED_WIDTH = st.from_regex(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                            r"(?:\.[0-9]{3}|\.[0-9]{6})?Z", fullmatch=True)


def test_edges_read_the_same_both_ways():
    assert _source(EDGES).equals(_general(EDGES))


@given(st.lists(st.one_of(st.from_regex(_COMMON_ISO, fullmatch=True), st.text(max_size=30), st.none(), FIXED_WIDTH,
                          st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                                        r"(Z|[+-][0-9]{2}:?[0-9]{2})?", fullmatch=True)), max_size=200))
@settings(max_examples=60)  # each example is 200 strings through two lowerings: ~0.1 s
def test_any_strings_read_the_same_both_ways(strings):
    assert _source(strings).equals(_general(strings))


def _fast(strings: list[str | None]) -> pl.DataFrame:
    with fast_conversions():
        converted = convert("ts", pl.String, t.DATETIME)
    return pl.DataFrame({"ts": strings}, schema={"ts": pl.String}).lazy().select(v=converted.value,
                                                                                 e=converted.error).collect()


@given(st.lists(st.one_of(FIXED_WIDTH, st.from_regex(_COMMON_ISO, fullmatch=True), st.text(max_size=30),
                          st.none()), max_size=200))
@settings(max_examples=60)
def test_the_fast_reading_gives_the_exact_value_or_marks_the_row(strings):
    """A fast query's timestamps: the exact value where it has one, else SLOW_PATH (never a wrong value)."""
    fast, exact = _fast(strings), _general(strings)
    marked = fast["e"] == SLOW_PATH
    assert fast["e"].drop_nulls().unique().to_list() in ([], [SLOW_PATH])
    assert fast.filter(~marked.fill_null(False))["v"].equals(exact.filter(~marked.fill_null(False))["v"])
    assert (marked.fill_null(False) == (exact["e"].is_not_null() | (fast["v"].is_null() & exact["v"].is_not_null()))).all()


def test_edges_read_fast_give_the_exact_value_or_the_mark():
    test_the_fast_reading_gives_the_exact_value_or_marks_the_row.hypothesis.inner_test(EDGES)


NUMERIC = st.text(alphabet="0123456789+-.eE_xXinfatyINFATY \t,\u0661", max_size=14)


@given(st.lists(st.one_of(st.text(max_size=10), NUMERIC), min_size=1, max_size=100))
@settings(max_examples=100)
def test_ints_and_floats_read_as_to_int_and_to_float_do(strings):
    frame = pl.DataFrame({"s": strings}, schema={"s": pl.String})
    for type_, function in ((t.INT, "to_int"), (t.FLOAT, "to_float")):
        general = POLARS_FUNCTIONS[function]((Lowered(pl.col("s")),), (t.STRING,), type_)
        source = convert("s", pl.String, type_)
        expected = frame.select(v=general.value, e=pl.lit("conversion: field 's': ")
                                + general.error.str.strip_prefix("conversion: "))
        assert frame.lazy().select(v=source.value, e=source.error).collect().equals(expected), function
