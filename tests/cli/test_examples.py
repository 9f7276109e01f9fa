"""The examples are what a newcomer tries first (issue 7): they validate strictly, their spec tests
pass through `flowc test`, and every one that needs no broker or folder watcher runs to completion."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FLOWC = [sys.executable, "-m", "flowc"]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LIVE = {"kafka.flow.yaml", "watch.flow.yaml"}  # unbounded: covered by the Kafka and watch tests
BOUNDED = sorted(p.name for p in EXAMPLES.glob("*.flow.yaml") if p.name not in LIVE)


def flowc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=180, cwd=cwd)


def test_every_example_validates_strictly() -> None:
    done = flowc("validate", "--strict", str(EXAMPLES))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("no problems")


def test_every_example_has_tests_and_they_pass() -> None:
    done = flowc("test", str(EXAMPLES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no tests" not in done.stdout
    assert "FAIL" not in done.stdout


@pytest.mark.parametrize("example", BOUNDED)
def test_a_bounded_example_runs_to_completion(tmp_path: Path, example: str) -> None:
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns(".flow", "out"))
    done = flowc("run", str(folder / example), "--quiet")
    assert done.returncode == 0, done.stderr
    again = flowc("run", str(folder / example))
    assert again.returncode == 0 and "already completed" in again.stderr
