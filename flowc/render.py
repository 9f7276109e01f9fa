"""The one renderer of diagnostics: text (with source line and caret), JSON, and GitHub annotations.

Columns and carets are computed from spans and the file's text, never typed by hand.
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flowc.dsl.diagnostics import Diagnostic, Severity


def location(d: Diagnostic) -> str:
    if d.span is None:
        return "<unknown>"
    return f"{d.span.file}:{d.span.line}:{d.span.col}"


def sources_of(document: Any, diagnostics: Iterable[Diagnostic]) -> dict[str, str]:
    """The texts a text rendering shows lines of: the loaded spec's, else (a file that is not YAML)
    the files the diagnostics point into, read as they are."""
    if document is not None:
        return {document.file: document.text}
    texts = {}
    for d in diagnostics:
        if d.span is not None and d.span.file not in texts:
            with contextlib.suppress(OSError):  # a file gone since: its lines are not shown
                texts[d.span.file] = Path(d.span.file).read_text(encoding="utf-8", errors="replace")
    return texts


def render_text(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    """ruff/rustc style: `file:line:col: error[CODE]: message`, the source line, a caret line."""
    return "".join(_text_block(d, sources) for d in diagnostics)


def _text_block(d: Diagnostic, sources: Mapping[str, str]) -> str:
    header = f"{location(d)}: {d.severity.value}[{d.code}]: {_one_line(d.message)}\n"
    snippet = _snippet(d, sources)
    extras = ([f"= help: {_one_line(d.help)}"] if d.help else []) + [f"= note: {_one_line(n)}" for n in d.notes]
    if not snippet and not extras:
        return header
    gutter = " " * (len(str(d.span.line)) if d.span else 1)
    lines = snippet or [f"{gutter} |"]
    lines += [f"{gutter} {extra}" for extra in extras]
    return header + "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """A message on its line: a name quoted in it may hold a line break (a back-quoted field written
    across the lines of a block scalar), which would split `file:line:col: ...` in two."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _snippet(d: Diagnostic, sources: Mapping[str, str]) -> list[str]:
    if d.span is None or d.span.file not in sources:
        return []
    source_lines = sources[d.span.file].splitlines()
    if d.span.line > len(source_lines) + 1:
        return []
    # one past the last line: the end of the file (where an unterminated quote or bracket is found)
    line_text = source_lines[d.span.line - 1] if d.span.line <= len(source_lines) else ""
    start = min(d.span.col - 1, len(line_text))
    end = d.span.end_col - 1 if d.span.end_line == d.span.line else len(line_text)
    end = max(min(end, len(line_text)), start + 1)
    gutter = " " * len(str(d.span.line))
    pad = _caret_padding(line_text[:start])
    carets = "^" * max(_width(line_text[start:end]), 1)
    return [f"{gutter} |", f"{d.span.line} | {line_text}", f"{gutter} | {pad}{carets}"]


def _caret_padding(text: str) -> str:
    """Whitespace as wide on a terminal as `text`, tabs kept, so a caret lines up under the next char."""
    return "".join("\t" if ch == "\t" else " " * _char_width(ch) for ch in text)


def _width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    """A JSON array, one object per diagnostic, keys in a stable documented order."""
    return json.dumps([_json_object(d) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def render_json_lines(diagnostics: Iterable[Diagnostic]) -> str:
    """One JSON object a line, `{"event": "diagnostic", ...}` with `render_json`'s keys: the shape of
    `flowc run --log-format json`'s other stderr lines, so a log collector reads JSON only."""
    return "".join(json.dumps({"event": "diagnostic", **_json_object(d)}, ensure_ascii=False) + "\n"
                   for d in diagnostics)


def _json_object(d: Diagnostic) -> dict:
    span = d.span
    return {
        "file": span.file if span else None,
        "line": span.line if span else None,
        "col": span.col if span else None,
        "end_line": span.end_line if span else None,
        "end_col": span.end_col if span else None,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
        "help": d.help,
        "notes": list(d.notes),
    }


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render_github(diagnostics: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one per diagnostic."""
    return "".join(_github_line(d) + "\n" for d in diagnostics)


def _github_line(d: Diagnostic) -> str:
    props = []
    if d.span:
        s = d.span
        props = [f"file={_gh_prop(s.file)}", f"line={s.line}", f"col={s.col}", f"endLine={s.end_line}",
                 f"endColumn={s.end_col}"]
    props.append(f"title={d.code}")
    message = d.message + (f" (help: {d.help})" if d.help else "")
    return f"::{_GITHUB_LEVEL[d.severity]} {','.join(props)}::{_gh_data(message)}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")
