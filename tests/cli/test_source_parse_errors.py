"""A source's parse errors reach the dead-letter sink or the reader of `<source>.errors` whatever the
source's fields (SPEC §3: a malformed line/row is a record error carrying the raw text, file and line;
§6). Audit 4 F1: with no field needing a conversion (all strings, inferred or declared, or one struct
field) the optimizer dropped `s.errors` as always empty, so the summary counted a dead-lettered
record that no file held. Audit 4 F15: a `json` file that does not parse at all is one record error
at `file:line` under the source's policy, not a bare JSONDecodeError failing the run."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli

DEAD = "settings: {on_error: dead_letter, dead_letter: {type: file, path: out/dead.jsonl}}\n"
ERRORS_SINK = "  e: {type: file, path: out/dead.jsonl, from: s.errors}\n"

# (data file, its text, the source's extra keys, the sinks' extra lines, settings, expected good records, error)
CASES = {
    "jsonl inferred strings, dead_letter": (
        "in.jsonl", '{"a": "x"}\n{"a": "y", b}\n{"a": "z"}\n', "", "", DEAD,
        [{"a": "x"}, {"a": "z"}], ("in.jsonl:2", '{"a": "y", b}')),
    "jsonl declared string, sink of s.errors": (
        "in.jsonl", '{"a": "x"}\n{"a": "y", b}\n{"a": "z"}\n', ", schema: {a: string}", ERRORS_SINK, "",
        [{"a": "x"}, {"a": "z"}], ("in.jsonl:2", '{"a": "y", b}')),
    "csv row of the wrong width": (
        "in.csv", "a,b\nx,y\nonly\nq,r\n", "", "", DEAD,
        [{"a": "x", "b": "y"}, {"a": "q", "b": "r"}], ("in.csv:3", "only")),
    "csv declared strings, sink of s.errors": (
        "in.csv", "a,b\nx,y\nonly\nq,r\n", ", schema: {a: string, b: string}", ERRORS_SINK, "",
        [{"a": "x", "b": "y"}, {"a": "q", "b": "r"}], ("in.csv:3", "only")),
    "jsonl with one struct field": (
        "in.jsonl", '{"u": {"t": "2026-01-01T00:00:00Z", "n": 1}}\n{"u": {"t": "bad", "n": 2}}\n',
        ", schema: {u: {t: datetime, n: int}}", "", DEAD,
        [{"u": {"t": "2026-01-01T00:00:00.000000Z", "n": 1}}], ("in.jsonl:2", '"t": "bad"')),
    "json file that does not parse, declared strings": (
        "in.json", '[{"a": "x"}, {"a": "y"},', ", schema: {a: string}", "", DEAD, [],
        ("in.json:1", 'malformed JSON (Expecting value at line 1 column 25): [{"a": "x"}, {"a": "y"},')),
    "json file that does not parse, declared int": (
        "in.json", '[\n  {"a": 1},\n  {"a": 2}\n  {"a": 3}\n]\n', ", schema: {a: int}", ERRORS_SINK, "", [],
        ("in.json:4", 'malformed JSON (Expecting \',\' delimiter at line 4 column 3):   {"a": 3}')),
}


def _spec(folder: Path, data: str, text: str, source: str, sinks: str, settings: str) -> Path:
    (folder / data).write_text(text, encoding="utf-8")
    spec = folder / "p.flow.yaml"
    spec.write_text(f"version: 1\npipeline: p\n{settings}sources:\n  s: {{type: file, path: {data}{source}}}\n"
                    f"sinks:\n  o: {{type: file, path: out/o.jsonl}}\n{sinks}", encoding="utf-8")
    return spec


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "no-optimize"])
def test_a_parse_error_reaches_the_error_output(tmp_path, name, optimize) -> None:
    data, text, source, sinks, settings, good, (position, raw) = CASES[name]
    spec = _spec(tmp_path, data, text, source, sinks, settings)
    ran = CliRunner().invoke(cli, ["run", str(spec), *([] if optimize else ["--no-optimize"])])
    assert ran.exit_code == 0, ran.output
    assert "dead-lettered=1" in ran.output and "Traceback" not in ran.output
    assert _lines(tmp_path / "out" / "o.jsonl") == good
    [error] = _lines(tmp_path / "out" / "dead.jsonl")
    assert error["_error"]["code"] == "parse" and error["_error"]["step"] == "s"
    assert raw in error["_error"]["message"]
    assert error["_source"] == {"name": "s", "position": position}


def test_plan_keeps_the_errors_of_an_all_string_source(tmp_path) -> None:
    spec = _spec(tmp_path, "in.csv", "a,b\nx,y\n", "", "", DEAD)
    planned = CliRunner().invoke(cli, ["plan", str(spec)])
    assert planned.exit_code == 0, planned.output
    assert "always-empty" not in planned.output and "dead_letter" in planned.output


def test_a_json_file_that_does_not_parse_fails_the_run_naming_it_under_on_error_fail(tmp_path) -> None:
    spec = _spec(tmp_path, "in.json", '[{"a": 1},', ", schema: {a: int}", "", "")
    ran = CliRunner().invoke(cli, ["run", str(spec)])
    assert ran.exit_code == 1, ran.output
    assert ("step 's' failed on the record at s in.json:1: parse: json: malformed JSON (Expecting value at "
            'line 1 column 11): [{"a": 1},') in ran.output
    assert "JSONDecodeError" not in ran.output


def test_the_other_json_files_of_a_glob_are_read_and_an_empty_one_holds_no_record(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    for name, text in {"1.json": '[{"a": 1}]', "2.json": '[{"a": 2},', "3.json": " \n", "4.json": '[{"a": 4}, {"a": "x"}]'}.items():
        (tmp_path / "d" / name).write_text(text, encoding="utf-8")
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(f"version: 1\npipeline: p\n{DEAD}" + textwrap.dedent("""\
        sources:
          s: {type: file, path: d/*.json, schema: {a: int}}
        sinks:
          o: {type: file, path: out/o.jsonl}
        """), encoding="utf-8")
    ran = CliRunner().invoke(cli, ["run", str(spec)])
    assert ran.exit_code == 0, ran.output
    assert _lines(tmp_path / "out" / "o.jsonl") == [{"a": 1}, {"a": 4}]
    errors = _lines(tmp_path / "out" / "dead.jsonl")
    assert [(e["_error"]["code"], e["_source"]["position"]) for e in errors] == [
        ("parse", "d/2.json:1"), ("conversion", "d/4.json[1]")]


def test_a_json_file_that_does_not_parse_cannot_give_a_schema(tmp_path) -> None:
    spec = _spec(tmp_path, "in.json", '[{"a": 1},', "", "", DEAD)
    ran = CliRunner().invoke(cli, ["run", str(spec)])
    assert ran.exit_code == 1, ran.output
    assert ("source 's': cannot infer a schema from in.json (json): malformed JSON (Expecting value at line 1 "
            "column 11); declare the source's schema, or fix the file") in ran.output
