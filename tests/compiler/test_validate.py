"""`validate_document` / `validate_path`: structure first, then every check, all diagnostics sorted;
and no well-formed spec makes validation crash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_helpers import document, found

from flowc.compiler.structure import check_structure
from flowc.compiler.validate import validate_document, validate_path
from flowc.dsl.diagnostics import Diagnostic, Severity

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_examples_validate_without_errors() -> None:
    for path in sorted(EXAMPLES.glob("*.flow.yaml")):
        _, diagnostics = validate_path(str(path), env={})
        assert [d for d in diagnostics if d.severity is not Severity.NOTE] == [], path.name


def test_structure_errors_stop_before_the_semantic_checks() -> None:
    text = "version: 1\npipeline: p\nsources:\n  a: {type: inline, records: []}\nsteps:\n  - {from: nope}\n" \
           "sinks:\n  o: {type: console}\n"
    assert [code for _, _, code, _ in found(text)] == ["E407"]


MISSPELLED = """\
version: 1
pipeline: p
sources:
  a: {{type: inline, records: [{{x: 1}}]}}
steps:
  - {step}
  - filter: {later}
sinks:
  o: {{type: console}}
"""


@pytest.mark.parametrize(("step", "later", "expected"), [
    # the misspelled step read as the operator meant: the step after it is still checked against its fields
    ("filtr: x > 0", "zz > 1", [(6, 5, "E401"), (7, 13, "E104")]),
    ("mapp: {y: x + 1}", "y > 1 and zz > 1", [(6, 5, "E401"), (7, 23, "E104")]),  # y is the map's, known
    ("selct: [x]", "x > 1", [(6, 5, "E401")]),
    ("mapp: {y: nope + 1}", "y > 1", [(6, 5, "E401")]),  # the broken step's own problems are echoes: left out
    ("frobnicate: x", "zz > 1", [(6, 5, "E401")]),  # nothing close: what it does is unknown, nothing checked after
])
def test_a_misspelled_operator_is_reported_and_the_steps_after_it_are_still_checked(
        step: str, later: str, expected: list[tuple[int, int, str]]) -> None:
    results = found(MISSPELLED.format(step=step, later=later))
    assert [(line, column, code) for line, column, code, _ in results] == expected
    assert "did you mean" in results[0][3] or step.startswith("frobnicate")


def test_every_problem_is_reported_sorted_by_position() -> None:
    text = """\
        version: 1
        pipeline: p
        sources:
          a: {type: inline, records: [{x: 1}]}
        steps:
          - {name: z, from: nope, filter: y > 1}
          - {name: w, from: a, filter: x > 1, on_error: dead_letter}
        sinks:
          o: {type: console, from: w}
          f: {type: file, from: w, path: out.bin}
        """
    results = found(text)
    assert [code for _, _, code, _ in results] == ["W301", "E101", "E304", "E309"]
    assert results == sorted(results)


def test_a_missing_spec_is_a_load_error(tmp_path: Path) -> None:
    doc, diagnostics = validate_path(str(tmp_path / "none.flow.yaml"), env={})
    assert doc is None and [d.code for d in diagnostics] == ["E001"]


def test_environment_is_substituted_before_validation(tmp_path: Path) -> None:
    spec = tmp_path / "p.flow.yaml"
    spec.write_text("version: 1\npipeline: p\nsources:\n  a: {type: inline, records: [{x: 1}]}\n"
                    "steps:\n  - filter: ${FIELD} > 1\nsinks:\n  o: {type: console}\n")
    assert validate_path(str(spec), env={"FIELD": "x"})[1] == []
    assert [d.code for d in validate_path(str(spec), env={"FIELD": "y"})[1]] == ["E104"]


@pytest.mark.parametrize(("expression", "shown"), [
    ("${FIELD} > 1", "unknown field '${FIELD}'"),
    ("${PREFIX}_amount > 1", "unknown field '${PREFIX}_amount'"),
])
def test_a_field_name_from_the_environment_is_shown_as_written(tmp_path: Path, expression: str,
                                                               shown: str) -> None:
    spec = tmp_path / "p.flow.yaml"
    spec.write_text("version: 1\npipeline: p\nsources:\n  a: {type: inline, records: [{x: 1}]}\n"
                    f"steps:\n  - filter: {expression}\nsinks:\n  o: {{type: console}}\n")
    secret = "s3cr3tvalue"
    [diagnostic] = validate_path(str(spec), env={"FIELD": secret, "PREFIX": secret})[1]
    assert diagnostic.code == "E104" and shown in diagnostic.message
    everything = " ".join([diagnostic.message, diagnostic.help or "", *diagnostic.notes])
    assert secret not in everything
    assert (diagnostic.span.line, diagnostic.span.col) == (6, 13)  # the caret points at the reference


# --- robustness: generated well-formed specs never crash validation ---

NAMES = st.sampled_from(["a", "b", "s", "f", "m", "agg", "u", "x"])
FIELDS = st.sampled_from(["x", "y", "ts", "items", "name"])
EXPRESSIONS = st.sampled_from(["x > 1", "y + 1", "upper(name)", "len(items)", "sum(x)", "x >", "ts + 5m",
                               "nosuch(x)", "if(x > 1, 'a', 'b')", "items[0]", "true", "coalesce(y, x)"])
SIDE = st.sampled_from(["", ".errors", ".late", ".bogus"])


def _input() -> st.SearchStrategy[str]:
    return st.builds(lambda n, s: n + s, NAMES, SIDE)


WINDOWS = st.one_of(
    st.none(),
    st.builds(lambda s: {"type": "tumbling", "size": s}, st.sampled_from(["0s", "1m", "1h"])),
    st.builds(lambda s, e: {"type": "sliding", "size": s, "every": e},
              st.sampled_from(["10m", "1d"]), st.sampled_from(["1s", "3m", "1m"])),
    st.builds(lambda g, t: {"type": "session", "gap": g, **({"time": t} if t else {})},
              st.sampled_from(["5m"]), st.one_of(st.none(), FIELDS)),
)

OPERATORS = st.one_of(
    st.builds(lambda e: {"filter": e}, EXPRESSIONS),
    st.builds(lambda d: {"map": d}, st.dictionaries(st.sampled_from(["x", "z", "user.tier", "x.y"]), EXPRESSIONS,
                                                    min_size=1, max_size=3)),
    st.builds(lambda fs: {"select": fs}, st.lists(FIELDS, min_size=1, max_size=3)),
    st.builds(lambda fs: {"drop": fs}, st.lists(FIELDS, min_size=1, max_size=2)),
    st.builds(lambda a, b: {"rename": {a: b}}, FIELDS, FIELDS),
    st.builds(lambda f: {"explode": f}, FIELDS),
    st.builds(lambda e: {"validate": {"rule": e}}, EXPRESSIONS),
    st.builds(lambda by, w, e: {"aggregate": {"by": by, **({"window": w} if w else {}), "compute": {"n": e}}},
              st.lists(FIELDS, max_size=2), WINDOWS, EXPRESSIONS),
    st.builds(lambda k: {"dedupe": {"key": [k], "within": "1m"}}, FIELDS),
    st.builds(lambda a, b: {"union": [a, b]}, _input(), _input()),
    st.builds(lambda q: {"sql": q}, st.sampled_from(["SELECT x FROM input", "SELECT count(*) FROM input",
                                                     "SELECT * FROM read_csv('x.csv')", "SELEC"])),
    st.builds(lambda k: {"enrich": {"table": {"type": "file", "path": "t.csv"}, "on": k, "fields": ["name"]}},
              FIELDS),
)

SOURCES = st.one_of(
    st.just({"type": "inline", "records": [{"x": 1, "y": 2.5, "ts": "2026-01-01T00:00:00Z", "items": [1],
                                            "name": "n"}], "event_time": {"field": "ts"}}),
    st.just({"type": "file", "path": "nowhere/*.csv", "schema": {"x": "int", "ts": "datetime"}}),
    st.just({"type": "file", "path": "nowhere/*.dat"}),
    st.just({"type": "kafka", "topic": "t", "bootstrap_servers": "h:1"}),
    st.just({"type": "generate", "fields": {"x": "_n", "name": "to_string(_n)"}}),
)


@st.composite
def specs(draw: st.DrawFn) -> str:
    steps = []
    for name, operator in draw(st.lists(st.tuples(st.one_of(st.none(), NAMES), OPERATORS), max_size=5)):
        step = dict(operator)
        if name:
            step["name"] = name
        if draw(st.booleans()) and "union" not in step:
            step["from"] = draw(_input())
        if draw(st.booleans()):
            step["on_error"] = draw(st.sampled_from(["fail", "skip", "dead_letter"]))
        steps.append(step)
    sinks = {f"o{i}": {"type": "console", **({"from": draw(_input())} if draw(st.booleans()) else {})}
             for i in range(draw(st.integers(1, 2)))}
    spec = {
        "version": 1, "pipeline": "p",
        "settings": {"on_error": draw(st.sampled_from(["fail", "dead_letter"]))},
        "sources": draw(st.dictionaries(NAMES, SOURCES, min_size=1, max_size=2)),
        "steps": steps, "sinks": sinks,
        "tests": [{"name": "t", "inputs": {draw(NAMES): []}, "expect": {draw(_input()): []}}],
    }
    return yaml.safe_dump(spec, sort_keys=False)


@settings(max_examples=min(settings().max_examples, 200), suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_validation_never_crashes_on_well_formed_specs(text: str) -> None:
    doc = document(text)
    diagnostics = validate_document(doc)
    assert all(isinstance(d, Diagnostic) and d.span is not None for d in diagnostics)
    if not check_structure(doc):
        assert diagnostics == sorted(diagnostics, key=Diagnostic.sort_key)


@pytest.mark.parametrize(("source", "expected"), [
    ("{type: file, path: a.jsonl, options: {delimiter: ';', header: false}}",
     [("W304", "source 'a' reads jsonl files: its options ('delimiter', 'header') apply to csv only and are ignored")]),
    ("{type: file, path: a.txt, format: text, options: {encoding: latin-1}}",
     [("W304", "source 'a' reads text files: its options ('encoding') apply to csv only and are ignored")]),
    ("{type: file, path: a.csv, options: {delimiter: ';'}}", []),
    ("{type: file, path: a.tsv, format: csv, options: {delimiter: \"\\t\"}}", []),
    ("{type: file, path: a.parquet}", []),
])
def test_csv_options_on_another_format_are_a_warning(source: str, expected: list[tuple[str, str]]) -> None:
    text = (f"version: 1\npipeline: p\nsources:\n  a: {source}\nsinks:\n  o: {{type: console}}\n")
    assert [(code, message) for _, _, code, message in found(text) if code != "N301"] == expected


def test_csv_options_of_an_enrich_table_of_another_format_are_a_warning() -> None:
    text = """\
version: 1
pipeline: p
sources:
  a: {type: inline, records: [{k: 1}]}
steps:
  - enrich: {table: {type: file, path: t.parquet, options: {quote: "'"}, schema: {k: int, v: string}}, on: k}
sinks:
  o: {type: console}
"""
    assert [(line, column, code) for line, column, code, _ in found(text)] == [(6, 60, "W304")]  # at its options
