"""Where each character of a YAML scalar's value was written.

PyYAML reports where a scalar starts and ends, not where each character of its value came from.
Quoted scalars shift columns (`\\u00e9` is six characters in the file, one in the value), multi-line
scalars fold line breaks into spaces, and `|`/`>` blocks drop their indentation. This module replays
those rules over the scalar's text and returns `ScalarMap` anchors `(value_offset, line, col)`.

Every map is checked against the parser's value before it is trusted: if replaying the rules does not
rebuild the value exactly, the map falls back to one anchor at the scalar's first character, so a
rule this module gets wrong costs precision, never a wrong value.
"""

from __future__ import annotations

import array
import bisect
import itertools
import re

from flowc.dsl.span import Span

_BREAK = re.compile(r"\r\n|\r|\n")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_CODE_LENGTHS = {"x": 2, "u": 4, "U": 8}
_RUNS = {  # runs of characters copied as written, per quote style
    None: re.compile(r"[^ \t\r\n]+"), "'": re.compile(r"[^ \t\r\n']+"), '"': re.compile(r'[^ \t\r\n\\]+'),
}
_PROPERTY = re.compile(r"[&!]\S*|#[^\r\n]*|[ \t\r\n]+")

# Characters refused in a spec and in its values: they make text read differently from how it looks
# (C0/C1 controls, line separators YAML 1.1 and 1.2 disagree on, bidirectional-text overrides, a byte
# order mark past the start, noncharacters, lone surrogates). Tab, LF and CR are allowed.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                       "\ufeff\ufffe\uffff\ud800-\udfff]")


def describe(char: str) -> str:
    """How a FORBIDDEN character is named in a diagnostic."""
    code = ord(char)
    if code == 0:
        return "a NUL character"
    if code < 0x20 or code == 0x7F:
        return "a control character"
    if code < 0xA0:
        return "a C1 control character"
    names = {0x2028: "a line separator", 0x2029: "a paragraph separator", 0xFEFF: "a byte order mark"}
    if code in names:
        return names[code]
    if 0x202A <= code <= 0x2069:
        return "a bidirectional-text control"
    return "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a noncharacter"


Points = list[tuple[int, int]]  # (value offset, file index) where a run of copied characters starts


def position_in(text: str, index: int) -> tuple[int, int]:
    """The 1-based line:col of `text[index]`, for a text that may hold any character (one lookup)."""
    breaks = list(_BREAK.finditer(text, 0, index))
    return len(breaks) + 1, index - (breaks[-1].end() if breaks else 0) + 1


class LineIndex:
    """Converts 0-based character indices of a text to 1-based line:col (line breaks: LF, CRLF, CR).

    Only for text without FORBIDDEN characters: `str.splitlines` also breaks at U+2028 and friends.
    Line starts are kept in an array, read in line-aligned chunks, so 4 MiB of blank lines costs
    ~32 MB and well under a second.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = array.array("q", [0])
        at = 0
        while at < len(text):
            cut = text.find("\n", at + 65536)
            cut = len(text) if cut < 0 else cut + 1
            self.starts.extend(itertools.islice(itertools.accumulate(
                map(len, text[at:cut].splitlines(True)), initial=at), 1, None))
            at = cut
        if text and text[-1] not in "\r\n":
            self.starts.pop()  # the last line has no break after it, so no line starts after it

    def position(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1

    def span(self, file: str, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(max(end, start))
        return Span(file, line, col, end_line, end_col)

    def line_text(self, line: int) -> str:
        """Line `line` (1-based) without its line break."""
        start = self.starts[line - 1]
        stop = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:stop].rstrip("\r\n")


def content_start(text: str, start: int, end: int) -> int:
    """The index of a node's first character, past its anchor, tag and any comment before it."""
    i = start
    while i < end and (m := _PROPERTY.match(text, i, end)) and text[i] not in "\"'|>":
        i = m.end()
    return min(i, end)


class _TooMany(Exception):
    pass


def scalar_anchors(index: LineIndex, start: int, end: int, style: str | None, value: str, *,
                   limit: int = 1 << 30) -> tuple:
    """Anchors for the scalar written at `[start, end)` (past its properties) in `style`.

    Past `limit` anchors (a bound on the work and memory one file may cost), the scalar maps to its
    first character only.
    """
    text = index.text
    if style in (None, "'", '"'):
        inner = start + (style is not None)
        if text.startswith(value, inner) and inner + len(value) == end - (style is not None):
            return ((0, *index.position(inner)),)  # written as is: one anchor
    try:
        if style in ("|", ">"):
            points = _block(index, start, end, value, literal=style == "|", limit=limit)
        elif style in ('"', "'"):
            points = _flow(text, start + 1, max(start + 1, end - 1), value, style, limit)
        else:
            points = _flow(text, start, end, value, None, limit)
    except _TooMany:
        points = None
    if points is None:  # a rule we replayed wrongly: keep the value, lose the precision
        points = [(0, start)]
    elif style in (None, "'", '"'):  # where the value ends (its closing quote): so the span of a range
        points.append((len(value), end - (style is not None)))  # ending in an escape ends after it
    return _compress(points, index)


