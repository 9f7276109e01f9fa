"""Every pipeline shown in the docs is a valid pipeline (issue 7).

A fenced `yaml` block with a top-level `pipeline:` key in README.md or docs/*.md is written to a file
beside the document it comes from (so relative paths mean what they mean there) and validated: no
errors and no warnings. A block fenced as `yaml fragment` is an outline, not a pipeline, and is left
out. `docs/diagnostics.md` is left out too: its pipelines are broken on purpose, and
`tests/test_docs_diagnostics.py` checks that they give exactly the diagnostics shown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowc.compiler.validate import validate_path

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```yaml(?! fragment)[^\n]*\n(.*?)^```", re.S | re.M)
_PIPELINE = re.compile(r"^pipeline:", re.M)


def pipeline_blocks() -> list[tuple[str, int, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if doc.name == "diagnostics.md":
            continue
        text = doc.read_text()
        for match in _BLOCK.finditer(text):
            if _PIPELINE.search(match.group(1)):
                line = text.count("\n", 0, match.start()) + 1
                found.append((str(doc.relative_to(ROOT)), line, match.group(1)))
    return found


BLOCKS = pipeline_blocks()


def test_the_docs_show_pipelines() -> None:
    assert len(BLOCKS) >= 5  # the tutorial and the references show several; none silently vanished


@pytest.mark.parametrize(("doc", "line", "block"), BLOCKS, ids=[f"{d}:{n}" for d, n, _ in BLOCKS])
def test_a_pipeline_in_the_docs_validates_clean(doc: str, line: int, block: str) -> None:
    folder = (ROOT / doc).parent
    spec = folder / f".doc-block-{Path(doc).stem}-{line}.flow.yaml"
    spec.write_text(block)
    try:
        _, diagnostics = validate_path(str(spec), env={})
    finally:
        spec.unlink()
    shown = [f"{doc}:{line + d.span.line}: {d.code} {d.message}" for d in diagnostics]
    assert shown == []
