"""Shared by tests/acceptance/test_compile_errors*.py: write many bad specs into one folder, check them
with one `flowc validate` call, and find each file's diagnostics.

A case's YAML marks the first character of the offending key or value with `«`; the diagnostic must
start exactly there (SPEC §10: `file:line:col: error[E123]: message`)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

MARK = "«"
HEADER = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning)\[(?P<code>[EW]\d+)\]: "
                    r"(?P<message>.+)$")


@dataclass(frozen=True)
class Case:
    yaml: str                   # the spec, with one `«` before the offending token
    words: tuple[str, ...]      # each must appear in the message (case-insensitive)
    severity: str = "error"


@dataclass(frozen=True)
class Found:
    line: int
    col: int
    severity: str
    code: str
    message: str


def flowc(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def unmark(yaml: str) -> tuple[str, tuple[int, int]]:
    """The spec text without the marker, and the marker's 1-based (line, col)."""
    text = textwrap.dedent(yaml).lstrip("\n")
    assert text.count(MARK) == 1, f"one {MARK} per case"
    before = text[:text.index(MARK)]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return text.replace(MARK, ""), (line, col)


def write_cases(folder: Path, cases: dict[str, Case]) -> dict[str, tuple[int, int]]:
    positions = {}
    for name, case in cases.items():
        text, positions[name] = unmark(case.yaml)
        (folder / f"{name}.flow.yaml").write_text(text, encoding="utf-8")
    return positions


def parse(output: str) -> dict[str, list[Found]]:
    """Diagnostics by file stem (the case name)."""
    found: dict[str, list[Found]] = {}
    for line in output.splitlines():
        match = HEADER.match(line)
        if match:
            stem = Path(match["file"]).name.removesuffix(".flow.yaml")
            found.setdefault(stem, []).append(Found(int(match["line"]), int(match["col"]), match["sev"],
                                                    match["code"], match["message"]))
    return found


def validate_folder(folder: Path, cases: dict[str, Case], *extra: str) -> dict:
    """Write every case into folder, run one `flowc validate folder`, return what each case needs."""
    positions = write_cases(folder, cases)
    done = flowc("validate", *extra, str(folder), cwd=folder.parent)
    return {"positions": positions, "found": parse(done.stdout + done.stderr), "done": done}


def check_case(results: dict, name: str, case: Case) -> None:
    line, col = results["positions"][name]
    found = results["found"].get(name, [])
    shown = "\n".join(f"  {f.line}:{f.col} {f.severity}[{f.code}] {f.message}" for f in found) or "  (none)"
    at = [f for f in found if (f.line, f.col) == (line, col) and f.severity == case.severity]
    assert at, f"{name}: expected a {case.severity} at {line}:{col}, got:\n{shown}"
    missing = [w for w in case.words if not any(w.lower() in f.message.lower() for f in at)]
    assert not missing, f"{name}: the {case.severity} at {line}:{col} does not name {missing}:\n{shown}"
