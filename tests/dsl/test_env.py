"""`${NAME}` / `${NAME:-default}` substitution: values, positions, re-reading, errors, and secrecy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.dsl.env import substitute
from flowc.dsl.loader import load_text
from flowc.dsl.source import Document


def load(text: str, env: dict[str, str]) -> tuple[Document, list]:
    doc, problems = load_text(text, "e.flow.yaml", env=env)
    assert doc is not None
    return doc, problems


def char_at(doc: Document, line: int, col: int) -> str:
    return doc.text.splitlines()[line - 1][col - 1]


@pytest.mark.parametrize(("written", "env", "value"), [
    ("${A}", {"A": "x"}, "x"),
    ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
    ("${A}${B}", {"A": "1", "B": "2"}, "12"),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": "v"}, "v"),
    ("${A:-d}", {"A": ""}, "d"),  # as in the shell, `:-` also covers an empty variable
    ("${A}", {"A": ""}, ""),
    ("${A:-}", {}, ""),
    ("${A:-a b:-c}", {}, "a b:-c"),
    ("${_a1}", {"_a1": "ok"}, "ok"),
    ("$${A}", {"A": "x"}, "${A}"),
    ("$$${A}", {"A": "x"}, "$${A}"),
    ("$${${A}", {"A": "x"}, "${x"),
    ("$A $$ {A} $", {"A": "x"}, "$A $$ {A} $"),
    ("${A}", {"A": "${B}"}, "${B}"),  # an inserted value is never substituted again
])
def test_substitution(written: str, env: dict[str, str], value: str) -> None:
    done = substitute(written, env)
    assert done.value == value and done.problems == ()


@pytest.mark.parametrize(("written", "code", "start", "end", "message"), [
    ("${NOPE}", "E010", 0, 7, "'NOPE'"),
    ("a ${B} ${NOPE} c", "E010", 7, 14, "'NOPE'"),
    ("x ${", "E011", 2, 4, "'${' without a closing '}'"),
    ("${}", "E011", 0, 3, "'${}' names no variable"),
    ("${1X}", "E011", 0, 5, "'1X' is not a variable name"),
    ("${A:x}", "E011", 0, 6, "'A:x' is not a variable name"),
    ("${A-x}", "E011", 0, 6, "'A-x' is not a variable name"),
    ("${ A}", "E011", 0, 5, "' A' is not a variable name"),
    ("${A:-${B}}", "E011", 0, 9, "a default cannot contain '${'"),
])
def test_problems_are_located_in_the_written_value(written: str, code: str, start: int, end: int,
                                                   message: str) -> None:
    done = substitute(written, {"B": "b"})
    [problem] = done.problems
    assert (problem.code, problem.start, problem.end) == (code, start, end)
    assert message in str(problem.args)


def test_unset_variable_is_reported_at_its_columns_and_the_document_still_loads() -> None:
    doc, problems = load("settings:\n  state_dir: /data/${ROOT}/x\n  other: ${ALSO_UNSET}\n", {})
    assert [(p.code, p.span.line, p.span.col, p.span.end_col, p.message) for p in problems] == [
        ("E010", 2, 20, 27, "environment variable 'ROOT' is not set and has no default"),
        ("E010", 3, 10, 23, "environment variable 'ALSO_UNSET' is not set and has no default"),
    ]
    assert doc.data["settings"] == {"state_dir": "/data/${ROOT}/x", "other": "${ALSO_UNSET}"}


def test_malformed_reference_is_reported_in_a_quoted_scalar_after_escapes() -> None:
    doc, problems = load('k: "\\t${1X} ${Y}"\n', {"Y": "y"})
    assert [(p.code, p.span.col, p.span.end_col) for p in problems] == [("E011", 7, 12)]
    assert doc.data["k"] == "\t${1X} y"


@pytest.mark.parametrize(("written", "value"), [
    ("${V:-5000}", 5000), ("${V:-0x10}", 16), ("${V:-1.5}", 1.5), ("${V:-true}", True), ("${V:-off}", "off"),
    ("${V:-}", ""), ("${V:-~}", None), ("${V:-null}", None), ("${V:-1:20}", "1:20"), ("${V:-[a, b]}", "[a, b]"),
    ("'${V:-5000}'", 5000), ('"${V:-5000}"', 5000), ("|\n  ${V:-5000}", "5000\n"),
    ("x${V:-5000}", "x5000"), ("${V:-5}${V:-0}", "50"), ("${V:-5} ", 5),
])
def test_a_scalar_that_is_one_reference_is_read_again_as_yaml(written: str, value: object) -> None:
    """SPEC §1, plain or quoted (a flow mapping needs the quotes: `{batch_size: "${BS:-5000}"}`); a
    block scalar and longer text stay text."""
    doc, problems = load(f"k: {written}\n", {})
    assert not problems
    assert doc.data["k"] == value and type(doc.data["k"]) is type(value)
    assert doc.written[("k",)].startswith("${") or doc.written[("k",)].startswith("x")


def test_spaces_around_a_variable_s_value_go_when_it_reads_as_a_number_and_stay_in_text() -> None:
    doc, problems = load("a: ${N}\nb: '${N}'\nc: ${T}\n", {"N": " 7\t", "T": " x "})
    assert not problems
    assert doc.data == {"a": 7, "b": 7, "c": " x "}


def test_an_empty_variable_that_is_the_whole_scalar_is_the_empty_string_as_in_the_shell() -> None:
    doc, problems = load("a: ${E}\nb: ${E:-}\nc: ${U:-}\nd: x${E}\n", {"E": ""})
    assert not problems
    assert doc.data == {"a": "", "b": "", "c": "", "d": "x"}
    assert doc.written == {("a",): "${E}", ("b",): "${E:-}", ("c",): "${U:-}", ("d",): "x${E}"}


def test_inserted_text_is_never_yaml_structure() -> None:
    doc, _ = load("a: ${V}\n", {"V": "{b: 1}\nc: [d]"})
    assert doc.data == {"a": "{b: 1}\nc: [d]"}


def test_written_keeps_the_reference_and_only_for_changed_values() -> None:
    doc, _ = load("a: ${A}\nb: plain\nc: $${not}\n", {"A": "secret"})
    assert doc.written == {("a",): "${A}", ("c",): "$${not}"}
    assert doc.shown(("a",)) == "${A}" and doc.shown(("b",)) == "plain"


def test_inserted_characters_map_within_the_reference() -> None:
    doc, _ = load("k: ab ${LONG} ${S} cd\n", {"LONG": "0123456789abcdef", "S": "z"})
    smap = doc.scalar_maps[("k",)]
    assert doc.data["k"] == "ab 0123456789abcdef z cd"
    assert [smap.position(i) for i in (0, 3, 4, 9, 18, 20, 22)] == [
        (1, 4), (1, 7), (1, 8), (1, 13), (1, 13), (1, 15), (1, 20)]
    assert char_at(doc, 1, 20) == "c"


def test_aliases_copy_the_substituted_value_and_report_once() -> None:
    doc, problems = load("a: &x ${A}/${NOPE}\nb: *x\nc: [*x]\n", {"A": "v"})
    assert doc.data == {"a": "v/${NOPE}", "b": "v/${NOPE}", "c": ["v/${NOPE}"]}
    assert [p.code for p in problems] == ["E010"]
    assert doc.written[("b",)] == doc.written[("c", 0)] == "${A}/${NOPE}"


_NAMES = st.sampled_from(["A", "B", "SECRET", "_x1"])
_LITERAL = st.text(st.sampled_from("ab01 -_/.:$}"), max_size=6).filter(lambda t: not t.endswith("$"))


@st.composite
def template(draw: st.DrawFn) -> tuple[str, list]:
    """A written value made of literal text, references, and `$${` escapes; with its expected pieces."""
    written, pieces = "", []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["literal", "ref", "default", "escape"]))
        if kind == "literal":
            text = draw(_LITERAL)
            written += text
            pieces.append(("text", text))
        elif kind == "escape":
            written += "$${"
            pieces.append(("text", "${"))
        else:
            name = draw(_NAMES)
            default = draw(st.text("xyz9 ", max_size=3)) if kind == "default" else None
            written += "${" + name + (f":-{default}" if default is not None else "") + "}"
            pieces.append(("ref", name, default))
    return written, pieces


@given(template(), st.dictionaries(_NAMES, st.text("QRSTUVW", max_size=4)))
def test_substitution_replaces_exactly_the_references(case: tuple[str, list], env: dict[str, str]) -> None:
    written, pieces = case
    expected, unset = "", []
    for piece in pieces:
        if piece[0] == "text":
            expected += piece[1]
            continue
        _, name, default = piece
        value = env.get(name) or default if default is not None else env.get(name)
        if value is None:
            unset.append(name)
            value = "${" + name + (f":-{default}" if default is not None else "") + "}"
        expected += value
    done = substitute(written, env)
    assert done.value == expected
    assert [p.args["name"] for p in done.problems] == unset


@given(template(), st.text("QRSTUVW", min_size=3, max_size=8))
def test_a_substituted_value_never_appears_in_a_diagnostic(case: tuple[str, list], secret: str) -> None:
    written, _ = case
    text = (f"version: 1\nk: '{written}'\nl: ['{written}', '${{SECRET}}', '${{NOPE}}']\nl: again\n"
            f"m: ${{SECRET:-x}}${{\nn: ${{A}}\n")
    doc, problems = load_text(text, "s.flow.yaml", env={"SECRET": secret, "A": secret})
    assert doc is not None and {"E010", "E011", "E012"} <= {p.code for p in problems}
    for problem in problems:
        assert secret not in f"{problem.message} {problem.help} {problem.notes}"


@given(template(), st.dictionaries(_NAMES, st.text("QRSTUVW", min_size=1, max_size=12)))
def test_the_map_of_a_substituted_value_points_letters_at_themselves_and_values_at_their_reference(
        case: tuple[str, list], env: dict[str, str]) -> None:
    written, _ = case
    doc, _ = load_text(f"k: '{written}'\n", "m.flow.yaml", env=env)
    assert doc is not None
    value, smap = doc.data["k"], doc.scalar_maps[("k",)]
    line = doc.text.splitlines()[0]
    for segment in substitute(written, env).segments:
        for offset in range(segment.out_start, segment.out_end):
            assert smap.position(offset)[0] == 1
            col = smap.position(offset)[1]
            if segment.inserted:  # within the `${...}` it came from (written at column 5 on)
                assert segment.start + 5 <= col < segment.end + 5
            elif value[offset].isalnum():
                assert line[col - 1] == value[offset]
