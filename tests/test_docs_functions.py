from pathlib import Path

from flowc.dsl.functions import FUNCTIONS, render_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "functions.md"


def test_functions_doc_is_current() -> None:
    assert DOC.read_text() == render_markdown(), (
        "docs/functions.md is stale; regenerate it with: python -m flowc.dsl.functions > docs/functions.md")


def test_functions_doc_has_a_section_per_function() -> None:
    text = render_markdown()
    for name in FUNCTIONS:
        assert f"### `{name}`" in text
