"""Loading a spec file: bytes -> checked text -> YAML 1.2 data with spans -> `${...}` substituted.

Never raises on user input: every problem is a `Diagnostic` with a `Span`. Input is untrusted
(docs/security.md): the file's size is checked before it is read, the text before it is parsed, and
the YAML while it is parsed (`flowc.dsl.yaml12`), so every hostile file is refused with a diagnostic
in bounded time and memory. The result is `(None, problems)` when the file cannot be read as one YAML
mapping; otherwise a `Document`, together with any problems later checks can live with (duplicate or
non-string keys, unset variables, ...), so that one run reports all of them.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
from collections.abc import Mapping
from typing import Any

from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.env import remap, substitute
from flowc.dsl.scalar_spans import FORBIDDEN, LineIndex, describe, position_in
from flowc.dsl.source import Document, ScalarMap
from flowc.dsl.span import Span, TextRange
from flowc.dsl.yaml12 import OnString, compose
from flowc.dsl.yaml_core import resolve_plain

MAX_FILE_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_COUNTED = 1000  # refused characters counted past the first one reported


def load_document(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
                  ) -> tuple[Document | None, list[Diagnostic]]:
    """Reads and loads the spec file at `path`; `path` as given names the file in every span."""
    file = os.fsdecode(path)
    data, problem = _read(file)
    if problem is not None:
        return None, [problem]
    return load_text(data, file, env=env)


def load_text(text: str | bytes, file: str, *, env: Mapping[str, str] | None = None,
              ) -> tuple[Document | None, list[Diagnostic]]:
    """Loads a spec from its bytes or text (a test, or stdin); `file` names it in every span."""
    checked = _text(text, file)
    if isinstance(checked, Diagnostic):
        return None, [checked]
    index = LineIndex(checked)
    inserted: dict[str, str] = {}
    composed, problems = compose(index, file, _substitution(os.environ if env is None else env, inserted))
    if composed is None:
        return None, problems
    document = Document(file, checked, composed.data, composed.value_spans, composed.key_spans,
                        composed.scalar_maps, composed.written, tuple(inserted.items()))
    return document, problems


def _literal_hint(written: str, problem) -> str | None:
    """How to keep a reference that is no variable as text: `${1}` is a `regex_replace` group, which a
    spec writes `$${1}` (SPEC §1), and a lone `${` is text."""
    reference = written[problem.start:problem.end]
    if problem.code != "E011" or not (_GROUP.fullmatch(reference) or not reference.endswith("}")):
        return None
    reference = reference if reference.endswith("}") else "${"
    return f"to write '{reference}' as text, write '${reference}'"


_GROUP = re.compile(r"\$\{[0-9]+\}")


def _read(file: str) -> tuple[bytes, Diagnostic | None]:
    """At most MAX_FILE_BYTES + 1 bytes of the file: a larger file is never read whole."""
    at = Span(file, 1, 1, 1, 1)
    try:
        with open(file, "rb") as stream:
            status = os.fstat(stream.fileno())
            if status.st_size > MAX_FILE_BYTES:
                return b"", _too_big(at, status.st_size)
            # A regular file's size is known (read one byte more, to notice it grew); a device or pipe
            # is read up to the limit and no further.
            expected = status.st_size + 1 if stat.S_ISREG(status.st_mode) else MAX_FILE_BYTES + 1
            data = stream.read(expected)
            if len(data) == expected < MAX_FILE_BYTES + 1:
                data += stream.read(MAX_FILE_BYTES + 1 - expected)
    except OSError as error:
        return b"", codes.diagnostic("E001", at, path=file, reason=_reason(error))
    return data, None


def _reason(error: OSError) -> str:
    if isinstance(error, IsADirectoryError):
        return "it is a folder"
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, PermissionError):
        return "permission denied"
    reason = error.strerror or type(error).__name__
    return reason[:1].lower() + reason[1:]


def _too_big(at: Span, size: int | str) -> Diagnostic:
    return codes.diagnostic("E005", at, size=size, limit=MAX_FILE_BYTES,
                            help="a spec is a small text file; this one is too large to be read")


def _text(given: str | bytes, file: str) -> str | Diagnostic:
    """The file's text, decoded and checked, without a byte order mark; or why it is refused."""
    at = Span(file, 1, 1, 1, 1)
    if isinstance(given, bytes):
        if len(given) > MAX_FILE_BYTES:  # from _read: MAX_FILE_BYTES + 1 bytes of a file that grew
            return _too_big(at, f"more than {MAX_FILE_BYTES}" if len(given) == MAX_FILE_BYTES + 1 else len(given))
        text = _decode(given, file)
        if isinstance(text, Diagnostic):
            return text
    else:
        size = len(given.encode("utf-8", "surrogatepass")) if len(given) * 4 > MAX_FILE_BYTES else 0
        if size > MAX_FILE_BYTES:
            return _too_big(at, size)
        text = given
    text = text.removeprefix("\ufeff")
    bad = FORBIDDEN.search(text)
    if bad is None:
        return text
    more = sum(1 for _ in itertools.islice(FORBIDDEN.finditer(text, bad.end()), _COUNTED))
    note = f"and {'at least ' if more == _COUNTED else ''}{more} more such characters"
    line, col = position_in(text, bad.start())
    return codes.diagnostic("E004", Span(file, line, col, line, col + 1), what=describe(bad.group()),
                            codepoint=f"U+{ord(bad.group()):04X}", notes=(note,) if more else ())


def _decode(data: bytes, file: str) -> str | Diagnostic:
    try:
        return data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + (len(_BOM) if data.startswith(_BOM) else 0)
        before = data[len(_BOM) if data.startswith(_BOM) else 0:offset].decode("utf-8")
        line, col = position_in(before, len(before))
        utf16 = data.startswith(_UTF16_BOMS)
        return codes.diagnostic("E003", Span(file, line, col, line, col + 1), byte=f"0x{data[offset]:02x}", offset=offset,
                                help="the file looks like UTF-16; save it as UTF-8" if utf16 else None)


def _substitution(env: Mapping[str, str], inserted: dict[str, str]) -> OnString:
    """Substitutes `${...}` in each string scalar; records in `inserted` what each reference inserted,
    so messages can show the reference instead of its value."""

    def substitute_value(value: str, smap: ScalarMap, reread: bool,
                         ) -> tuple[Any, ScalarMap | None, str | None, list[Diagnostic]]:
        done = substitute(value, env)
        for segment in done.segments:
            text = done.value[segment.out_start:segment.out_end]
            if segment.inserted and text:
                inserted.setdefault(text, value[segment.start:segment.end])
        problems = [codes.diagnostic(p.code, smap.span(TextRange(p.start, p.end)), help=_literal_hint(value, p),
                                     **p.args) for p in done.problems]
        # `batch_size: ${BS:-5000}` (or `"${BS:-5000}"`, SPEC §1: a scalar that is entirely one `${...}`)
        # is read again as a YAML scalar; an empty result stays the empty string, as in the shell
        # (`prefix: ${P:-}`), where re-reading it would make it null. Where the schema wants text, a
        # number or bool read again is its text once more (compiler/structure.py).
        if done.whole and reread and done.value:
            resolved = resolve_plain(done.value.strip(" \t"))  # as YAML reads `k:  7 `: spaces around go
            if not isinstance(resolved, str):
                return resolved, None, value, problems
        written = value if done.value != value else None
        return done.value, remap(smap, done.segments), written, problems

    return substitute_value

