"""Loading spec files: YAML 1.2 core schema, spans and scalar maps, keys, tags, and the E0xx codes."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from flowc.dsl.loader import load_document, load_text
from flowc.dsl.scalar_spans import LineIndex
from flowc.dsl.source import Document
from flowc.dsl.span import Span, TextRange
from flowc.dsl.yaml12 import compose
from flowc.dsl.yaml_core import resolve_plain

FIXTURE = Path(__file__).parent / "fixtures" / "realistic.flow.yaml"
ENV = {"STATE_ROOT": "/var/flow"}


def load(text: str, env: dict[str, str] | None = None) -> tuple[Document | None, list]:
    return load_text(textwrap.dedent(text), "t.flow.yaml", env=env or {})


def data(text: str) -> object:
    doc, problems = load(text)
    assert doc is not None and not problems, problems
    return doc.data


def codes_at(problems: list) -> list[tuple[str, int, int]]:
    return [(p.code, p.span.line, p.span.col) for p in problems]


def char_at(doc: Document, line: int, col: int) -> str:
    return doc.text.splitlines()[line - 1][col - 1]


# --- the YAML 1.2 core schema ---

@pytest.mark.parametrize(("written", "value"), [
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False),
    ("on", "on"), ("off", "off"), ("yes", "yes"), ("no", "no"), ("y", "y"), ("NO", "NO"), ("tRUE", "tRUE"),
    ("null", None), ("Null", None), ("NULL", None), ("~", None), ("", None), ("nULL", "nULL"),
    ("0", 0), ("-12", -12), ("+3", 3), ("007", 7), ("0o17", 15), ("0x1F", 31), ("0x1f", 31),
    ("0b101", "0b101"), ("0o8", "0o8"), ("-0x1F", "-0x1F"), ("1_000", "1_000"),
    ("1.5", 1.5), ("-.5", -0.5), ("1.", 1.0), ("1e3", 1000.0), ("+1.5E-2", 0.015),
    (".inf", math.inf), ("-.Inf", -math.inf), ("+.INF", math.inf), ("1:20", "1:20"), ("190:20:30", "190:20:30"),
    ("2026-01-01", "2026-01-01"), ("2026-01-01T00:00:05Z", "2026-01-01T00:00:05Z"), ("=", "="),
    ("1s", "1s"), ("100MB", "100MB"), ("<<x", "<<x"),
])
def test_plain_scalars_follow_the_yaml_1_2_core_schema(written: str, value: object) -> None:
    assert data(f"k: {written}\n")["k"] == value
    assert type(data(f"k: {written}\n")["k"]) is type(value)


def test_nan_is_a_float_and_quoted_scalars_are_always_strings() -> None:
    assert math.isnan(data("k: .nan\n")["k"]) and math.isnan(data("k: .NaN\n")["k"])
    assert data("a: 'true'\nb: \"5\"\nc: 'null'\nd: \"\"\n") == {"a": "true", "b": "5", "c": "null", "d": ""}


@given(st.integers())
def test_every_int_reads_back(n: int) -> None:
    assert resolve_plain(str(n)) == n
    if n >= 0:
        assert resolve_plain(hex(n)) == n and resolve_plain(oct(n)) == n


@given(st.floats(allow_nan=False))
def test_every_float_repr_reads_back(x: float) -> None:
    text = repr(x).replace("inf", ".inf")
    assert resolve_plain(text) == x


def test_on_as_a_key_stays_the_string_a_person_meant() -> None:
    assert data("on: user_id\ncountry: NO\n") == {"on": "user_id", "country": "NO"}


# --- spans in a realistic spec ---

@pytest.fixture(scope="module")
def realistic() -> Document:
    doc, problems = load_document(FIXTURE, env=ENV)
    assert problems == [] and doc is not None
    return doc


@pytest.mark.parametrize(("path", "line", "col", "first"), [
    (("version",), 2, 10, "1"),
    (("pipeline",), 3, 11, "o"),
    (("description",), 4, 14, ">"),
    (("settings",), 10, 3, "b"),
    (("settings", "state_dir"), 12, 14, '"'),
    (("settings", "dead_letter"), 14, 16, "{"),
    (("settings", "dead_letter", "path"), 14, 35, "o"),
    (("sources", "orders", "path"), 19, 11, "'"),
    (("sources", "orders", "options", "null_values", 1), 21, 63, '"'),
    (("sources", "orders", "schema"), 23, 7, "o"),
    (("sources", "replay", "schema"), 36, 13, "*"),
    (("steps", 1), 41, 5, "f"),
    (("steps", 1, "filter"), 41, 13, "s"),
    (("steps", 3, "map", "label"), 48, 14, '"'),
    (("steps", 4, "sql"), 51, 10, "|"),
    (("steps", 5, "aggregate", "compute", "avg_basket"), 63, 21, "a"),
    (("tests", 0, "inputs", "orders", 0, "on"), 78, 101, "y"),
])
def test_value_spans_point_at_the_first_character_written(realistic: Document, path, line, col, first) -> None:
    span = realistic.value_spans[path]
    assert (span.line, span.col) == (line, col)
    assert char_at(realistic, line, col) == first


def _paths(value: object, path: tuple = ()) -> list[tuple[tuple, object]]:
    found = [(path, value)]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        found.extend(_paths(child, (*path, key)))
    return found


def test_every_value_and_key_has_a_span_and_every_string_a_map(realistic: Document) -> None:
    everything = _paths(realistic.data)
    assert set(realistic.value_spans) == {path for path, _ in everything}
    assert set(realistic.key_spans) == {path for path, _ in everything if path and isinstance(path[-1], str)}
    assert set(realistic.scalar_maps) == {path for path, value in everything if isinstance(value, str)}


def test_key_spans_cover_the_key(realistic: Document) -> None:
    assert realistic.key_spans[("settings", "batch_size")] == Span(str(FIXTURE), 10, 3, 10, 13)
    assert realistic.key_spans[("sources", "orders", "schema", "on")] == Span(str(FIXTURE), 28, 7, 28, 9)
    assert realistic.key_span(("steps", 0)) == realistic.value_spans[("steps", 0)]


def test_collection_spans_end_where_their_last_value_ends(realistic: Document) -> None:
    assert realistic.value_spans[("settings",)] == Span(str(FIXTURE), 10, 3, 14, 50)
    assert realistic.value_spans[("steps", 5, "aggregate", "window")] == Span(str(FIXTURE), 59, 15, 59, 41)
    sql = realistic.value_spans[("steps", 4, "sql")]
    assert (sql.end_line, sql.end_col) == (55, 22)


def test_an_alias_has_its_own_span_and_its_anchors_inner_spans(realistic: Document) -> None:
    orders, replay = realistic.data["sources"]["orders"]["schema"], realistic.data["sources"]["replay"]["schema"]
    assert orders == replay and orders is not replay
    assert realistic.value_spans[("sources", "replay", "schema", "ts")] == \
        realistic.value_spans[("sources", "orders", "schema", "ts")]


def test_an_alias_of_an_anchored_key_has_a_scalar_map() -> None:
    doc, problems = load("&k name: x\ncopy: *k\n")
    assert not problems and doc.data == {"name": "x", "copy": "name"}
    assert doc.scalar_maps[("copy",)].position(0) == (1, 4) and doc.value_spans[("copy",)].col == 7


def test_substituted_values_keep_what_was_written(realistic: Document) -> None:
    assert realistic.data["settings"]["batch_size"] == 5000
    assert realistic.data["settings"]["state_dir"] == "/var/flow/order-analytics"
    assert realistic.data["sources"]["replay"]["bootstrap_servers"] == "localhost:9092"
    assert realistic.shown(("settings", "state_dir")) == "${STATE_ROOT}/order-analytics"
    assert realistic.shown(("settings", "batch_size")) == "${BATCH_SIZE:-5000}"
    assert ("settings", "batch_size") not in realistic.scalar_maps  # an int has no scalar map


@pytest.mark.parametrize(("path", "needle"), [
    (("steps", 1, "filter"), "amount"),
    (("steps", 3, "map", "label"), "to_string"),
    (("steps", 3, "map", "label"), "order_id"),
    (("steps", 3, "map", "note"), "small"),
    (("steps", 4, "sql"), "total"),
    (("steps", 4, "sql"), "WHERE"),
    (("description",), "validation"),
    (("sources", "replay", "bootstrap_servers"), "9092"),
    (("settings", "state_dir"), "order-analytics"),
])
def test_an_expression_range_maps_to_its_place_in_the_file(realistic: Document, path, needle: str) -> None:
    value = realistic.data[path[0]]
    for key in path[1:]:
        value = value[key]
    start = value.rindex(needle)
    span = realistic.scalar_maps[path].span(TextRange(start, start + len(needle)))
    line = realistic.text.splitlines()[span.line - 1]
    assert line[span.col - 1:span.end_col - 1] == needle


def test_every_string_scalar_of_the_fixture_maps_each_letter_to_itself(realistic: Document) -> None:
    for path, smap in realistic.scalar_maps.items():
        value = realistic.data
        for key in path:
            value = value[key]
        if path in realistic.written:
            continue  # inserted text points at its ${...}, tested in test_env
        for offset, char in enumerate(value):
            if char.isascii() and char.isalnum():
                assert char_at(realistic, *smap.position(offset)) == char, (path, offset)


def test_both_pyyaml_parsers_give_the_same_document() -> None:
    index = LineIndex(FIXTURE.read_text(encoding="utf-8"))
    fast, _ = compose(index, "f", loader=yaml.CBaseLoader)
    pure, _ = compose(index, "f", loader=yaml.BaseLoader)
    assert fast is not None and pure is not None
    assert fast.data == pure.data and fast.value_spans == pure.value_spans and fast.key_spans == pure.key_spans
    assert {p: m.anchors for p, m in fast.scalar_maps.items()} == {p: m.anchors for p, m in pure.scalar_maps.items()}


# --- scalar maps, every style ---

def test_double_quoted_escapes_shift_columns() -> None:
    doc, _ = load('k: "a\\tb\\x41c\\u00e9d\\U0001F600e\\"f"\n')
    assert doc.data["k"] == 'a\tbAcédz😀e"f'.replace("z", "")
    smap = doc.scalar_maps[("k",)]
    assert [smap.position(doc.data["k"].index(c)) for c in "abcdef"] == [
        (1, 5), (1, 8), (1, 13), (1, 20), (1, 31), (1, 34)]
    assert smap.position(1) == (1, 6)  # the tab comes from the backslash of \t


def test_single_quoted_doubled_quote() -> None:
    doc, _ = load("k: 'it''s ok'\n")
    smap = doc.scalar_maps[("k",)]
    assert doc.data["k"] == "it's ok" and smap.position(3) == (1, 9) and smap.position(5) == (1, 11)


def test_block_scalars_start_on_the_next_line() -> None:
    doc, _ = load("a:\n  k: |\n    one\n      two\n  f: >-\n    three\n    four\n\n    five\n")
    lit, fold = doc.scalar_maps[("a", "k")], doc.scalar_maps[("a", "f")]
    assert doc.data["a"] == {"k": "one\n  two\n", "f": "three four\nfive"}
    assert lit.position(0) == (3, 5) and lit.position(4) == (4, 5) and lit.position(6) == (4, 7)
    assert fold.position(0) == (6, 5) and fold.position(6) == (7, 5) and fold.position(11) == (9, 5)


def test_explicit_indentation_indicator() -> None:
    doc, _ = load("k: |2\n    x\n   y\n")
    assert doc.data["k"] == "  x\n y\n"
    assert doc.scalar_maps[("k",)].position(2) == (2, 5) and doc.scalar_maps[("k",)].position(5) == (3, 4)


def test_multi_line_plain_and_quoted_scalars_fold() -> None:
    doc, _ = load('a: one\n  two\n\n  three\nb: "x\n   y\\\n   z"\n')
    assert doc.data == {"a": "one two\nthree", "b": "x yz"}
    a, b = doc.scalar_maps[("a",)], doc.scalar_maps[("b",)]
    assert a.position(4) == (2, 3) and a.position(8) == (4, 3)
    assert b.position(2) == (6, 4) and b.position(3) == (7, 4)


def test_anchored_and_tagged_scalars_are_positioned_past_their_properties() -> None:
    doc, _ = load("a: &x !!str hello\nb: ! world\n")
    assert doc.value_spans[("a",)].col == 13 and doc.scalar_maps[("a",)].position(0) == (1, 13)
    assert doc.value_spans[("b",)].col == 6 and doc.data["b"] == "world"


def test_crlf_line_endings_and_a_bom() -> None:
    doc, problems = load_text(b"\xef\xbb\xbfa: 1\r\nb: |\r\n  x y\r\n", "t")
    assert not problems and doc.data == {"a": 1, "b": "x y\n"}
    assert doc.value_spans[("a",)].col == 4  # the byte order mark takes no column
    assert doc.scalar_maps[("b",)].position(2) == (3, 5)


_WORD = st.text("abcxyz019", min_size=1, max_size=6)
_SEP = st.sampled_from([" ", "  ", "\n", "\n\n"])


@st.composite
def scalar_text(draw: st.DrawFn) -> tuple[str, str]:
    """A scalar written in one of YAML's five styles, indented by 8, with words and line breaks."""
    style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded"]))
    words = draw(st.lists(_WORD, min_size=1, max_size=8))
    seps = [draw(_SEP) for _ in words[1:]]
    pad = " " * 8
    if style in ("literal", "folded"):
        body = "".join(w + ("\n" + pad + " " * draw(st.integers(0, 2)) if s.startswith("\n") else s)
                       for w, s in zip(words, [*seps, ""], strict=True))
        return style, (">" if style == "folded" else "|") + "\n" + pad + body.rstrip() + "\n"
    if style == "double":
        escapes = st.sampled_from(["\\t", "\\n", "\\\\", '\\"', "\\x2D", "\\u00e9", "\\U0001F600", "\\/", "\\\n" + pad])
        words = [draw(escapes) + w if draw(st.booleans()) else w for w in words]
    if style == "single":
        words = [w + "''" if draw(st.booleans()) else w for w in words]
    text = words[0] + "".join(s.replace("\n", "\n" + pad) + w for s, w in zip(seps, words[1:], strict=True))
    if style == "plain":
        return style, "x" + text.replace("\n" + pad + "\n", "\n\n")
    quote = '"' if style == "double" else "'"
    return style, quote + text + quote


