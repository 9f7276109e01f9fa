"""Two outputs of one step under one name are E310 at validation, and `flowc run` stops on them with the
diagnostic (no traceback, nothing written) rather than failing with a Polars DuplicateError or silently
losing a value (acceptance audit A3). Empty target names are E413 as rename's are (A11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli

HEAD = """\
version: 1
pipeline: p
sources:
  s:
    type: inline
    records: [{id: 1, items: [a, null, b], a: 1, b: {x: 5, y: 6}, u: {x: 1}}, {id: 2, items: [], a: 2, b: null, u: null}]
steps:
"""
SINK = "sinks:\n  o: {type: file, path: o.jsonl}\n"
STEP_LINE = 8  # the line of the first step in HEAD


def _write(tmp_path: Path, step: str, head: str = HEAD) -> Path:
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(head + f"  - {step}\n" + SINK, encoding="utf-8")
    return spec


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


COLLISIONS = [
    ("select: [a, id, a]", "select: [a, id, ", "select lists 'a' twice"),
    ("select: {u.x: a, u: b}", "select: {u.x: a, ",
     "select sets 'u' and also 'u.x' inside it; select 'u' alone and set 'u.x' in a map after it"),
    ("select: {u: b, u.x: a}", "select: {u: b, ",
     "select sets 'u' and also 'u.x' inside it; select 'u' alone and set 'u.x' in a map after it"),
    ("map: {u.x: a, u: b}", "map: {u.x: a, ", "map sets 'u' after 'u.x', replacing the value set there; write 'u' first"),
    ("explode: {field: items, as: id}", "explode: {field: items, as: ",
     "explode's 'as' 'id' is already a field of the input; give it another name (or drop or rename 'id' "
     "before the explode)"),
    ("explode: {field: items, index: id}", "explode: {field: items, index: ",
     "explode's 'index' 'id' is already a field of the input; give it another name (or drop or rename 'id' "
     "before the explode)"),
    ("explode: {field: items, as: x, index: x}", "explode: {field: items, as: x, index: ",
     "explode's 'index' and 'as' are both 'x'; give them different names"),
    ("explode: {field: items, index: items}", "explode: {field: items, index: ",
     "explode's 'index' 'items' is the list field itself; give 'index' another name"),
    ("explode: {field: items, as: x, index: items}", "explode: {field: items, as: x, index: ",
     "explode's 'index' 'items' is the list field itself; give 'index' another name"),
    ("aggregate: {by: [a], compute: {a: count()}}", "aggregate: {by: [a], compute: {a: ",
     "aggregate computes 'a', but 'a' is a 'by' field of its output; name the computed field otherwise"),
    ("aggregate: {by: [a, id, a], compute: {n: count()}}", "aggregate: {by: [a, id, ", "aggregate 'by' lists 'a' twice"),
]


def _expected(spec: Path, before: str, message: str, code: str = "E310") -> str:
    return f"{spec}:{STEP_LINE}:{len('  - ' + before) + 1}: error[{code}]: {message}"


@pytest.mark.parametrize(("step", "before", "message"), COLLISIONS, ids=[c[0] for c in COLLISIONS])
def test_a_name_collision_is_e310_at_the_name_in_validate_and_run(tmp_path, step, before, message) -> None:
    spec = _write(tmp_path, step)
    checked = _invoke("validate", str(spec))
    assert checked.exit_code == 1, checked.output
    assert _expected(spec, before, message) in checked.output
    ran = _invoke("run", str(spec))
    assert ran.exit_code == 1, ran.output
    assert _expected(spec, before, message) in ran.output
    assert "Traceback" not in ran.output and "DuplicateError" not in ran.output
    assert not (tmp_path / "o.jsonl").exists()


def test_validate_json_gives_the_span_of_the_colliding_name(tmp_path) -> None:
    spec = _write(tmp_path, "explode: {field: items, as: id}")
    found = json.loads(_invoke("validate", "--format", "json", str(spec)).output)
    assert [(d["code"], d["line"], d["col"], d["end_col"]) for d in found] == [("E310", 8, 33, 35)]


FEED = """\
version: 1
pipeline: p
sources:
  s: {type: file, path: in.jsonl}
