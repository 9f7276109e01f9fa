"""`flowc validate` reports every problem, not the first (SPEC §10), structural errors included: what a
structural error leaves meaningful is still checked, and what it makes doubtful is not echoed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli

SOURCE = """\
version: 1
pipeline: {name}
sources:
  s:
    type: inline
    schema: {{a: int, status: string}}
    records: [{{a: 1, status: x}}]
{source_extra}steps:
  - filter: status > 3
  - map:
      b: amout + 1
      c: nofunc(a)
  - filter: a >
sinks:
  o: {sink}
{extra}"""


def errors(tmp_path: Path, **parts: str) -> list[str]:
    values = {"name": "p", "source_extra": "", "sink": "{type: file, path: out/o.jsonl}", "extra": ""} | parts
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(SOURCE.format(**values))
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 1
    return [line.split(": ", 1)[0].removeprefix(f"{spec}:") + " " + line.split("error[")[1][:4]
            for line in result.output.splitlines() if ": error[" in line]


EXPRESSIONS = ["9:13 E220", "11:10 E104", "12:10 E105", "13:16 E201"]


def test_a_bad_name_and_an_unknown_key_hide_nothing(tmp_path):
    assert errors(tmp_path, name="Bad_Name", extra="extra: 1\n") == ["2:11 E410", *EXPRESSIONS, "16:1 E401"]


def test_an_unknown_key_in_a_source_is_not_echoed_by_the_source_checks(tmp_path):
    """`pth` for `path` leaves the source without a path: 'format cannot be told' would only echo it."""
    spec = SOURCE.replace("    type: inline\n    schema: {{a: int, status: string}}\n    records: [{{a: 1, status: x}}]\n",
                          "    type: file\n    pth: in.csv\n    schema: {{a: int, status: string}}\n")
    path = tmp_path / "p.flow.yaml"
    path.write_text(spec.format(name="p", source_extra="", sink="{type: file, path: out/o.jsonl}", extra=""))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    codes = [line.split("error[")[1][:4] for line in result.output.splitlines() if ": error[" in line]
    assert codes == ["E401", "E220", "E104", "E105", "E201"]


def test_a_sink_missing_its_path_hides_nothing_of_the_steps(tmp_path):
    assert errors(tmp_path, sink="{type: file}") == [*EXPRESSIONS, "15:3 E402"]


def test_after_a_broken_source_only_the_expressions_syntax_is_checked(tmp_path):
    """A source with a mistyped key cannot give the steps a schema: field and type errors would be
    guesses; a syntax error is one whatever the schema."""
    assert errors(tmp_path, source_extra="    infer_rows: many\n") == ["8:17 E403", "14:16 E201"]


def _file_source(tmp_path: Path, fetch: str) -> list[str]:
    spec = SOURCE.replace("    type: inline\n    schema: {{a: int, status: string}}\n    records: [{{a: 1, status: x}}]\n",
                          "    type: file\n    path: in.csv\n    schema: {{a: int, status: string}}\n")
    path = tmp_path / "p.flow.yaml"
    path.write_text(spec.format(name="p", source_extra=fetch, sink="{type: file, path: out/o.jsonl}", extra=""))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    return [line.split("error[")[1][:4] for line in result.output.splitlines() if ": error[" in line]


def test_a_mistyped_fetch_key_of_a_source_hides_nothing_of_the_steps(tmp_path):
    """`watch: yes` (YAML 1.2: a string, not true) says when records come, not what they hold: the
    steps still read the source's declared fields, so their mistakes are all reported."""
    assert _file_source(tmp_path, "    watch: yes\n") == ["E403", "E220", "E104", "E105", "E201"]


def test_a_mistyped_schema_still_hides_the_field_checks(tmp_path):
    """A schema of the wrong type leaves the steps without fields: only syntax errors are reported."""
    spec = SOURCE.replace("    schema: {{a: int, status: string}}\n", "    schema: [a, status]\n")
    path = tmp_path / "p.flow.yaml"
    path.write_text(spec.format(name="p", source_extra="", sink="{type: file, path: out/o.jsonl}", extra=""))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    codes = [line.split("error[")[1][:4] for line in result.output.splitlines() if ": error[" in line]
    assert codes == ["E403", "E201"]