@given(st.lists(scalar_text(), min_size=1, max_size=4), st.booleans())
def test_scalar_maps_point_each_letter_at_itself(scalars: list[tuple[str, str]], in_list: bool) -> None:
    lines = ["top:"]
    for i, (_, written) in enumerate(scalars):
        lines.append(f"  - k{i}: {written}" if in_list else f"  k{i}: {written}")
    doc, problems = load_text("\n".join(lines) + "\n", "h.yaml", env={})
    assert doc is not None and not problems
    for i in range(len(scalars)):
        path = ("top", i, f"k{i}") if in_list else ("top", f"k{i}")
        value = doc.data["top"][i][f"k{i}"] if in_list else doc.data["top"][f"k{i}"]
        smap = doc.scalar_maps[path]
        for offset, char in enumerate(value):
            if char.isascii() and char.isalnum():
                assert char_at(doc, *smap.position(offset)) == char, (scalars[i], offset)


# --- keys ---

def test_duplicate_key_is_refused_at_the_second_key_and_the_first_value_kept() -> None:
    doc, problems = load("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")
    assert codes_at(problems) == [("E012", 4, 3), ("E012", 5, 1)]
    assert problems[0].message == "duplicate key 'c' (first defined on line 3)"
    assert doc.data == {"a": 1, "b": {"c": 2}}


