"""Diagnostics: what every check returns instead of raising."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from flowc.dsl.span import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a spec.

    `code` is a key of `flowc.dsl.codes.CODES`; build diagnostics with `flowc.dsl.codes.diagnostic`,
    which fills the message from the code's template, so wording lives next to the code.
    """

    code: str
    severity: Severity
    message: str
    span: Span | None
    help: str | None = None
    notes: tuple[str, ...] = field(default=())

    def sort_key(self) -> tuple:
        if self.span is None:
            return ("", 0, 0, self.code)
        return (self.span.file, self.span.line, self.span.col, self.code)
