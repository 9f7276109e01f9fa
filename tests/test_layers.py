"""The layering contract: dsl -> compiler -> runtime -> cli, imports pointing one way only.

import-linter finds modules by walking the `flowc` package's folder, but the source tree maps
`flowc.dsl` etc. onto top-level folders, so the check runs on a copy laid out as installed.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_point_from_dsl_to_compiler_to_runtime_to_cli(tmp_path: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        target = tmp_path.joinpath(*package.split("."))
        shutil.copytree(ROOT / folder, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
