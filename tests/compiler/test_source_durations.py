"""A source's `duration` field read from text (`compiler/source_durations.py`) gives exactly what the
reference reading `dsl.units.duration_from_text` gives, value and error, for any text; everything
flowc's sinks write for a duration (Polars' ISO-8601 text) reads back as the same duration."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.compiler.source_types import convert, fast_conversions
from flowc.dsl import types as t
from flowc.dsl.units import DURATION_MAX, DURATION_MIN, duration_from_text

HINT = " (durations are read from text such as '90s' or 'PT1M30S')"


def _read(values: list, dtype: pl.DataType = pl.String, fast: bool = False) -> list[tuple]:
    if fast:
        with fast_conversions():
            converted = convert("du", dtype, t.DURATION)
    else:
        converted = convert("du", dtype, t.DURATION)
    frame = pl.DataFrame({"du": values}, schema={"du": dtype}).lazy()
    return frame.select(v=converted.value.dt.total_microseconds(), e=converted.error).collect().rows()


def _expected(text: str | None) -> tuple:
    if text is None:
        return (None, None)
    micros = duration_from_text(text)
    shown = text if len(text) <= 40 else text[:40] + "..."
    return (micros, None if micros is not None else f"conversion: field 'du': cannot convert '{shown}' to duration{HINT}")


EDGES = ["1m", "90s", "250ms", "7us", "2h", "1d", "-5m", "-0s", "00000000000000000000001s", "PT1M", "PT1M30S",
         "PT5M0.000003S", "-PT0.000001S", "P1DT2H", "P2W", "P1W2DT3H4M5.5S", "PT0S", "-P1D", "PT1.123456S",
         "9223372036854775807us", "-9223372036854775808us", "9223372036854775808us", "106751992d", "106751991d",
         "PT1.1234567S", "P", "PT", "-P", "P1DT", "P1M", "P1Y", "PT1.5M", "1.5s", "1 m", " 1m", "1m ", "1min", "+1m",
         "60", "", "abc", "pt1m", "PT-1M", "--1m", None]


def test_edges_read_as_the_reference_reads_them():
    assert _read(EDGES) == [_expected(e) for e in EDGES]


SHORT = st.from_regex(r"-?[0-9]{1,21}(us|ms|s|m|h|d)", fullmatch=True)
ISO = st.from_regex(r"-?P([0-9]{1,12}W)?([0-9]{1,12}D)?(T([0-9]{1,12}H)?([0-9]{1,12}M)?([0-9]{1,12}(\.[0-9]{1,7})?S)?)?",
                    fullmatch=True)


@given(st.lists(st.one_of(SHORT, ISO, st.text(max_size=12), st.none()), max_size=60))
@settings(max_examples=100)
def test_any_text_reads_as_the_reference_reads_it_fast_or_exact(texts):
    expected = [_expected(x) for x in texts]
    assert _read(texts) == expected
    assert [v for v, _ in _read(texts, fast=True)] == [v for v, _ in expected]


# Not DURATION_MIN itself: Polars 2.1 writes it as '-P-106751991DT-4H-54.-775808S', not a duration.
@given(st.lists(st.integers(DURATION_MIN + 1, DURATION_MAX), max_size=30))
@settings(max_examples=100)
def test_what_a_sink_writes_for_a_duration_reads_back_as_the_same_duration(micros):
    written = pl.Series(micros, dtype=pl.Int64).cast(pl.Duration("us")).dt.to_string().to_list()
    assert [v for v, _ in _read(written)] == micros
    assert [duration_from_text(w) for w in written] == micros


def test_a_number_is_a_conversion_error_not_microseconds():
    assert _read([60, None], pl.Int64) == [(None, f"conversion: field 'du': cannot convert 60 to duration{HINT}"),
                                           (None, None)]
    assert _read([1.5], pl.Float64)[0][1] == f"conversion: field 'du': cannot convert 1.5 to duration{HINT}"


def test_a_duration_column_and_a_null_column_pass_through():
    assert _read([60_000_000], pl.Duration("us")) == [(60_000_000, None)]
    assert _read([None], pl.Null) == [(None, None)]
