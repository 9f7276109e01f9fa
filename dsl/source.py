"""A loaded spec file: the plain data, and where each part of it was written.

Positions live beside the data, keyed by path (a tuple of mapping keys and list indices from the
document root), never inside it. `flowc.dsl.loader.load_document` builds a `Document`.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowc.dsl.span import Span, TextRange

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ScalarMap:
    """Maps a character offset in a string scalar's value to its place in the file.

    `anchors` are `(value_offset, line, col)` triples, sorted by offset: the value's character at
    `value_offset` sits at `line:col`, and the characters after it, up to the next anchor, follow on
    the same line. A plain scalar needs one anchor; quoted scalars with escapes, block scalars (`|`,
    `>`) and substituted `${...}` need more. An anchor may carry a fourth item, the last column its
    characters may reach: the text a `${NAME}` inserted stays within the reference's columns.
    """

    file: str
    anchors: tuple[tuple[int, ...], ...]

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.anchors, (offset, float("inf"), float("inf"))) - 1
        anchor = self.anchors[max(i, 0)]
        start, line, col = anchor[:3]
        col += max(offset - start, 0)
        return line, min(col, anchor[3]) if len(anchor) > 3 else col

    def span(self, text_range: TextRange) -> Span:
        line, col = self.position(text_range.start)
        if text_range.end <= text_range.start:
            return Span(self.file, line, col, line, col + 1)
        end_line, end_col = self.position(text_range.end - 1)
        after_line, after_col = self.position(text_range.end)  # where the next character starts
        if after_line == end_line and after_col > end_col:  # the last one may be an escape (`\"`, `''`)
            return Span(self.file, line, col, end_line, after_col)
        return Span(self.file, line, col, end_line, end_col + 1)


@dataclass(frozen=True, slots=True)
class Document:
    file: str  # the path as the user gave it, used in every diagnostic
    text: str  # the file's text, for carets
    data: Any  # dicts, lists, str, int, float, bool, None, after `${...}` substitution
    value_spans: Mapping[Path, Span] = field(default_factory=dict)  # where each value is written
    key_spans: Mapping[Path, Span] = field(default_factory=dict)  # where each mapping key is written
    scalar_maps: Mapping[Path, ScalarMap] = field(default_factory=dict)  # string scalars only
    written: Mapping[Path, str] = field(default_factory=dict)  # as written, for values with `${...}`
    inserted: tuple[tuple[str, str], ...] = ()  # (text a `${...}` inserted, the reference as written)

    def span(self, path: Path) -> Span | None:
        """The span of the value at `path`, else of the nearest enclosing value that has one."""
        while True:
            if path in self.value_spans:
                return self.value_spans[path]
            if not path:
                return None
            path = path[:-1]

    def key_span(self, path: Path) -> Span | None:
        """The span of the key naming `path`'s value, falling back to the value's span."""
        return self.key_spans.get(path) or self.span(path)

    def shown(self, path: Path) -> str:
        """The value at `path` as it may be shown to a user: `${SECRET}` stays as written."""
        if path in self.written:
            return self.written[path]
        value: Any = self.data
        for key in path:
            value = value[key]
        return str(value)
