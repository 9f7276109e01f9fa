"""Source positions.

A `Span` is where something sits in a spec file, 1-based, as a user reads it. Expression nodes carry
a `TextRange` (0-based character offsets into the expression text) because an expression is parsed
apart from the file it came from; `flowc.dsl.source.ScalarMap` turns a `TextRange` back into a `Span`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a file: 1-based line and column, `end_col` one past the last character."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __post_init__(self) -> None:
        assert self.line >= 1 and self.col >= 1, "spans are 1-based"
        assert (self.end_line, self.end_col) >= (self.line, self.col), "span ends before it starts"


@dataclass(frozen=True, slots=True)
class TextRange:
    """Offsets into an expression's text: `start` inclusive, `end` exclusive, 0-based."""

    start: int
    end: int

    def __post_init__(self) -> None:
        assert 0 <= self.start <= self.end, "text range ends before it starts"

    def cover(self, other: TextRange) -> TextRange:
        return TextRange(min(self.start, other.start), max(self.end, other.end))
