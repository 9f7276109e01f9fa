"""Helpers for runner tests: write a spec and its data into a folder, run `flowc run` in-process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from flowc.cli import cli


def write_spec(folder: Path, body: str, files: dict[str, str] | None = None, name: str = "p") -> Path:
    for relative, content in (files or {}).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    spec = folder / f"{name}.flow.yaml"
    spec.write_text(f"version: 1\npipeline: {name}\n" + textwrap.dedent(body))
    return spec


def run(spec: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["run", str(spec), *args], catch_exceptions=False)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def events(folder: Path, name: str = "p") -> list[dict]:
    return [json.loads(line) for line in (folder / ".flow" / name / "events.log").read_text().splitlines()]
