"""CSV records whose quoted field holds a line break (RFC 4180), found in blocks of whole lines.

Rows stay lines (docs/runtime.md), so positions, `file:line` and a resume's line count need nothing
new: a record over several lines is read on the line it starts on, and the lines after it that it
spans hold no record (like a blank line, they keep their numbers). A record spans lines only when it
is well formed as `csv.reader(strict=True)` reads it: its open quoted field closes within
`MAX_RECORD` bytes of the record's start, and after every closing quote comes a separator or the
record's end. Otherwise its first line is judged alone, as any line is (`csv_lines._checked`: an
unterminated quote, malformed quotes), and the next line is read as a record.

Whether a line opens a quoted field it does not close depends on where the record holding it
starts, so a block must start at a record's start: `record_blocks` holds an open record back and
reads it again with the lines after it (a chunked read; a resume starts on a record's line,
`line_chunks.chunks`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.utf8_lines import EXCERPT, utf8_faults, without_faults

# Python's csv module refuses a field over 128 KiB (`csv.field_size_limit`); a record is allowed
# more, but a quote that never closes must not make a chunked read hold the rest of the file.
MAX_RECORD = 1 << 20
BLANK = "__flowc_blank"  # a blank line holds no record (as in a watched folder's files, docs/sources.md)
_LINE = "__flowc_line"
_INDEX = "__flowc_index"


@dataclass(frozen=True, slots=True)
class Joined:
    """A record over several lines of a block."""
    line: int  # its first line, 0-based in the block
    lines: int  # the lines it spans (2 or more)
    fields: tuple[str, ...]  # its fields as written (quoted ones with their quotes)
    text: str  # the record as written, without its last line's ending

    @property
    def spanned(self) -> range:
        return range(self.line, self.line + self.lines)


class _Open:
    """A record whose quoted field is still open where the block ends (more lines may close it)."""


OPEN = _Open()


@cache
def _unquoted(separator: str) -> re.Pattern:
    return re.compile(f"[^{re.escape(separator)}\n]*")  # it does not begin with the quote (the caller's check)


def _closing(text: str, start: int, quote: str) -> int:
    """The offset just past the quote closing the quoted field whose text starts at `start` (a doubled
    quote is text; a quote at the end of `text` closes it: a line break or nothing follows), or -1
    with the offset to search on from when more text is appended, as (-1 - offset)."""
    at = start
    while (found := text.find(quote, at)) >= 0:
        if not text.startswith(quote, found + 1):
            return found + 1
        at = found + 2
    return -1 - at


def joined_records(data: bytes, quote: str, separator: str, *, final: bool) -> tuple[list[Joined], int]:
    """The records over several lines of `data` (whole lines from a record's start), and the offset
    where a record still open at its end starts (`len(data)` when none is). `final`: no line follows
    `data`, so a record open at its end is not one (its first line is judged alone)."""
    if not quote or quote.encode() not in data:
        return [], len(data)
    candidates = _unclosed_lines(data, quote, separator)
    if not candidates:
        return [], len(data)
    lines = data.split(b"\n")
    count = len(lines) - (1 if lines[-1] == b"" else 0)
    joins: list[Joined] = []
    free = 0  # the first line not in a record found
    for i in candidates:
        if i < free:
            continue
        found = _record(lines, i, count, quote, separator, final)
        if found is OPEN:
            return joins, sum(map(len, lines[:i])) + i
        if isinstance(found, Joined):
            joins.append(found)
            free = i + found.lines
    return joins, len(data)


def _unclosed_lines(data: bytes, quote: str, separator: str) -> list[int]:
    """The lines holding the quote that are not whole well-quoted lines: only such a line may open a
    quoted field it does not close."""
    from flowc.runtime.sources.csv_lines import well_quoted  # csv_lines imports this module

    line = pl.col(_LINE)
    unclosed = line.str.contains(quote, literal=True) & ~well_quoted(line, quote, separator)
    readable = without_faults(data, utf8_faults(data))  # a line that is not UTF-8 opens nothing: a record error
    found = pl.scan_lines(readable, name=_LINE).with_row_index("i").filter(unclosed).select("i")
    return found.collect(engine="in-memory").get_column("i").to_list()


def _record(lines: list[bytes], i: int, count: int, quote: str, separator: str,
            final: bool) -> Joined | _Open | None:
    """The record starting on line `i` if it spans lines and is well formed; OPEN if `data` ends
    inside it (and not `final`); else None: line `i` is judged alone."""
    unquoted = _unquoted(separator)
    text, last, size, pos = _decoded(lines[i]), i, len(lines[i]), 0
    fields = []
    while True:
        if text.startswith(quote, pos):
            end = _closing(text, pos + 1, quote)
            while end < 0:  # the field is open at the end of line `last`: read on from where the search stopped
                if last + 1 >= count:
                    return OPEN if not final else None
                last += 1
                size += len(lines[last]) + 1
                if size > MAX_RECORD:
                    return None
                text += "\n" + _decoded(lines[last])
                end = _closing(text, -1 - end, quote)
        else:
            end = unquoted.match(text, pos).end()
        fields.append(text[pos:end])
        pos = end
        if pos == len(text) or text[pos:] == "\r":  # the record's end (a CRLF's CR aside)
            break
        if text[pos] != separator:
            return None  # text after a closing quote: malformed
        pos += 1
    if last == i:
        return None
    if text.endswith("\r"):
        text, fields[-1] = text[:-1], fields[-1].removesuffix("\r")
    return Joined(i, last - i + 1, tuple(fields), text)


def _decoded(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape")


def record_blocks(blocks: Iterator[tuple[int, bytes]], quote: str,
                  separator: str) -> Iterator[tuple[int, bytes, list[Joined]]]:
    """`blocks` of whole lines (`line_blocks`, from a record's start) cut at records' ends instead,
    each with its records over several lines: a record open at a block's end is held back and read
    again with the blocks after it (at least as many bytes again each time, so a long one is read
    O(log) times). At most `MAX_RECORD` bytes are held."""
    held_at, held, pending = 0, b"", []
    for start, data in blocks:
        if held:
            pending.append(data)
            if sum(map(len, pending)) < len(held):
                continue
            start, data, pending = held_at, held + b"".join(pending), []
        joins, cut = joined_records(data, quote, separator, final=False)
        held_at, held = start + cut, data[cut:]
        if cut:
            yield start, data[:cut], joins
    if held or pending:
        data = held + b"".join(pending)
        yield held_at, data, joined_records(data, quote, separator, final=True)[0]


def plain(fields: list[str], quote: str, separator: str) -> str:
    """The fields joined plainly quoted: an unquoted field holding the quote is quoted whole."""
    return separator.join(f"{quote}{f.replace(quote, quote * 2)}{quote}" if quote in f and not f.startswith(quote)
                          else f for f in fields)


def spliced(checked: pl.LazyFrame, joins: Sequence[Joined], names: list[str], options: Mapping[str, Any],
             columns: list[str]) -> pl.LazyFrame:
    """`checked` with each record over several lines on its first line (its fields parsed by Polars
    from it written plainly quoted, or its field count's error) and its other lines `BLANK`."""
    if not joins:
        return checked
    quote, separator, width = options["quote_char"], options["separator"], len(names)
    written = "".join(plain(list(join.fields), quote, separator) + "\n" for join in joins)
    parse = {key: value for key, value in options.items() if key not in ("has_header", "encoding")}
    fields = pl.read_csv(written.encode("utf-8", "surrogateescape"), has_header=False,
                         schema=dict.fromkeys(names, pl.String), missing_columns="insert", extra_columns="ignore",
                         truncate_ragged_lines=True, **parse).select(columns)
    errors = [None if len(join.fields) == width else
              f"csv: expected {width} fields, found {len(join.fields)}: {_excerpt(join.text)}" for join in joins]
    good = pl.Series([error is None for error in errors])
    firsts = fields.select(pl.Series(_INDEX, [join.line for join in joins], pl.UInt32),
                           *(pl.when(good).then(pl.col(c)).alias(c) for c in columns),
                           pl.Series(RAW_ERROR, errors, pl.String), pl.lit(False).alias(BLANK))
    rest = pl.DataFrame({_INDEX: [line for join in joins for line in join.spanned[1:]]}, schema={_INDEX: pl.UInt32})
    others = rest.select(_INDEX, *(pl.lit(None, pl.String).alias(c) for c in [*columns, RAW_ERROR]),
                         pl.lit(True).alias(BLANK))
    joined = pl.concat([firsts, others]).lazy()
    return checked.with_row_index(_INDEX).update(joined, on=_INDEX, include_nulls=True).drop(_INDEX)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."