def test_int_keys_read_as_written_other_non_string_keys_are_refused() -> None:
    doc, problems = load("404: not found\n0x1F: hex\ntrue: t\n~: n\n1.5: f\n[a]: l\n{a: 1}: m\nok: 1\n")
    assert doc.data == {"404": "not found", "0x1F": "hex", "ok": 1}
    assert codes_at(problems) == [("E013", 3, 1), ("E013", 4, 1), ("E013", 5, 1), ("E013", 6, 1), ("E013", 7, 1)]
    assert problems[0].message == "mapping keys must be strings, got a bool; write it in quotes: 'true'"
    assert problems[3].message == "mapping keys must be strings, got a list"


def test_quoted_keys_are_strings() -> None:
    assert data("'true': 1\n\"404\": 2\n'null': 3\n") == {"true": 1, "404": 2, "null": 3}


def test_merge_keys_are_refused() -> None:
    doc, problems = load("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n'<<': quoted is a plain key\n")
    assert codes_at(problems) == [("E014", 3, 3)]
    assert doc.data["other"] == {"y": 2} and doc.data["<<"] == "quoted is a plain key"


def test_keys_are_not_substituted() -> None:
    doc, problems = load_text("${A}: ${A}\n", "t", env={"A": "x"})
    assert not problems and doc.data == {"${A}": "x"}


