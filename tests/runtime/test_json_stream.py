"""A JSON array file split into its elements a block at a time (runtime/sources/json_stream.py): with
blocks of a few bytes, every element crosses block boundaries, and the elements, or where and why a
malformed file stops, are what `json.loads` of the whole file gives; the chunks of rows cut from the
file again at the places found (runtime/sources/json_file.py) are those of the whole reading."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.json_file import json_sample, json_shape, json_split
from flowc.runtime.sources.json_stream import (
    Malformed,
    Undecodable,
    Unparsed,
    Window,
    elements,
    malformed,
    texts,
)
from flowc.runtime.sources.line_blocks import byte_blocks

BLOCKS = (1, 2, 3, 5, 64, 1 << 20)
TRICKY = ['[,]{"\\"}', "é€😀 \\u00e9 \\ud83d\\ude00", "a\\\\", "", "\\n\\t\\/"]  # JSON source text of strings


def _found(path: Path, block: int) -> list[str] | Malformed:
    """Each element's raw text, or why the file does not parse."""
    window = Window(texts(byte_blocks(str(path), block)))
    try:
        return [window.raw(start, end) for start, end, _ in elements(window)]
    except (Unparsed, Undecodable) as stop:
        return malformed(str(path), stop, block)


def _oracle(text: str) -> list | tuple[str, int]:
    """What `json.loads` of the whole text says: the elements (as JSON), or (reason, line)."""
    if not text.strip(" \t\n\r"):
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{error.msg} at line {error.lineno} column {error.colno}", error.lineno
    return [json.dumps(v) for v in (value if text.lstrip(" \t\n\r").startswith("[") else [value])]


def _as_oracle(found: list[str] | Malformed) -> list | tuple[str, int]:
    if isinstance(found, list):
        return [json.dumps(json.loads(raw)) for raw in found]
    return found.reason, found.line


_SPACE = st.sampled_from(["", " ", "\n", "\r\n  ", "\t"])
_ATOM = st.sampled_from(["1", "-2.5e3", "12345678901234567890", "0.125", "true", "false", "null", "NaN",
                         "-Infinity", *(f'"{s}"' for s in TRICKY)])
_VALUE = st.recursive(_ATOM, lambda inner: st.one_of(
    st.lists(st.tuples(_SPACE, inner, _SPACE), max_size=4).map(lambda xs: "[" + ",".join(a + v + b for a, v, b in xs) + "]"),
    st.lists(st.tuples(st.sampled_from(TRICKY), _SPACE, inner), max_size=4).map(
        lambda kvs: "{" + ",".join(f'"{k}"{s}:{s}{v}' for k, s, v in kvs) + "}")), max_leaves=12)
_DOC = st.one_of(
    st.tuples(_SPACE, st.lists(st.tuples(_SPACE, _VALUE, _SPACE), max_size=8), _SPACE).map(
        lambda t: t[0] + "[" + ",".join(a + v + b for a, v, b in t[1]) + "]" + t[2]),
    st.tuples(_SPACE, _VALUE, _SPACE).map("".join), _SPACE)


@given(doc=_DOC, cut=st.integers(0, 10_000), edit=st.sampled_from(["", ",", '"', "x", "\x01", "\\", "]", "{}"]),
       whole=st.booleans(), block=st.sampled_from(BLOCKS))
@example(doc='[1, -2.5e3, {"a": [true, "]"]}]', cut=0, edit="", whole=True, block=1)
@example(doc="[\n{}\r\n,\n\n  NaN\n\n  ]", cut=0, edit="", whole=True, block=5)  # space runs across blocks
@example(doc='[1, 2, 3]', cut=5, edit=",", whole=False, block=2)  # a stray comma
def test_the_elements_or_the_stop_are_those_of_json_loads(tmp_path_factory, doc, cut, edit, whole, block):
    text = doc if whole else doc[:cut % (len(doc) + 1)] + edit + doc[cut % (len(doc) + 1):]
    path = tmp_path_factory.mktemp("json") / "in.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    assert _as_oracle(_found(path, block)) == _oracle(text)


@pytest.mark.parametrize("block", BLOCKS)
def test_strings_numbers_and_nesting_across_block_boundaries(tmp_path, block):
    elements_ = [{"s": s, "n": [[1, {"x": "]"}], []], "k": 12345.5e-3} for s in ("[,]", 'q"uo"te', "é€😀", "a,b}")]
    text = "[" + " ,\n\n ".join(json.dumps(e, ensure_ascii=False, indent=i % 2 or None) for i, e in enumerate(elements_))
    (tmp_path / "in.json").write_text(text + "\r\n]\n", encoding="utf-8")
    assert [json.loads(raw) for raw in _found(tmp_path / "in.json", block)] == elements_


def test_a_multibyte_character_cut_by_every_block_boundary(tmp_path):
    text = '["é€😀", {"😀": "€"}]'
    (tmp_path / "in.json").write_text(text, encoding="utf-8")
    for block in range(1, len(text.encode()) + 1):
        assert _found(tmp_path / "in.json", block) == ['"é€😀"', '{"😀": "€"}'], block


