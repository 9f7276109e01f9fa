"""A source's typed fields are read by fast paths (one `str.to_datetime` for the common ISO shape,
Polars' casts for ints and floats); they must give exactly what the language's `parse_timestamp`,
`to_int` and `to_float` give (value and error) for every string."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.compiler.lower_functions import POLARS_FUNCTIONS
from flowc.compiler.lowered import Lowered
from flowc.compiler.source_types import _COMMON_ISO, convert
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
         "9999-12-31T23:59:59.999999Z", "2026-01-01T00:00:00.Z", "2026-1-01T00:00:00Z"]


def test_edges_read_the_same_both_ways():
    assert _source(EDGES).equals(_general(EDGES))


@given(st.lists(st.one_of(st.from_regex(_COMMON_ISO, fullmatch=True), st.text(max_size=30), st.none(),
                          st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                                        r"(Z|[+-][0-9]{2}:?[0-9]{2})?", fullmatch=True)), max_size=200))
@settings(max_examples=60)  # each example is 200 strings through two lowerings: ~0.1 s
def test_any_strings_read_the_same_both_ways(strings):
    assert _source(strings).equals(_general(strings))


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