def _compress(points: Points, index: LineIndex) -> tuple:
    anchors: list[tuple[int, int, int]] = []
    for offset, at in points:
        line, col = index.position(at)
        if anchors:
            last_offset, last_line, last_col = anchors[-1]
            if last_line == line and last_col + offset - last_offset == col:
                continue  # the run goes on where the previous one would have put it
        anchors.append((offset, line, col))
    return tuple(anchors) or ((0, *index.position(0)),)


def _flow(text: str, i: int, end: int, value: str, quote: str | None, limit: int) -> Points | None:
    """Replays plain / single-quoted / double-quoted scalar folding and escapes (PyYAML's scanner)."""
    run = _RUNS[quote]
    out: list[str] = []
    points: Points = []
    size = 0

    def emit(chunk: str, at: int) -> None:
        nonlocal size
        if len(points) >= limit:
            raise _TooMany
        points.append((size, at))
        out.append(chunk)
        size += len(chunk)

    while i < end:
        c = text[i]
        if c in " \t":
            j = _skip(text, i, end, " \t")
            if j >= end or text[j] not in "\r\n":  # white space before a line break is dropped
                emit(text[i:j], i)
            i = j
        elif c in "\r\n":  # a line break folds to a space, or to one newline per blank line after it
            at = i
            i, breaks = _breaks(text, _break_end(text, i), end)
            emit("\n" * breaks or " ", at)
        elif c == "\\" and quote == '"':
            escape = _escape(text, i, end)
            if escape is None:
                return None
            chunk, after = escape
            if chunk:
                emit(chunk, i)
            i = after
        elif c == "'" and quote == "'":  # '' is one quote
            emit("'", i)
            i += 2
        else:
            chars = run.match(text, i, end)  # never None: c itself is not a stop character
            assert chars is not None
            emit(chars.group(), i)
            i = chars.end()
    return points if "".join(out) == value else None


def _escape(text: str, i: int, end: int) -> tuple[str, int] | None:
    """The value of the escape at `text[i] == '\\'` and the index after it."""
    if i + 1 >= end:
        return None
    c = text[i + 1]
    if c in "\r\n":  # an escaped line break joins the lines without a space
        j, breaks = _breaks(text, _break_end(text, i + 1), end)
        return "\n" * breaks, j
    if c in _ESCAPES:
        return _ESCAPES[c], i + 2
    if c in _CODE_LENGTHS:
        digits = text[i + 2:i + 2 + _CODE_LENGTHS[c]]
        try:
            return chr(int(digits, 16)), i + 2 + len(digits)
        except ValueError:
            return None
    return None


def _skip(text: str, i: int, end: int, chars: str) -> int:
    while i < end and text[i] in chars:
        i += 1
    return i


def _break_end(text: str, i: int) -> int:
    return i + 2 if text.startswith("\r\n", i) else i + 1


def _breaks(text: str, i: int, end: int) -> tuple[int, int]:
    """Skips the indentation and blank lines after a line break; returns (index, blank lines)."""
    breaks = 0
    while True:
        i = _skip(text, i, end, " \t")
        if i < end and text[i] in "\r\n":
            breaks += 1
            i = _break_end(text, i)
        else:
            return i, breaks


def _block(index: LineIndex, start: int, end: int, value: str, *, literal: bool, limit: int) -> Points | None:
    """Literal (`|`) and folded (`>`) blocks: content starts on the line after the indicator."""
    first, _ = index.position(start)
    last, _ = index.position(max(start, end - 1))
    if 2 * (last - first) + 1 > limit:
        raise _TooMany
    lines = [index.line_text(n) for n in range(first + 1, last + 1)]
    starts = index.starts[first:last]
    leading = len(value) - len(value.lstrip("\n"))
    content = next((i for i, line in enumerate(lines) if line.strip(" ")), None)
    if content is None:
        return [(0, starts[0] if starts else start)]
    spaces = len(value) - leading - len(value[leading:].lstrip(" "))
    indent = len(lines[content]) - len(lines[content].lstrip(" ")) - spaces
    if indent < 0:
        return None
    if literal:
        return _literal(value, lines, starts, indent)
    return _folded(value, lines, starts, indent)


def _literal(value: str, lines: list[str], starts: list[int], indent: int) -> Points | None:
    points: Points = []
    offset = 0
    for i, piece in enumerate(value.split("\n")):
        if i < len(lines):
            if piece and lines[i][indent:] != piece:
                return None
            points.append((offset, starts[i] + min(indent, len(lines[i]))))
        offset += len(piece) + 1
    return points


def _folded(value: str, lines: list[str], starts: list[int], indent: int) -> Points | None:
    points: Points = []
    cursor, after = 0, starts[0]
    for i, line in enumerate(lines):
        piece = line[indent:]
        if not piece:
            continue
        found = value.find(piece, cursor)
        if found < 0 or value[cursor:found].strip(" \n"):
            return None
        if found > cursor:
            points.append((cursor, after))  # the folded break(s) before this line
        points.append((found, starts[i] + indent))
        cursor, after = found + len(piece), starts[i] + indent + len(piece)
    if value[cursor:].strip("\n"):
        return None
    if cursor < len(value):
        points.append((cursor, after))
    return points
