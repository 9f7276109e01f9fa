"""The elements of a JSON file holding one array, found block by block (SPEC §3 file format `json`).

The file is read in blocks of bytes (`byte_blocks`: gzip and zlib files decompressed as a stream),
decoded as `json.loads` decodes bytes (UTF-8, or UTF-16/32 by their BOM) with an incremental decoder,
and its elements found by Python's json scanner (`JSONDecoder.raw_decode`) in a window of the text:
the block read last plus the element that crosses into it, carried over when the next block is read.
Only that window is held, so memory does not grow with the file (an element larger than a block is
held whole: it is one record).

An element found at the window's end may go on in the next block (a number `12` of `123`), and an
error near the end may only say that the window stops there (`[1, tr` of `true`): either is decided
again with more text, until the file ends. The scanner reports such an error within a few characters
of where it stopped (`_CUT`: a literal is at most 9 long, `-Infinity`), except an unterminated string,
which it reports at the string's start. A file that does not parse stops at `Unparsed` (the scanner's
message, at a character of the text) or `Undecodable` (not UTF-8, at a byte of the file); `malformed`
reads the file again to say where, as `json.loads` of the whole text would: line, column and that
line's text.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import AnyStr

from flowc.runtime.sources.csv_lines import EXCERPT
from flowc.runtime.sources.line_blocks import byte_blocks

BLOCK = 1 << 20  # bytes read at a time
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
_DECODER = json.JSONDecoder()
_CUT = 16  # an error this close to the window's end may be the window's end: read on and decide again
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True, slots=True)
class Malformed:
    """Why a JSON file does not parse, and where: `line` is 1-based, `text` an excerpt of that line."""

    reason: str
    line: int
    text: str

    @property
    def error(self) -> str:
        """The record error's message (the `RAW_ERROR` text; the `Scan` lowering adds `parse: `)."""
        return f"json: malformed JSON ({self.reason}): {self.text}"


class Unparsed(Exception):  # a stop, not a failure: the caller makes it one record error
    """The scanner stopped: `msg` (JSONDecodeError's) at character `pos` of the file's text."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg, pos)
        self.msg, self.pos = msg, pos


class Undecodable(Exception):
    """The file's bytes do not decode, from byte `pos` of its (decompressed) bytes on."""

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


def texts(blocks: Iterable[bytes]) -> Iterator[str]:
    """The text of `blocks`, decoded as `json.loads` decodes bytes (`json.detect_encoding` of the first
    bytes), piece by piece. Raises `Undecodable` at the first byte that does not decode, once the text
    before it is given (so a scan that ends before it does not depend on where the blocks are cut)."""
    blocks = iter(blocks)
    head = b""
    while len(head) < 4 and (piece := next(blocks, b"")):  # the encoding is told by the first 4 bytes
        head += piece
    encoding, fed = json.detect_encoding(head), 0
    if encoding == "utf-8-sig":  # its decoder numbers the bytes after the BOM: they are numbered in the file
        encoding, fed, head = "utf-8", len(_BOM), head[len(_BOM):]
    decoder = codecs.getincrementaldecoder(encoding)()
    for piece in _chained(head, blocks):
        held = len(decoder.getstate()[0])  # bytes of a character cut by the last block, decoded now
        try:
            text = decoder.decode(piece, final=not piece)
        except UnicodeDecodeError as error:  # the text before it first: a scan may end before it
            if valid := decoder.decode(piece[:max(error.start - held, 0)]):
                yield valid
            raise Undecodable(fed - held + error.start) from None
        fed += len(piece)
        if text:
            yield text
        if not piece:
            return


def _chained(head: bytes, blocks: Iterator[bytes]) -> Iterator[bytes]:
    """`head`, then `blocks`, then b"" (the end: the decoder's last call)."""
    if head:
        yield head
    yield from blocks
    yield b""


class Window:
    """The file's text from a character on: `text` holds characters `base` to `base + len(text)`;
    `ended` once the file's last piece is in it."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.text, self.base, self.ended = "", 0, False

    def more(self, keep: int) -> None:
        """Drop the text before character `keep` and read on: at least a piece, and as much as is kept
        (an element longer than a block is read again in O(its size), not once per block)."""
        kept = self.text[keep - self.base:]
        pieces, read = [kept], 0
        while read < max(len(kept), 1):
            piece = next(self._pieces, None)
            if piece is None:
                self.ended = True
                break
            pieces.append(piece)
            read += len(piece)
        self.text, self.base = "".join(pieces), keep

    def space(self, pos: int) -> int:
        """The first character at or after `pos` that is not whitespace (or the end of the file)."""
        while True:
            end = _SPACE.match(self.text, pos - self.base).end()
            if end < len(self.text) or self.ended:
                return self.base + end
            pos = self.base + end
            self.more(pos)

    def value(self, pos: int) -> tuple[object, int]:
        """The value starting at `pos`, and where it ends; raises Unparsed where `json.loads` would."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, pos - self.base)
            except json.JSONDecodeError as error:
                if self.ended or not _cut_short(error, len(self.text)):
                    raise Unparsed(error.msg, self.base + error.pos) from None
            else:  # a number may go on in the next block (`-2.5e` of `-2.5e3` is -2.5, up to its `e`)
                if end < len(self.text) - _CUT or self.ended:
                    return value, self.base + end
            self.more(pos)

    def startswith(self, char: str, pos: int) -> bool:
        return self.text.startswith(char, pos - self.base)

    def at_end(self, pos: int) -> bool:
        return self.ended and pos - self.base >= len(self.text)

    def raw(self, start: int, end: int) -> str:
        """An element's text, while the window holds it (when it was just found)."""
        return self.text[start - self.base:end - self.base]


