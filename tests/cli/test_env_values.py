"""`${NAME}` through the command (SPEC §1): an empty value is the empty string, as in the shell, and
no message shows what a reference inserted, in `validate` or in `run`."""

from __future__ import annotations

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
