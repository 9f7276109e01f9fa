"""Reading the expectations written inside `tests/diagnostics/*.flow.yaml` (mypy's check-columns style).

A comment on the line a diagnostic points at: `# E104:13 <exact message>`; or, for a line that cannot
carry a comment (inside a block scalar), a comment line anywhere: `#@ 12:13 E104 <exact message>`.
`#env NAME=value` lines set the environment the example is validated with (nothing else is set).
"""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLES = Path(__file__).parent / "diagnostics"
_ON_LINE = re.compile(r"#\s*([EWN]\d{3}):(\d+)\s+(.*?)\s*$")
_ANYWHERE = re.compile(r"^\s*#@\s*(\d+):(\d+)\s+([EWN]\d{3})\s+(.*?)\s*$")
_ENV = re.compile(r"^\s*#env\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")

Expectation = tuple[int, int, str, str]  # line, col, code, message


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.flow.yaml"))


def expectations(path: Path) -> set[Expectation]:
    found: set[Expectation] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if match := _ANYWHERE.match(line):
            found.add((int(match[1]), int(match[2]), match[3], match[4]))
        elif match := _ON_LINE.search(line):
            found.add((number, int(match[2]), match[1], match[3]))
    return found


def environment(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {m[1]: m[2] for line in lines if (m := _ENV.match(line))}