# --- tags ---

def test_core_tags_are_read_and_others_refused() -> None:
    doc, problems = load("a: !!str 5\nb: !!int '7'\nc: !!float 2\nd: !!bool true\ne: !!null ''\n"
                         "f: !!int x\ng: !foo bar\nh: !!binary aGk=\ni: !!map {x: 1}\nj: !!set {x}\n")
    assert doc.data == {"a": "5", "b": 7, "c": 2.0, "d": True, "e": None, "f": "x", "g": "bar", "h": "aGk=",
                        "i": {"x": 1}, "j": {"x": None}}
    assert codes_at(problems) == [("E015", 6, 4), ("E015", 7, 4), ("E015", 8, 4), ("E015", 10, 4)]
    assert problems[0].message == "'x' is not a valid !!int"
    assert problems[1].message.startswith("unsupported tag '!foo'; ")


# --- the document's shape (E013) ---

@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty; a spec is a YAML mapping"),
    ("# only a comment\n", "the file is empty; a spec is a YAML mapping"),
    ("---\n", "the file is empty; a spec is a YAML mapping"),
    ("- a\n- b\n", "the top level of a spec must be a mapping, got a list"),
    ("just text\n", "the top level of a spec must be a mapping, got a string"),
    ("42\n", "the top level of a spec must be a mapping, got an int"),
])
def test_a_spec_is_one_mapping(text: str, message: str) -> None:
    doc, problems = load_text(text, "t")
    assert doc is None and [(p.code, p.message) for p in problems] == [("E013", message)]


