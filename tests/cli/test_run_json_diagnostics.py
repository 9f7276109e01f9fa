"""`flowc run --log-format json` prints compile errors as JSON lines too (audit 5 G5): one
`{"event": "diagnostic", ...}` object per problem with `flowc validate --format json`'s keys, so a
log collector that parses every stderr line as JSON does not break on a spec error."""

from __future__ import annotations

import json
import textwrap

from click.testing import CliRunner

from flowc.cli import cli

BAD = """\
    version: 1
    pipeline: bad
    sources:
      s: {type: inline, records: [{a: 1}]}
    steps:
      - filter: b > 1
      - map: {c: nope + 1}
    sinks:
      o: {type: file, path: o.jsonl}
    """

INFERRED = """\
    version: 1
    pipeline: m
    sources:
      s: {type: file, path: in.jsonl}
    steps:
      - filter: a > 1
    sinks:
      o: {type: file, path: o.jsonl}
    """


def _json_lines(stderr: str) -> list[dict]:
    lines = stderr.splitlines()
    assert lines, "nothing on stderr"
    return [json.loads(line) for line in lines]  # fails on any text line


def test_compile_errors_are_json_lines_with_the_validate_json_keys(tmp_path):
    path = tmp_path / "bad.flow.yaml"
    path.write_text(textwrap.dedent(BAD))
    result = CliRunner().invoke(cli, ["run", "--log-format", "json", str(path)])
    assert result.exit_code == 1
    problems = _json_lines(result.stderr)
    validated = CliRunner().invoke(cli, ["validate", "--format", "json", str(path)])
    expected = json.loads(validated.stdout)
    assert len(expected) == 2 and expected[0]["code"] == "E104"
    assert problems == [{"event": "diagnostic", **d} for d in expected]
    assert (problems[0]["line"], problems[0]["col"], problems[0]["severity"]) == (6, 13, "error")
    assert not (tmp_path / "o.jsonl").exists()


def test_type_errors_against_inferred_schemas_are_json_lines_too(tmp_path):
    (tmp_path / "in.jsonl").write_text('{"a": "x"}\n')
    path = tmp_path / "m.flow.yaml"
    path.write_text(textwrap.dedent(INFERRED))
    result = CliRunner().invoke(cli, ["run", "--log-format", "json", str(path)])
    assert result.exit_code == 1
    problems = _json_lines(result.stderr)
    assert [(p["event"], p["code"]) for p in problems] == [("diagnostic", "E220")]
    assert "inferred" in problems[0]["notes"][0]
    dry = CliRunner().invoke(cli, ["run", "--dry-run", "--log-format", "json", str(path)])
    assert dry.exit_code == 1 and _json_lines(dry.stderr)[0]["code"] == "E220"


def test_text_log_format_keeps_the_diagnostic_block(tmp_path):
    path = tmp_path / "bad.flow.yaml"
    path.write_text(textwrap.dedent(BAD))
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 1
    assert "bad.flow.yaml:6:13: error[E104]: unknown field 'b' in filter" in result.stderr
    assert "^" in result.stderr


def test_a_set_argument_error_is_a_json_line_naming_the_argument(tmp_path):
    path = tmp_path / "ok.flow.yaml"
    path.write_text(textwrap.dedent(INFERRED).replace("file, path: in.jsonl", "inline, records: [{a: 2}]"))
    result = CliRunner().invoke(cli, ["run", "--log-format", "json", str(path), "--set", "settings.batch_size=abc"])
    assert result.exit_code == 1
    [problem] = _json_lines(result.stderr)
    assert (problem["file"], problem["col"], problem["code"]) == ("--set settings.batch_size=abc", 27, "E403")
