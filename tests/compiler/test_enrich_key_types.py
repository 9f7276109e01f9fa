"""The enrich table checked against its input: key types (E314), the table's fields (E104), and that
validation reads the table only under --with-data."""

from __future__ import annotations

import pytest
from spec_helpers import found, graph_of

from flowc.compiler.checks.fields import propagate_schemas
from flowc.dsl import types as t
from flowc.dsl.types import Struct


def spec(key_value: str, table: str, on: str = "{left: k, right: code}", fields: str = "") -> str:
    return f"""version: 1
pipeline: p
sources:
  orders: {{type: inline, records: [{{id: 1, k: {key_value}}}]}}
steps:
  - {{name: geo, enrich: {{table: {table}, on: {on}{fields}}}}}
sinks:
  out: {{type: console}}
"""


def declared(types: str) -> str:
    return f"{{type: file, path: t.csv, schema: {{{types}}}}}"


@pytest.mark.parametrize("key_value, table_key, input_type", [
    ("42", "string", "int"),
    ("x", "int", "string"),
    ("2026-01-01T00:00:00Z", "date", "string"),  # inline ISO text stays text (no date guessing)
    ("true", "float", "bool"),
    ("1.5", "int", None),  # int and float compare by value
    ("42", "float", None),
    ("x", "string", None),
    ("2026-01-01T00:00:00Z", "datetime", "string"),
])
def test_key_types_must_be_able_to_hold_equal_values(key_value, table_key, input_type):
    text = spec(key_value, declared(f"code: {table_key}, name: string"))
    e314 = [(line, col, message) for line, col, code, message in found(text) if code == "E314"]
    if input_type is None:
        assert e314 == []
    else:
        col = text.splitlines()[5].index("k, right") + 1
        assert e314 == [(6, col, f"enrich key 'k' is {input_type} but 'code' in table 't.csv' is {table_key}; "
                                 "convert one of them so that they can match")]


def test_a_single_on_names_both_keys_and_the_caret_is_under_it():
    text = spec("42", declared("k: string"), on="k")
    assert [(f[0], f[1], f[2]) for f in found(text) if f[2] == "E314"] == [(6, text.splitlines()[5].index("on: k") + 5,
                                                                           "E314")]


def test_a_key_or_field_the_table_lacks_is_an_unknown_field():
    text = spec("42", declared("cod: int, name: string"), fields=", fields: [name, nmae]")
    assert [f[3] for f in found(text) if f[2] == "E104"] == [
        "unknown field 'code' in enrich table 't.csv'; did you mean 'cod'?",
        "unknown field 'nmae' in enrich table 't.csv'; did you mean 'name'?",
    ]


def test_added_fields_come_in_fields_order_with_the_table_types():
    text = spec("42", declared("code: int, name: string, pop: float"), fields=", fields: [pop, name]")
    assert propagate_schemas(graph_of(text))[0]["geo"] == Struct(
        (("id", t.INT), ("k", t.INT), ("pop", t.FLOAT), ("name", t.STRING)))


def test_a_table_file_that_exists_is_sampled_for_the_key_check_and_a_missing_one_is_not_an_error(tmp_path):
    """Issue 5: a key type mismatch is reported at compile time, by `flowc validate` too, with or without
    --with-data, when the table's file can be read; without the file (CI linting specs alone) the table
    goes unchecked until the run reads it."""
    text = spec("42", "{type: file, path: t.csv}")
    file = str(tmp_path / "p.flow.yaml")
    assert [f for f in found(text, file=file) if f[2] in ("E314", "E104")] == []  # no file yet
    (tmp_path / "t.csv").write_text("code,name\nde,Germany\n")
    mismatch = ["enrich key 'k' is int but 'code' in table 't.csv' is string; convert one of them so that they can match"]
    assert [f[3] for f in found(text, file=file) if f[2] == "E314"] == mismatch
    assert [f[3] for f in found(text, with_data=True, file=file) if f[2] == "E314"] == mismatch
    (tmp_path / "t.csv").write_text("code,name\n1,one\n")
    assert [f for f in found(text, file=file) if f[2] == "E314"] == []


def test_with_data_leaves_an_unreadable_table_unchecked(tmp_path):
    text = spec("42", "{type: file, path: missing.csv}")
    assert [f for f in found(text, with_data=True, file=str(tmp_path / "p.flow.yaml")) if f[2].startswith("E")] == []