def test_a_second_document_is_refused_and_the_first_still_checked() -> None:
    doc, problems = load("a: 1\n---\nb: 2\n")
    assert doc is not None and doc.data == {"a": 1}
    assert codes_at(problems) == [("E013", 2, 1)]


# --- E002 syntax errors ---

@pytest.mark.parametrize(("text", "line", "col", "message"), [
    ("a: b: c\n", 1, 5, "invalid YAML: mapping values are not allowed in this context"),
    ("a:\n  - x\n y: 2\n", 3, 2, "invalid YAML: did not find expected key while parsing a block mapping started on line 1"),
    ("a: [x, y\n", 2, 1, "invalid YAML: did not find expected ',' or ']' while parsing a flow sequence started on line 1"),
    ('a: "x\n', 2, 1, "invalid YAML: found unexpected end of stream while scanning a quoted scalar started on line 1"),
    ("a: *nope\n", 1, 4, "invalid YAML: undefined alias '*nope'"),
])
def test_syntax_errors_are_positioned_and_worded(text: str, line: int, col: int, message: str) -> None:
    doc, problems = load_text(text, "t")
    assert doc is None and [(p.code, p.span.line, p.span.col, p.message) for p in problems] == [
        ("E002", line, col, message)]


def test_a_tab_in_the_indentation_gets_a_hint() -> None:
    _, problems = load_text("a:\n\t- b\n", "t")
    assert codes_at(problems) == [("E002", 2, 1)] and "tabs" in problems[0].help
    assert problems[0].message == "invalid YAML: a tab character where YAML expects indentation or a value"
    assert not problems[0].message.endswith(".")


# --- E001, E003, E004, E005, E016, E017 ---

def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a: 1\n")
    for path, reason in [(tmp_path / "missing.flow.yaml", "no such file"), (tmp_path, "it is a folder"),
                         (tmp_path / "plain" / "x.flow.yaml", "not a directory")]:
        doc, problems = load_document(path)
        assert doc is None and [(p.code, p.message) for p in problems] == [
            ("E001", f"cannot read '{path}': {reason}")]
        assert problems[0].span == Span(str(path), 1, 1, 1, 1)


def test_the_path_as_given_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "s.flow.yaml").write_text("a: [1\n")
    monkeypatch.chdir(tmp_path)
    _, problems = load_document("./s.flow.yaml")
    assert problems[0].span.file == "./s.flow.yaml"


