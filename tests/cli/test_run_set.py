"""`flowc run --set KEY=VALUE` (SPEC §10): values read as YAML 1.2, list items by index, and every
error naming the argument: a malformed one is a usage error (exit 2), one the spec then rejects exit 1
with the caret in the argument, never at `spec:1:1` or at the line of the value it replaced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]

SPEC = """\
version: 1
pipeline: s
description: ${DESC:-set tests}
sources:
  s:
    type: inline
    records:
      - {n: 1, a: x}
      - {n: 2, a: y}
      - {n: 3, a: z}
steps:
  - map:
      c: concat(a, "!")
sinks:
  o:
    type: console
    format: jsonl
"""


def write(folder: Path) -> Path:
    path = folder / "s.flow.yaml"
    path.write_text(SPEC)
    return path


def run(path: Path, *assignments: str, log_format: str = "json") -> subprocess.CompletedProcess:
    flags = [arg for a in assignments for arg in ("--set", a)]
    return subprocess.run([*FLOWC, "run", "--reset", "--log-format", log_format, str(path), *flags],
                          capture_output=True, text=True, timeout=120)


def test_values_are_yaml_1_2_and_list_items_are_reached_by_index(tmp_path):
    result = run(write(tmp_path), "settings.batch_size=2", "sources.s.records.0.a=yes",
                 "sources.s.records.1.a=", "steps.0.map.c=concat(a, '?')", "sources.s.records.2={n: 9, a: '${X}'}")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records == [{"n": 1, "a": "yes", "c": "yes?"}, {"n": 2, "a": "", "c": "?"},
                       {"n": 9, "a": "${X}", "c": "${X}?"}]  # `yes` is text in YAML 1.2; `${...}` as given
    first = json.loads(result.stderr.splitlines()[1])
    assert first["event"] == "batch committed" and first["read"] == 2  # settings.batch_size=2


def test_a_value_of_the_wrong_type_is_shown_in_its_argument(tmp_path):
    result = run(write(tmp_path), "settings.batch_size=abc", log_format="text")
    assert result.returncode == 1
    assert result.stderr == (
        "--set settings.batch_size=abc: error[E403]: 'batch_size' in settings must be an integer, got 'abc'\n"
        "  |\n"
        "1 | --set settings.batch_size=abc\n"
        "  |                           ^^^\n")


def test_an_unknown_key_is_shown_in_its_argument_with_a_suggestion(tmp_path):
    result = run(write(tmp_path), "settings.batch_size=5", "settings.batchsize=5", log_format="text")
    assert result.returncode == 1
    assert result.stderr.splitlines()[:4] == [
        "--set settings.batchsize=5: error[E401]: unknown key 'batchsize' in settings; did you mean 'batch_size'?",
        "  |",
        "1 | --set settings.batchsize=5",
        "  |                ^^^^^^^^^",
    ]


def test_a_replaced_value_is_not_reported_at_the_line_it_replaced(tmp_path):
    result = run(write(tmp_path), "sources.s.records=5", log_format="text")
    assert result.returncode == 1
    assert result.stderr.startswith("--set sources.s.records=5: error[E403]: 'records' in source 's' must be a "
                                    "list, got 5\n")
    assert "s.flow.yaml" not in result.stderr


def test_an_expression_error_in_a_value_points_inside_the_argument(tmp_path):
    result = run(write(tmp_path), "steps.0.map.c=concat(a, nope)", log_format="text")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "--set steps.0.map.c=concat(a, nope): error[E104]: unknown field 'nope' in map"
    assert lines[2:4] == ["1 | --set steps.0.map.c=concat(a, nope)", "  |                               ^^^^"]


def test_a_key_through_a_scalar_or_past_a_list_fails_naming_the_argument(tmp_path):
    path = write(tmp_path)
    through = run(path, "description.x=1")
    assert through.returncode == 1
    assert json.loads(through.stderr) == {"event": "error", "message": "--set description.x=1: 'description' is "
                                          "neither a mapping nor a list, so it has no 'x'"}
    past = run(path, "sources.s.records.3.n=1")
    assert past.returncode == 1
    assert "--set sources.s.records.3.n=1: 'sources.s.records.3' names no item of its list (3 items" in past.stderr


def test_a_malformed_argument_is_a_usage_error_before_the_spec_is_read(tmp_path):
    missing = tmp_path / "broken.flow.yaml"
    missing.write_text("version: [\n")  # never read: the arguments are checked first
    for argument, problem in [
        ("batch_size", "expected KEY=VALUE"), ("=5", "expected KEY=VALUE"), ("settings..batch_size=5", "expected KEY=VALUE"),
        ("settings.batch_size=[1", "the value is not valid YAML"),
        ("description='open", "the value is not valid YAML"),
    ]:
        result = run(missing, argument)
        assert result.returncode == 2, (argument, result.stderr)
        assert f"Error: --set {argument}: {problem}" in result.stderr
        assert "broken.flow.yaml" not in result.stderr
