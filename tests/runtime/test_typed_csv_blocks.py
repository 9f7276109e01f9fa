"""A fast reading parses a CSV block's int and float fields as numbers (`line_chunks.typed_block`):
each value must be what the cast of its text gives (the exact reading's conversion, `to_int` /
`to_float`), and a block holding a text that does not convert must give None (the runner then reads
on the exact way, which gives the record its error), never a null or another number."""

from __future__ import annotations

import math
import struct

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowc.runtime.sources.line_chunks import typed_block

PARSE = {"separator": ",", "quote_char": '"', "null_values": None, "encoding": "utf8"}
NUMBERS = {"n": pl.Int64, "x": pl.Float64}
SCHEMA = {"n": pl.String, "x": pl.String, "s": pl.String}

# Pieces of number-like texts: signs, exponents, the spellings of inf and nan, limits of int64, the
# bytes Polars' reader skips or reads as null (space, tab, a quoted empty field), and non-ASCII digits.
ATOMS = ["0", "1", "5", "9", "00", "-", "+", ".", "e", "E", "_", "inf", "Inf", "nan", "NaN", "infinity", "x",
         "0x", "1e308", "1e309", "9223372036854775807", "9223372036854775808", "-9223372036854775808", " ", "\t",
         "\u00a0", "\u0663", "NA", "1.5"]
texts = st.lists(st.sampled_from(ATOMS), max_size=4).map("".join)
fields = st.tuples(texts, st.booleans()).map(lambda pair: f'"{pair[0]}"' if pair[1] else pair[0])


def _key(value: object) -> object:
    """A float's bits (so -0.0 is not 0.0, and NaN equals itself), else the value."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else struct.pack("<d", value)
    return value


def _reference(data: bytes, parse: dict, null_values: list[str] | None = None) -> pl.DataFrame | None:
    """The block read as text and cast: None when a non-null text does not convert or a float is not finite."""
    text = pl.read_csv(data, has_header=False, schema=SCHEMA, **{**parse, "null_values": null_values})
    cast = text.with_columns(pl.col(name).cast(dtype, strict=False) for name, dtype in NUMBERS.items())
    for name in NUMBERS:
        if (text[name].is_not_null() & cast[name].is_null()).any():
            return None
    if (~cast["x"].is_finite()).any():
        return None
    return cast


def _block(rows: list[tuple[str, str]]) -> bytes:
    return "".join(f"{n},{x},s\n" for n, x in rows).encode()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(fields, fields), min_size=1, max_size=6), st.sampled_from([None, ["NA"]]))
def test_a_typed_block_holds_what_the_cast_of_each_text_gives(rows, null_values):
    data = _block(rows)
    parse = {**PARSE, "null_values": null_values}
    got = typed_block(data, SCHEMA, list(SCHEMA), NUMBERS, parse)
    expected = _reference(data, PARSE, null_values)
    if expected is None:
        assert got is None, f"{data!r} read as {got}"
    else:
        assert got is not None, f"{data!r} not read though every text converts"
        assert got.schema == expected.schema
        for name in SCHEMA:
            assert [_key(v) for v in got[name]] == [_key(v) for v in expected[name]], name


@pytest.mark.parametrize("field", [" 7", "\t7", "7 ", '" 7"', '""', "nan", "inf", "1e400", "7.0", "x", "\u0663"])
def test_a_number_text_the_cast_refuses_makes_the_block_unreadable(field):
    data = _block([("1", "2.5"), (field, "1"), ("3", field)])
    assert typed_block(data, SCHEMA, list(SCHEMA), NUMBERS, PARSE) is None


def test_numbers_are_read_exactly_with_or_without_other_blanks_in_the_block():
    rows = [("007", "-0.0"), ("+5", "1e308"), ("-9223372036854775808", ".5"), ("", "")]
    plain = typed_block(_block(rows), SCHEMA, list(SCHEMA), NUMBERS, PARSE)
    spaced = typed_block(_block(rows).replace(b",s\n", b",a b\n"), SCHEMA, list(SCHEMA), NUMBERS, PARSE)
    for frame in (plain, spaced):
        assert frame is not None
        assert frame["n"].to_list() == [7, 5, -9223372036854775808, None]
        assert [_key(v) for v in frame["x"]] == [_key(-0.0), _key(1e308), _key(0.5), None]


def test_a_tab_separated_block_with_a_quoted_tab_is_read_as_text():
    tsv = {**PARSE, "separator": "\t"}
    data = b'1\t"\t2"\ts\n'
    assert typed_block(data, SCHEMA, list(SCHEMA), NUMBERS, tsv) is None
    assert typed_block(b"1\t2\ts\n", SCHEMA, list(SCHEMA), NUMBERS, tsv)["x"].to_list() == [2.0]


def test_only_the_wanted_columns_are_read():
    frame = typed_block(_block([("1", "2")]), SCHEMA, ["x"], {"x": pl.Float64}, PARSE)
    assert frame is not None and frame.columns == ["x"] and frame["x"].to_list() == [2.0]


def test_a_block_failing_for_another_reason_gives_polars_own_error_not_a_number_error():
    """Not UTF-8 in a text column: the runner reads on the exact way either way, but the error is Polars'."""
    with pytest.raises(pl.exceptions.ComputeError, match="utf-8"):
        typed_block(b"1,2,s\xff\n", SCHEMA, list(SCHEMA), NUMBERS, PARSE)