def test_invalid_utf8_is_positioned_at_its_byte() -> None:
    doc, problems = load_text(b"a: 1\nb: caf\xe9!\n", "t")
    assert doc is None and codes_at(problems) == [("E003", 2, 7)]
    assert problems[0].message == "file is not valid UTF-8: byte 0xe9 at offset 11"


def test_utf16_gets_a_hint() -> None:
    _, problems = load_text("a: 1\n".encode("utf-16"), "t")
    assert problems[0].code == "E003" and "UTF-16" in problems[0].help


@pytest.mark.parametrize(("char", "what"), [
    ("\x00", "a NUL character (U+0000)"), ("\x07", "a control character (U+0007)"),
    ("\x1b", "a control character (U+001B)"), ("\x7f", "a control character (U+007F)"),
    ("\x85", "a C1 control character (U+0085)"), ("\u2028", "a line separator (U+2028)"),
    ("\u202e", "a bidirectional-text control (U+202E)"), ("\ufeff", "a byte order mark (U+FEFF)"),
    ("\ufffe", "a noncharacter (U+FFFE)"),
])
def test_refused_characters_are_reported_where_they_are(char: str, what: str) -> None:
    doc, problems = load_text(f"a: 1\nb: x{char}y{char}\n", "t")
    assert doc is None and codes_at(problems) == [("E004", 2, 5)]
    assert problems[0].message == f"file contains {what}" and problems[0].notes == ("and 1 more such characters",)


def test_tabs_cr_and_ordinary_unicode_are_fine() -> None:
    assert data("a: 'x\ty'\r\nb: é中😀\n") == {"a": "x\ty", "b": "é中😀"}


def test_too_big_is_refused_before_decoding() -> None:
    doc, problems = load_text(b"a: " + b"\xff" * (5 << 20), "t")
    assert doc is None and [p.code for p in problems] == ["E005"]
    assert problems[0].message == "file is 5242883 bytes; the limit is 4194304"


def test_a_file_that_is_not_regular_is_read_only_up_to_the_limit() -> None:
    doc, problems = load_document("/dev/zero")
    assert doc is None and [p.message for p in problems] == ["file is more than 4194304 bytes; the limit is 4194304"]


def test_an_integer_too_long_for_python_is_refused_not_crashed() -> None:
    doc, problems = load("n: " + "9" * 5000 + "\nm: " + "9" * 4300 + "\nh: 0x" + "f" * 3600 + "\ni: 0x" + "f" * 3000
                         + "\n")
    assert codes_at(problems) == [("E016", 1, 4), ("E016", 3, 4)]
    assert problems[0].message == "integer of 5000 characters is too long (the limit is 4300 decimal digits)"
    assert doc.data["m"] == int("9" * 4300) and doc.data["i"] == int("f" * 3000, 16)
    assert len(str(doc.data["i"])) < 4300  # every int read can be printed


def test_text_with_lone_surrogates_is_refused() -> None:
    doc, problems = load_text("a: b\udcff\n", "stdin")
    assert doc is None and codes_at(problems) == [("E004", 1, 5)]
    assert problems[0].message == "file contains a lone surrogate (U+DCFF)"


def test_escapes_that_write_control_characters_are_refused() -> None:
    doc, problems = load('a: "x\\ey"\nb: "\\0\\u202E\\t"\n')
    assert [(p.code, p.span.line, p.span.col, p.message) for p in problems] == [
        ("E017", 1, 6, "escape '\\e' writes a control character (U+001B) into the value"),
        ("E017", 2, 5, "escape '\\0' writes a NUL character (U+0000) into the value"),
        ("E017", 2, 7, "escape '\\u202E' writes a bidirectional-text control (U+202E) into the value"),
    ]
    assert doc.data == {"a": "x\ufffdy", "b": "\ufffd\ufffd\t"}


def test_load_document_reads_pathlike_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "e.flow.yaml"
    spec.write_text("home: ${FLOWC_TEST_HOME}\n")
    monkeypatch.setenv("FLOWC_TEST_HOME", "/h")
    doc, problems = load_document(spec)
    assert not problems and doc.data == {"home": "/h"} and doc.file == os.fspath(spec)
