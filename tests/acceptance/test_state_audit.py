"""Acceptance audit of SPEC §1 (substitution), §7 file sinks, §9 (state, resume) and §10 (the command),
through the real `flowc` command: combinations and edges the other acceptance tests leave out."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [shutil.which("flowc")] if shutil.which("flowc") else [sys.executable, "-m", "flowc"]


def flowc(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def spec(folder: Path, body: str, name: str = "p.flow.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def with_env(**values: str) -> dict[str, str]:
    import os

    return {**os.environ, **values}


# --- SPEC §1: ${VAR} substitution in messages -------------------------------------------------------


def test_a_short_substituted_value_does_not_garble_the_names_in_a_message(tmp_path):
    """`${E:-e}` inserts 'e': the error about batch_size must still say 'batch_size', not
    'batch_siz${E:-e}' (messages put references back only where the value is)."""
    path = spec(tmp_path, """
        settings:
          batch_size: ${BS:-2}
        sources:
          s: {type: inline, records: [{t: "${E:-e}"}]}
        steps:
          - filter: t != "x"
          - map: {u: nosuch}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path), env=with_env(BS="abc"))
    assert done.returncode == 1
    assert "'batch_size' in settings must be an integer" in done.stderr, done.stderr
    assert "${E:-e}" not in done.stderr
    checked = flowc("validate", str(path), env=with_env(BS="2"))
    assert checked.returncode == 1
    assert "unknown field 'nosuch' in map" in checked.stdout + checked.stderr


def test_already_completed_in_json_is_an_event_with_a_message(tmp_path):
    path = spec(tmp_path, """
        sources:
          s: {type: inline, records: [{n: 1}]}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet").returncode == 0
    again = flowc("run", str(path), "--log-format", "json")
    assert again.returncode == 0
    logged = [json.loads(x) for x in again.stderr.splitlines()]
    last = logged[-1]
    assert last["event"] == "already completed" and "--reset" in last["message"]
