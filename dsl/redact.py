"""Messages never show what a `${NAME}` inserted (issue 8: values from the environment may be secret).

Spans already point at the reference; a message also quotes names, and a name typed as
`${FIELD}` or `${PREFIX}_amount` inside an expression would be quoted substituted. `redact` puts the
reference back inside every quoted part of a diagnostic's text. A quoted part may also be one token
of an inserted value (`${LIMIT}` = `1 s3cret` quoted as `unexpected 's3cret'`): a quoted part of four
or more characters that the value holds as a whole word is replaced by the reference (a shorter one is
as likely a name the spec wrote: the sink `out` beside `${NAME}` = `../out-x`). For the same reason
a value inside a longer quoted part is put back only when it has four or more characters and is not a
number: `${EMPTY:-e}` or `${BS:-2}` must not turn `'batch_size'` into `'batch_siz${EMPTY:-e}'` or
`'map_2'` into `'map_${BS:-2}'`; a short value quoted alone is still put back.
"""

from __future__ import annotations

import dataclasses
import re

from flowc.dsl.diagnostics import Diagnostic

_QUOTED = re.compile(r"'[^'\n]*'")
_NUMBER = re.compile(r"[-+]?[0-9][0-9_.eE+-]*")


def redact_text(text: str, inserted: tuple[tuple[str, str], ...]) -> str:
    """`text` with each inserted value inside a `'quoted'` part replaced by its `${...}` reference."""
    if not inserted:
        return text
    longest_first = sorted(inserted, key=lambda pair: -len(pair[0]))

    def put_back(match: re.Match[str]) -> str:
        quoted = match.group(0)
        for value, reference in longest_first:
            if reference in quoted:  # a message that quotes the reference as written (`'${N:-5000}'`)
                continue
            if quoted[1:-1] == value or _may_hide_inside_words(value):
                quoted = quoted.replace(value, reference)
        if quoted != match.group(0):
            return quoted
        inner = quoted[1:-1]
        if len(inner) >= 4:  # shorter words are names as often as tokens (a sink `out`, `../out-x`)
            word = re.compile(rf"(?<!\w){re.escape(inner)}(?!\w)")
            for value, reference in longest_first:
                if word.search(value):  # a token of the value, quoted alone
                    return f"'{reference}'"
        return quoted

    return _QUOTED.sub(put_back, text)


def _may_hide_inside_words(value: str) -> bool:
    """Whether a value is long enough to be looked for inside quoted words: a short one or a number
    (a batch size, a one-letter default) is found by chance in names that never held it."""
    return len(value) >= 4 and not _NUMBER.fullmatch(value)


def redact(diagnostic: Diagnostic, inserted: tuple[tuple[str, str], ...]) -> Diagnostic:
    if not inserted:
        return diagnostic
    return dataclasses.replace(
        diagnostic,
        message=redact_text(diagnostic.message, inserted),
        help=redact_text(diagnostic.help, inserted) if diagnostic.help else diagnostic.help,
        notes=tuple(redact_text(n, inserted) for n in diagnostic.notes),
    )


def redact_message(text: str, inserted: tuple[tuple[str, str], ...]) -> str:
    """A run's message, which quotes less carefully than a diagnostic (an OS error's path, a client's
    URL): `redact_text`, after every inserted value of four or more characters that is not a number
    is replaced by its reference wherever it stands. Shorter values and numbers (a port, a batch
    size) are no secret, and replacing them everywhere would garble the message."""
    for value, reference in sorted(inserted, key=lambda pair: -len(pair[0])):
        if _may_hide_inside_words(value):
            text = text.replace(value, reference)
    return redact_text(text, inserted)