steps:
"""


@pytest.mark.parametrize("step", ["explode: {field: items, as: id}", "explode: {field: items, index: id}"])
def test_without_a_schema_the_collision_is_found_once_the_data_tells_the_fields(tmp_path, step) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": 1, "items": ["a", "b"]}\n', encoding="utf-8")
    spec = _write(tmp_path, step, head=FEED)
    key = step.split(", ")[1].split(":")[0]
    message = (f"explode's '{key}' 'id' is already a field of the input; give it another name (or drop or "
               f"rename 'id' before the explode)")
    where = f"{spec}:6:{len('  - ' + step) - 2}: error[E310]: {message}"
    checked = _invoke("validate", str(spec))
    assert checked.exit_code == 0 and "N301" in checked.output, checked.output
    with_data = _invoke("validate", "--with-data", str(spec))
    assert with_data.exit_code == 1 and where in with_data.output, with_data.output
    ran = _invoke("run", str(spec))
    assert ran.exit_code == 1, ran.output
    assert where in ran.output and "checked against the schemas inferred from the data" in ran.output
    assert "Traceback" not in ran.output and "DuplicateError" not in ran.output
    assert not (tmp_path / "o.jsonl").exists()


NO_COLLISION = [
    ("explode: {field: items, as: items, index: n}",
     [{"id": 1, "items": "a", "a": 1, "b": {"x": 5, "y": 6}, "u": {"x": 1}, "n": 0}]),
    ("explode: {field: items, as: id2, index: n}",
     [{"id": 1, "id2": "a", "a": 1, "b": {"x": 5, "y": 6}, "u": {"x": 1}, "n": 0}]),
    ("map: {u: b, u.x: a}", [{"id": 1, "items": ["a", None, "b"], "a": 1, "b": {"x": 5, "y": 6}, "u": {"x": 1, "y": 6}}]),
    ("select: {u.x: a, u.y: id}", [{"u": {"x": 1, "y": 1}}]),
]


@pytest.mark.parametrize(("step", "first"), NO_COLLISION, ids=[c[0] for c in NO_COLLISION])
def test_names_that_do_not_collide_pass_and_run(tmp_path, step, first) -> None:
    spec = _write(tmp_path, step)
    checked = _invoke("validate", str(spec))
    assert checked.exit_code == 0, checked.output
    ran = _invoke("run", str(spec))
    assert ran.exit_code == 0, ran.output
    lines = (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == first[0]


EMPTY = [
    ('map: {"": a}', "map: {", "a target of 'map' in step 1 must not be empty"),
    ('select: {"": a}', "select: {", "a target of 'select' in step 1 must not be empty"),
    ('map: {id: a, "u..x": a}', "map: {id: a, ", "each name in the target 'u..x' of 'map' in step 1 must not be empty"),
    ('map: {"u.": a}', "map: {", "each name in the target 'u.' of 'map' in step 1 must not be empty"),
]


@pytest.mark.parametrize(("step", "before", "message"), EMPTY, ids=[c[0] for c in EMPTY])
def test_an_empty_target_name_is_e413_as_in_rename(tmp_path, step, before, message) -> None:
    spec = _write(tmp_path, step)
    for command in ("validate", "run"):
        result = _invoke(command, str(spec))
        assert result.exit_code == 1, result.output
        assert _expected(spec, before, message, code="E413") in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_a_nested_target_under_a_non_struct_names_the_full_path(tmp_path) -> None:
    spec = _write(tmp_path, "map: {u.x.y: 3}")
    result = _invoke("validate", str(spec))
    assert result.exit_code == 1
    assert f"{spec}:8:11: error[E310]: cannot set 'u.x.y': 'u.x' is int, not a struct" in result.output