def _cut_short(error: json.JSONDecodeError, length: int) -> bool:
    """Whether the scanner may have stopped only because the window ends at `length`."""
    return error.pos >= length - _CUT or error.msg.startswith("Unterminated string")


def elements(window: Window) -> Iterator[tuple[int, int, object]]:
    """(start, end, value) of each element of the array the window's file holds, in order (of the one
    value, when it holds another; none when it is blank), in characters of its text. Raises Unparsed
    where `json.loads` of the whole text would, with its message."""
    pos = window.space(0)
    if window.at_end(pos):
        return
    if not window.startswith("[", pos):
        value, end = window.value(pos)
        yield pos, end, value
        pos = end
    else:
        pos = yield from _array(window, window.space(pos + 1))
    pos = window.space(pos)
    if not window.at_end(pos):
        raise Unparsed("Extra data", pos)


def _array(window: Window, pos: int) -> Iterator[tuple[int, int, object]]:
    """The elements from `pos` (just inside the array) on; returns where the array ends. Each window is
    scanned in a loop of its own (the usual element is one `raw_decode`, one regex match and two
    `startswith`): an element or the space after it that reaches the window's end is scanned again
    with more text (`more`), as is an error that may be only the window's end (`_cut_short`)."""
    decode, space = _DECODER.raw_decode, _SPACE.match
    if window.startswith("]", pos):
        return pos + 1
    while True:
        text, base, length, ended = window.text, window.base, len(window.text), window.ended
        at = space(text, pos - base).end()  # the space before an element may have run into this window
        while True:
            try:
                value, end = decode(text, at)
            except json.JSONDecodeError as error:
                if ended or not _cut_short(error, length):
                    raise Unparsed(error.msg, base + error.pos) from None
                break
            after = space(text, end).end()
            if not ended and after >= length - _CUT and not text.startswith((",", "]"), after):
                break  # the element may go on in the next block (`-2.5e` of `-2.5e3`), or the space after it
            yield base + at, base + end, value
            if text.startswith("]", after):
                return base + after + 1
            if not text.startswith(",", after):
                raise Unparsed("Expecting ',' delimiter", base + after)
            at = space(text, after + 1).end()  # at the window's end: the next decode fails, cut short
        pos = base + at
        window.more(pos)


def malformed(path: str, stop: Unparsed | Undecodable, block: int = BLOCK) -> Malformed:
    """Where and why the file stops parsing, as `json.loads` of its bytes would say: an Unparsed file
    that is also not UTF-8 further on is reported so (bytes are decoded before they are parsed). The
    file is read again, a block at a time."""
    if isinstance(stop, Unparsed):
        try:
            for _ in texts(byte_blocks(path, block)):
                pass
        except Undecodable as undecodable:
            stop = undecodable
    if isinstance(stop, Undecodable):
        line, start = _line_of(byte_blocks(path, block), stop.pos, b"\n")
        column = stop.pos - start + 1
        reason = f"not UTF-8 (byte {stop.pos}) at line {line} column {column}"
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        line_text = (decoder.decode(piece, final=not piece) for piece in _chained(b"", _from(
            byte_blocks(path, block), start, b"\n")))
        return Malformed(reason, line, _excerpt(line_text, column))
    line, start = _line_of(texts(byte_blocks(path, block)), stop.pos, "\n")
    column = stop.pos - start + 1
    reason = f"{stop.msg} at line {line} column {column}"
    return Malformed(reason, line, _excerpt(_from(texts(byte_blocks(path, block)), start, "\n"), column))


def _line_of(pieces: Iterable[AnyStr], pos: int, newline: AnyStr) -> tuple[int, int]:
    """The line (1-based) holding offset `pos` of the pieces joined, and the offset where it starts."""
    line, start, at = 1, 0, 0
    for piece in pieces:
        part = piece[:pos - at]
        line += part.count(newline)
        if (found := part.rfind(newline)) >= 0:
            start = at + found + 1
        at += len(piece)
        if at >= pos:
            break
    return line, start


def _from(pieces: Iterable[AnyStr], start: int, newline: AnyStr) -> Iterator[AnyStr]:
    """The pieces from offset `start` on, up to the first `newline` after it (left out)."""
    at = 0
    for piece in pieces:
        part = piece[max(start - at, 0):] if at + len(piece) > start else piece[:0]
        at += len(piece)
        if (found := part.find(newline)) >= 0:
            yield part[:found]
            return
        if part:
            yield part


def _excerpt(line: Iterable[str], column: int) -> str:
    """At most EXCERPT characters of the line around `column` (1-based; a minified file is one long
    line), as `_around` of the whole line gives, holding only them and the line's last characters."""
    low, high = max(column - 2 - EXCERPT, 0), column - 1 + EXCERPT  # the excerpt lies in [low, high)
    kept, tail, length = [], "", 0
    for piece in line:
        if length < high and length + len(piece) > low:
            kept.append(piece[max(low - length, 0):high - length])
        tail = (tail + piece)[-EXCERPT - 1:]
        length += len(piece)
    if tail.endswith("\r"):  # a CRLF line's CR is not shown
        length, tail = length - 1, tail[:-1]
    start = max(0, min(column - 1 - EXCERPT // 2, length - EXCERPT))
    shown = "".join(kept)[start - low:start - low + EXCERPT] if start >= low else tail[-EXCERPT:]
    shown = shown[:max(length - start, 0)]  # a CR kept at the line's end
    return ("..." if start else "") + shown + ("..." if start + EXCERPT < length else "")
