"""`flowc test --update`: write what the pipeline produced into the spec's expectations, in place.

The spec file is edited as text, not re-dumped: only the value of each `expect` entry that failed is
replaced (its span, from the loader), so comments, key order, anchors and the rest of the file stay
as written (a comment between two records of a replaced expectation goes with them). A block sequence stays a block sequence (one `- {...}` line per record, at the same
indentation); a flow sequence stays a flow sequence (on one line when it fits in 100 columns, else one
record per line). The records keep the fields the expectation already names (all output fields when
it named none), in that order. The edited text is loaded again and must read back as the same
expectations before it replaces the file (written to a temporary name, then renamed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowc.dsl.diagnostics import Severity
from flowc.dsl.source import Document
from flowc.dsl.span import Span
from flowc.test_compare import yaml_value

WIDTH = 100


@dataclass(frozen=True, slots=True)
class Update:
    test_index: int  # position in the document's `tests` list
    name: str  # the expect entry
    records: tuple[Mapping[str, Any], ...]  # as written by the pipeline


class UpdateFailed(Exception):
    """The edited spec did not read back as intended; the file was left alone."""


def kept_fields(expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]) -> list[Mapping]:
    """`actual` limited to the output fields the expectation names (all of them when it names none)."""
    present = {k for record in actual for k in record}
    names = [k for k in dict.fromkeys(k for record in expected for k in record) if k in present]
    if not names:
        return [dict(r) for r in actual]
    return [{k: r.get(k) for k in names} for r in actual]


def apply_updates(doc: Document, updates: Sequence[Update]) -> str:
    """`doc.text` with each update's expectation replaced."""
    starts = _line_starts(doc.text)
    edits = []
    for update in updates:
        path = ("tests", update.test_index, "expect", update.name)
        span = doc.value_spans[path]
        begin, end = _offset(starts, span.line, span.col), _offset(starts, span.end_line, span.end_col)
        block = doc.text[begin:end].startswith("-")
        line = doc.text[starts[span.line - 1]:]
        indent = len(line) - len(line.lstrip(" "))
        edits.append((begin, end, _render(update.records, span, indent, block)))
    text = doc.text
    for begin, end, replacement in sorted(edits, reverse=True):
        text = text[:begin] + replacement + text[end:]
    return text


def _render(records: Sequence[Mapping[str, Any]], span: Span, indent: int, block: bool) -> str:
    """The new value; continuation lines of a flow sequence are indented past its line's indentation."""
    items = [yaml_value(dict(r)) for r in records]
    if not items:
        return "[]"
    if block:
        return "- " + ("\n" + " " * (span.col - 1) + "- ").join(items)
    one_line = "[" + ", ".join(items) + "]"
    if span.col - 1 + len(one_line) <= WIDTH:
        return one_line
    return "[\n" + ",\n".join(" " * (indent + 4) + item for item in items) + "]"


def write_updates(doc: Document, updates: Sequence[Update], verify: Callable[[Document], list[str]]) -> None:
    """Edit the spec file, after checking that the new text loads and that `verify` finds no problem
    in it (the command checks each updated expectation now matches what the pipeline wrote)."""
    from flowc.dsl.loader import load_text

    text = apply_updates(doc, updates)
    reloaded, found = load_text(text, doc.file)
    problems = [d.message for d in found if d.severity is Severity.ERROR]
    if reloaded is None or problems:
        raise UpdateFailed(f"the updated spec would not load: {'; '.join(problems)}")
    problems = verify(reloaded)
    if problems:
        raise UpdateFailed(f"the updated expectations would not read back as written: {'; '.join(problems)}")
    staging = f"{doc.file}.flowc-update.tmp"
    with open(staging, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(staging, doc.file)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, char in enumerate(text):
        if char == "\n":
            starts.append(i + 1)
    return starts


def _offset(starts: list[int], line: int, col: int) -> int:
    return starts[line - 1] + col - 1
