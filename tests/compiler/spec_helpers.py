"""Helpers for the spec-model and check tests: YAML text in, spec or diagnostics out."""

from __future__ import annotations

import textwrap

from flowc.compiler.graph import Graph, build_graph
from flowc.compiler.normalize import normalize_spec
from flowc.compiler.spec import Spec
from flowc.compiler.validate import validate_document
from flowc.dsl.loader import load_text
from flowc.dsl.source import Document

FILE = "p.flow.yaml"
HEADER = "version: 1\npipeline: p\n"


def document(text: str, file: str = FILE) -> Document:
    doc, problems = load_text(textwrap.dedent(text), file)
    assert doc is not None and not problems, problems
    return doc


def spec_of(text: str, file: str = FILE) -> Spec:
    spec, problems = normalize_spec(document(text, file))
    assert spec is not None and not problems, problems
    return spec


def graph_of(text: str) -> Graph:
    return build_graph(spec_of(text))


def found(text: str, *, with_data: bool = False, file: str = FILE) -> list[tuple[int, int, str, str]]:
    """(line, col, code, message) of every diagnostic, in the order validation returns them."""
    diagnostics = validate_document(document(text, file), with_data=with_data)
    return [(d.span.line, d.span.col, d.code, d.message) for d in diagnostics]


def codes_of(text: str, **kwargs) -> list[str]:
    return [code for _, _, code, _ in found(text, **kwargs)]


def at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """(line, col), 1-based, of the `nth` occurrence of `needle` in the dedented `text`."""
    text = textwrap.dedent(text)
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1
