"""The structural check (E4xx): the JSON Schema accepts the whole language and words every mistake.

Bad specs live in `tests/diagnostics/E4*.flow.yaml`, their expected diagnostics inline
(`key: value  # E401:5 unknown key ...`, read by `tests/diagnostic_examples.py`); here they go through
the structural check alone (`tests/test_diagnostic_examples.py` runs them through `flowc validate`).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from diagnostic_examples import example_files, expectations
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from flowc.compiler.structure import check_structure, infer_format
from flowc.compiler.structure_text import quoted_list, value_at
from flowc.dsl import codes
from flowc.dsl.loader import load_text
from flowc.dsl.source import Document
from flowc.dsl.span import Span
from flowc.schemas import load_schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [path for path in example_files() if path.name.startswith("E4")]
EVERY_KEY = Path(__file__).parent / "fixtures" / "every_key.flow.yaml"


def document(text: str, file: str = "spec.flow.yaml", env: dict[str, str] | None = None) -> Document:
    doc, problems = load_text(text, file, env=env or {})
    assert doc is not None and problems == [], problems
    return doc


def found(doc: Document) -> set[tuple[int, int, str, str]]:
    return {(d.span.line, d.span.col, d.code, d.message) for d in check_structure(doc)}


# --- the schema itself ---


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_load_schema_gives_a_fresh_copy_of_the_shipped_file() -> None:
    first = load_schema()
    first["properties"].clear()
    assert load_schema()["properties"], "a caller's edit leaked into the next load"
    assert schema_text().lstrip().startswith("{")


def _subschemas(schema: Any, path: str = "#") -> list[tuple[str, dict]]:
    """Every schema inside `schema` (itself included), with its JSON pointer."""
    if not isinstance(schema, dict):
        return []
    found = [(path, schema)]
    for key in ("$defs", "properties"):
        for name, sub in schema.get(key, {}).items():
            found += _subschemas(sub, f"{path}/{key}/{name}")
    for key in ("items", "additionalProperties", "propertyNames"):
        found += _subschemas(schema.get(key), f"{path}/{key}")
    for i, sub in enumerate(schema.get("oneOf", [])):
        found += _subschemas(sub, f"{path}/oneOf/{i}")
    return found


def test_every_definition_and_property_is_described_for_editors() -> None:
    schema = load_schema()
    undescribed = [name for name, d in schema["$defs"].items() if "description" not in d]
    assert undescribed == []
    for path, sub in _subschemas(schema):
        for key, prop in sub.get("properties", {}).items():
            described = "description" in prop or key == "type" or "$ref" in prop
            assert described, f"{path}/properties/{key} has no description"


def test_every_keyword_the_schema_uses_has_wording() -> None:
    annotations = {"$schema", "$ref", "$defs", "title", "description", "markdownDescription", "examples",
                   "properties", "items", "propertyNames"}
    used = {key for _, sub in _subschemas(load_schema()) for key in sub} - annotations
    from flowc.compiler import structure

    worded = {name.removeprefix("on_") for name in dir(structure._Checker) if name.startswith("on_")}
    assert used <= worded, used - worded


def test_every_one_of_is_dispatched_on_type_or_is_a_choice_of_keys() -> None:
    schema = load_schema()
    for path, sub in _subschemas(schema):
        for branch in sub.get("oneOf", []):
            if set(branch) == {"required"}:
                continue
            target = schema["$defs"][branch["$ref"].removeprefix("#/$defs/")]
            assert isinstance(target["properties"]["type"]["const"], str), path
            assert target["properties"]["type"]["const"] in sub["properties"]["type"]["enum"], path


# --- valid specs ---


def test_a_spec_using_every_key_passes_without_a_word() -> None:
    doc = document(EVERY_KEY.read_text())
    assert check_structure(doc) == []


def test_the_every_key_spec_does_use_every_key_of_the_schema() -> None:
    keys_in_schema = {key for _, sub in _subschemas(load_schema()) for key in sub.get("properties", {})}
    keys_in_spec: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            keys_in_spec.update(value)
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(document(EVERY_KEY.read_text()).data)
    assert keys_in_schema - keys_in_spec == set()


def test_spec_example_of_the_language_passes() -> None:
    spec = ROOT / "tests" / "compiler" / "fixtures" / "spec_section_1.flow.yaml"
    assert check_structure(document(spec.read_text())) == []


# --- bad specs, one file per code and variant ---


def test_every_structure_code_has_an_example() -> None:
    shown = {code for path in EXAMPLES for (_, _, code, _) in expectations(path)}
    assert shown == {code for code in codes.CODES if code.startswith("E4")}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name.removesuffix(".flow.yaml") for p in EXAMPLES])
def test_bad_spec_gives_exactly_the_expected_diagnostics(path: Path) -> None:
    assert found(document(path.read_text(), path.name)) == expectations(path)


def test_every_diagnostic_has_its_file_and_a_clean_message() -> None:
    for path in EXAMPLES:
        for d in check_structure(document(path.read_text(), path.name)):
            assert d.span is not None and d.span.file == path.name
            assert not d.message[0].isupper() and not d.message.endswith(".")
            assert "is not valid under" not in d.message and "is a required property" not in d.message


# --- one mistake, one diagnostic; secrets stay hidden ---


def test_misspelled_required_key_is_reported_once_as_unknown() -> None:
    text = "version: 1\npipeline: p\nsources:\n  s: {type: inline, recrods: []}\nsinks:\n  o: {type: console}\n"
    assert found(document(text)) == {
        (4, 21, "E401", "unknown key 'recrods' in source 's'; did you mean 'records'?"),
    }


def test_unrelated_unknown_key_does_not_hide_a_missing_one() -> None:
    text = "version: 1\npipeline: p\nsources:\n  s: {type: inline, colour: red}\nsinks:\n  o: {type: console}\n"
    assert found(document(text)) == {
        (4, 21, "E401", "unknown key 'colour' in source 's'"),
        (4, 3, "E402", "missing required key 'records' in source 's'"),
    }


def test_a_misspelled_type_key_is_one_unknown_key_not_a_missing_type() -> None:
    text = "version: 1\npipeline: p\nsources:\n  s: {tpye: file, path: a.csv}\nsinks:\n  o: {type: console}\n"
    assert found(document(text)) == {(4, 7, "E401", "unknown key 'tpye' in source 's'; did you mean 'type'?")}


def test_substituted_values_are_shown_as_written() -> None:
    text = "version: 1\npipeline: p\nsettings:\n  batch_size: ${BATCH}\n  on_error: ${POLICY}\nsources:\n" \
           "  s: {type: inline, records: []}\nsinks:\n  o: {type: console}\n"
    messages = {d.message for d in check_structure(document(text, env={"BATCH": "0", "POLICY": "hunter2"}))}
    assert messages == {
        "invalid value '${BATCH}' for 'batch_size' in settings; expected at least 1",
        "invalid value '${POLICY}' for 'on_error' in settings; expected one of 'fail', 'skip', 'dead_letter'",
    }


def test_a_top_level_that_is_not_a_mapping_is_one_type_error() -> None:
    # The loader refuses such a file (E013); the check still words it rather than failing.
    at = Span("spec.flow.yaml", 1, 1, 2, 4)
    doc = Document("spec.flow.yaml", "- a\n- b\n", ["a", "b"], value_spans={(): at})
    assert found(doc) == {(1, 1, "E403", "the spec must be a mapping, got a list")}


def test_empty_entries_are_type_errors_not_crashes() -> None:
    text = "version: 1\npipeline: p\nsources:\n  s:\nsteps:\n  -\nsinks:\n  o: {type: kafka, topic: t, bootstrap_servers: b}\n"
    assert found(document(text)) == {
        (4, 5, "E403", "source 's' must be a mapping, got null"),
        (6, 4, "E403", "step 1 must be a mapping, got null"),
    }


def test_diagnostics_come_in_file_order() -> None:
    path = ROOT / "tests" / "diagnostics" / "E403_wrong_types.flow.yaml"
    lines = [d.span.line for d in check_structure(document(path.read_text()))]
    assert lines == sorted(lines) and len(lines) == 4


# --- helpers other phases use ---


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data/orders/*.csv", "csv"),
        ("out/x.jsonl", "jsonl"),
        ("in.json", "json"),
        ("a/b.parquet", "parquet"),
        ("logs/app.txt", "text"),
        ("logs/app.txt.gz", "text"),
        ("events.jsonl.gz", "jsonl"),
        ("events.ndjson", "jsonl"),
        ("DATA.CSV", "csv"),
        ("in/*.log", None),
        ("in/*", None),
        ("archive.gz", None),
        ("data.csv.zip", None),
    ],
)
def test_infer_format_reads_the_extension(path: str, expected: str | None) -> None:
    assert infer_format(path) == expected


def test_quoted_list_joins_with_the_last_word() -> None:
    assert quoted_list(["a", "b", "c"], last="and") == "'a', 'b' and 'c'"
    assert quoted_list(["a", "b"]) == "'a', 'b'"
    assert quoted_list(["a"], last="or") == "'a'"


# --- any damage to a valid spec is worded, never raised ---

_EVERY_KEY_DOC = document(EVERY_KEY.read_text())
_PATHS = sorted((path for path in _EVERY_KEY_DOC.value_spans if path), key=repr)
_JUNK = st.sampled_from([None, 0, -1, 3.5, True, "", "x", "1 minute", "Bad Name", [], [1], {}, {"zz": 1}])


def _damaged(data: Any, path: tuple, how: str, junk: Any) -> Any:
    data = copy.deepcopy(data)
    *parents, last = path
    holder = value_at(data, tuple(parents))
    if how == "replace":
        holder[last] = junk
    elif how == "delete":
        del holder[last]
    elif isinstance(holder, dict):  # misspell the key
        holder[f"{last}x"] = holder.pop(last)
    return data


@given(path=st.sampled_from(_PATHS), how=st.sampled_from(["replace", "delete", "rename"]), junk=_JUNK)
def test_any_damage_to_a_valid_spec_is_worded_not_raised(path: tuple, how: str, junk: Any) -> None:
    doc = dataclasses.replace(_EVERY_KEY_DOC, data=_damaged(_EVERY_KEY_DOC.data, path, how, junk))
    for d in check_structure(doc):
        assert d.code.startswith("E4") and d.span is not None
        assert not any(raw in d.message for raw in ("is not valid under", "is a required property", "is not of type"))
