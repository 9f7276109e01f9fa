"""Every diagnostic example validates to exactly the diagnostics written in it, and every code has one."""

from __future__ import annotations

import pytest
from diagnostic_examples import environment, example_files, expectations

from flowc.compiler.validate import validate_path
from flowc.dsl.codes import CODES


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_reports_exactly_what_it_says(path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} states no expected diagnostic"
    _, diagnostics = validate_path(str(path), env=environment(path))
    actual = {(d.span.line, d.span.col, d.code, d.message) for d in diagnostics if d.span}
    assert all(d.span is not None for d in diagnostics)
    assert actual == expected


# Codes a small spec file cannot show (a missing file, bytes that are not UTF-8, files or scalars or
# expressions past the size limits) are tested in tests/dsl/test_loader.py, tests/dsl/test_parser.py
# and tests/cli/test_validate_hostile.py.
SHOWN_ELSEWHERE = {"E001", "E003", "E005", "E008", "E009", "E208"}


def test_every_code_has_an_example() -> None:
    covered = {code for path in example_files() for _, _, code, _ in expectations(path)}
    missing = sorted(set(CODES) - covered - SHOWN_ELSEWHERE)
    assert not missing, f"codes without an example in tests/diagnostics/: {missing}"


def test_examples_are_named_after_a_code_they_show() -> None:
    for path in example_files():
        code = path.name.split("_")[0]
        assert code in CODES, f"{path.name}: name it <CODE>_<slug>.flow.yaml"
        assert code in {c for _, _, c, _ in expectations(path)}, f"{path.name} does not show {code}"
