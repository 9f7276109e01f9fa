"""`${NAME}` through the command (SPEC §1): an empty value is the empty string, as in the shell, and
no message shows what a reference inserted, in `validate` or in `run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]


def flowc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def write(folder: Path, body: str) -> Path:
    path = folder / "e.flow.yaml"
    path.write_text("version: 1\npipeline: e\n" + textwrap.dedent(body))
    return path


EMPTY = """\
description: ${D:-}
sources:
  s:
    type: inline
    records:
      - n: 1
        a: ${A}
        b: ${B:-}
steps:
  - map:
      c: concat(a, "-", b)
sinks:
  o:
    type: console
    format: jsonl
"""


def test_an_empty_value_or_default_is_the_empty_string_not_null(tmp_path):
    path = write(tmp_path, EMPTY)
    checked = flowc("validate", str(path), env={"A": ""})
    assert checked.returncode == 0, checked.stdout  # description: null was E403 'must be text'
    result = flowc("run", "--quiet", str(path), env={"A": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"n":1,"a":"","b":"","c":"-"}\n'


TOKENS = """\
sources:
  s:
    type: inline
    records:
      - {a: 1}
steps:
  - filter: a > ${LIMIT}
sinks:
  o:
    type: console
    format: jsonl
"""


def test_a_token_of_an_inserted_value_is_never_quoted_and_the_caret_sits_on_the_reference(tmp_path):
    path = write(tmp_path, TOKENS)
    for limit, code, col, shown in [("1 s3cret", "E202", 19, "unexpected '${LIMIT}' in expression"),
                                    ("1 + s3cret", "E104", 21, "unknown field '${LIMIT}' in filter"),
                                    ("s3cretfn(1)", "E105", 17, "unknown function '${LIMIT}'")]:
        result = flowc("validate", str(path), env={"LIMIT": limit})
        assert result.returncode == 1
        assert "s3cret" not in result.stdout
        lines = result.stdout.splitlines()
        assert lines[0].startswith(f"{path}:9:{col}: error[{code}]: {shown}"), lines[0]
        assert lines[2] == "9 |   - filter: a > ${LIMIT}"  # the line as written, never the value
        assert lines[3].index("^") + 1 - len("9 | ") == col


RUNTIME = """\
settings:
  state_dir: ${STATE}/st
sources:
  s:
    type: file
    path: ${DIR}/x.jsonl
    schema: {a: int}
sinks:
  o: {type: file, path: out/o.jsonl}
"""


def test_a_run_shows_no_inserted_value_in_its_errors_and_progress(tmp_path):
    path = write(tmp_path, RUNTIME)
    missing = flowc("run", str(path), env={"DIR": "hidden_dir", "STATE": "hidden_state"})
    assert missing.returncode == 1
    assert "no file matches '${DIR}/x.jsonl'" in missing.stderr
    (tmp_path / "hidden_dir").mkdir()
    (tmp_path / "hidden_dir/x.jsonl").write_text('{"a": 1}\n{"a": \n')
    for log_format in ("text", "json"):
        failed = flowc("run", "--log-format", log_format, str(path), env={"DIR": "hidden_dir", "STATE": "hidden_state"})
        assert failed.returncode == 1
        assert "hidden" not in failed.stderr, failed.stderr
        assert "${DIR}/x.jsonl:2" in failed.stderr and "${STATE}/st" in failed.stderr


def test_a_quoted_whole_reference_is_read_again_and_text_keys_keep_a_number_s_text(tmp_path):
    """SPEC §1: a scalar that is entirely one `${...}` is read again as a YAML scalar, quoted too (in a
    flow mapping the quotes are needed: an audit found `{batch_size: "${BS:-2}"}` refused as text);
    where a key wants text, a number a variable gave stays its text (`path: ${OUT}` with OUT=0123)."""
    spec = tmp_path / "e.flow.yaml"
    spec.write_text("version: 1\npipeline: e\nsettings: {batch_size: \"${FLOWC_T_BS:-2}\"}\n"
                    "sources:\n  s: {type: inline, records: [{x: 1}, {x: 2}, {x: 3}]}\n"
                    "sinks:\n  o: {type: file, format: jsonl, path: \"${FLOWC_T_OUT}\"}\n")
    env = {k: v for k, v in os.environ.items() if k != "FLOWC_T_BS"}
    result = subprocess.run([*FLOWC, "run", str(spec), "--quiet"], capture_output=True, text=True, timeout=120,
                            env={**env, "FLOWC_T_OUT": "0123"})
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["x"] for line in (tmp_path / "0123").read_text().splitlines()] == [1, 2, 3]
    committed = [e for e in map(json.loads, (tmp_path / ".flow" / "e" / "events.log").read_text().splitlines())
                 if e["type"] == "batch_committed"]
    assert len(committed) == 2  # batches of 2 records: the setting is the int 2


def test_a_text_key_gets_the_variable_s_text_when_another_reference_inserted_it_too(tmp_path):
    """Two variables with one text (A=07 read as a number, B=07 for a path): the path is `07`."""
    spec = tmp_path / "e.flow.yaml"
    spec.write_text("version: 1\npipeline: e\nsettings:\n  batch_size: ${FLOWC_T_A}\n"
                    "sources:\n  s: {type: inline, records: [{x: 1}]}\n"
                    "sinks:\n  o: {type: file, format: jsonl, path: \"${FLOWC_T_B}\"}\n")
    result = subprocess.run([*FLOWC, "run", str(spec), "--quiet"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "FLOWC_T_A": "07", "FLOWC_T_B": "07"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "07").read_text() == '{"x":1}\n'
