"""What the acceptance tests share: the `flowc` command run as a user runs it, a spec written into a
folder, and the JSON lines a file sink wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]


def flowc(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess:
    """`flowc ARGS` to its end; `env` adds to (or overrides) this process's environment."""
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})})


def write_spec(folder: Path, body: str, files: dict[str, str | bytes] | None = None,
               name: str = "p.flow.yaml") -> Path:
    """`folder/name` holding `version: 1`, `pipeline: p` and the dedented `body`; `files` are written
    beside it first (relative paths, text or bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for file, content in (files or {}).items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / file).write_bytes(content)
        else:
            (folder / file).write_text(content)
    path = folder / name
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]