@pytest.mark.parametrize("block", [1, 4, 1 << 20])
def test_a_file_malformed_after_many_blocks_is_one_stop_at_its_line(tmp_path, block):
    good = ",\n".join(json.dumps({"i": i, "s": "x" * 20}) for i in range(200))
    (tmp_path / "in.json").write_text(f"[{good},\n" + '{"i": 200}\n{"i": 201}]', encoding="utf-8")
    stop = _found(tmp_path / "in.json", block)
    assert (stop.reason, stop.line, stop.text) == ("Expecting ',' delimiter at line 202 column 1", 202, '{"i": 201}]')
    shape = json_split(str(tmp_path / "in.json"), block).shape
    assert shape.records == 1 and shape.malformed == stop  # one record error, no element
    assert json_shape(str(tmp_path / "in.json"), block) == shape


@pytest.mark.parametrize("block", [1, 3, 1 << 20])
def test_a_file_cut_short_inside_a_string_or_a_number(tmp_path, block):
    body = "[" + ", ".join(json.dumps({"i": i, "s": "[x]"}) for i in range(50))
    for tail, reason in (('{"s": "ab', "Unterminated string starting at"), ("-2.5e", "Expecting ',' delimiter")):
        (tmp_path / "in.json").write_text(f"{body}, {tail}", encoding="utf-8")
        assert _found(tmp_path / "in.json", block).reason.startswith(reason)


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_not_utf8_after_many_blocks(tmp_path, block):
    data = ("[" + ",\n".join('{"s": "é"}' for _ in range(100)) + ',\n{"s": "').encode() + b"\xff\"}]"
    (tmp_path / "in.json").write_bytes(data)
    stop = _found(tmp_path / "in.json", block)
    at = data.index(b"\xff")
    assert stop.reason == f"not UTF-8 (byte {at}) at line 101 column 8"
    assert stop.text == '{"s": "\ufffd"}]'
    # bytes are decoded before they are parsed: a stray comma before them is not the reason
    (tmp_path / "in.json").write_bytes(b"[1,, 2" + data[1:])
    assert _found(tmp_path / "in.json", block).reason.startswith("not UTF-8")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_a_bom_or_utf16_32_file_is_decoded_as_json_loads_decodes_bytes(tmp_path, encoding):
    (tmp_path / "in.json").write_bytes('[{"s": "é😀"}, 2]'.encode(encoding))
    for block in (1, 3, 1 << 20):
        assert _found(tmp_path / "in.json", block) == ['{"s": "é😀"}', "2"]


def test_a_long_minified_line_is_quoted_around_where_it_stops(tmp_path):
    good = ",".join(json.dumps({"i": i}) for i in range(1000))
    text = f"[{good},,{good}]"
    (tmp_path / "in.json").write_text(text, encoding="utf-8")
    column = len(good) + 3
    for block in (5, 1 << 20):
        stop = _found(tmp_path / "in.json", block)
        assert stop.reason == f"Expecting value at line 1 column {column}"
        assert stop.text == "..." + text[column - 1 - 500:column - 1 + 500] + "..."


@pytest.mark.parametrize("pack", [gzip.compress, zlib.compress])
def test_a_compressed_file_is_read_as_a_stream(tmp_path, pack):
    elements_ = [{"i": i, "s": "é[,]" * (i % 5)} for i in range(300)]
    (tmp_path / "in.json.gz").write_bytes(pack(json.dumps(elements_).encode()))
    assert [json.loads(raw) for raw in _found(tmp_path / "in.json.gz", 3)] == elements_


@pytest.mark.parametrize("block", [1, 6, 1 << 20])
def test_chunks_from_any_row_are_the_rows_of_the_whole_reading(tmp_path, block):
    elements_ = [{"a": i, "s": f"é\n{i}"} if i % 7 else [i] for i in range(40)]
    (tmp_path / "in.json").write_text(json.dumps(elements_, indent=1, ensure_ascii=False), encoding="utf-8")
    split = json_split(str(tmp_path / "in.json"), block)
    dtypes = {"a": pl.Int64, "s": pl.String}
    whole = pl.concat([frame for _, _, frame in split.chunks(0, 1000, dtypes, ["a", "s"])])
    assert whole.height == 40 and whole["s"][1] == "é\n1" and whole[RAW_ERROR][7].startswith("json: ")
    for first in (0, 1, 13, 39, 40):
        got = list(split.chunks(first, 6, dtypes, ["a", "s"]))
        assert [(at, rows) for at, rows, _ in got] == [(at, min(6, 40 - at)) for at in range(first, 40, 6)]
        assert pl.concat([frame for _, _, frame in got]).equals(whole.slice(first)) if got else first == 40
    split.close()


@pytest.mark.parametrize("block", [1, 1 << 20])
def test_a_sample_scans_only_its_objects(tmp_path, block):
    (tmp_path / "in.json").write_bytes(b'[1, {"a": 1},\n{"a": 2}, {"a": 3}, \xff oops')
    assert json_sample(str(tmp_path / "in.json"), 2, block) == ['{"a": 1}', '{"a": 2}']
    with pytest.raises(pl.exceptions.ComputeError, match="not UTF-8"):
        json_sample(str(tmp_path / "in.json"), 4, block)
