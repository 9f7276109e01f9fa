"""Messages never show what a `${NAME}` inserted (issue 8: values from the environment may be secret).

Spans already point at the reference; a message also quotes names, and a name typed as
`${FIELD}` or `${PREFIX}_amount` inside an expression would be quoted substituted. `redact` puts the
reference back inside every quoted part of a diagnostic's text.
"""

from __future__ import annotations

import dataclasses
import re

from flowc.dsl.diagnostics import Diagnostic

_QUOTED = re.compile(r"'[^'\n]*'")


def redact_text(text: str, inserted: tuple[tuple[str, str], ...]) -> str:
    """`text` with each inserted value inside a `'quoted'` part replaced by its `${...}` reference."""
    if not inserted:
        return text
    longest_first = sorted(inserted, key=lambda pair: -len(pair[0]))

    def put_back(match: re.Match[str]) -> str:
        quoted = match.group(0)
        for value, reference in longest_first:
            quoted = quoted.replace(value, reference)
        return quoted

    return _QUOTED.sub(put_back, text)


def redact(diagnostic: Diagnostic, inserted: tuple[tuple[str, str], ...]) -> Diagnostic:
    if not inserted:
        return diagnostic
    return dataclasses.replace(
        diagnostic,
        message=redact_text(diagnostic.message, inserted),
        help=redact_text(diagnostic.help, inserted) if diagnostic.help else diagnostic.help,
        notes=tuple(redact_text(n, inserted) for n in diagnostic.notes),
    )
