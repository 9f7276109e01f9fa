"""JSON files holding one array (SPEC §3 file format `json`): each element is a record.

An element that is not an object of the source's fields is a record error at `file[index]`. A file
that is not JSON at all (cut short, a stray comma, not UTF-8) has no elements to number: it is one
record error for the whole file, at the line where the parser stopped (`file:line`), carrying the
parser's reason and that line's text, under the source's `on_error` like any other record error (a
run used to fail on it with a bare JSONDecodeError naming no file). An empty file (or one of only
whitespace) holds no record, as an empty csv or jsonl file does.

A run splits each file once into its elements with Python's json scanner (`_elements`, which also
finds where a malformed file stops), keeping only where each starts and ends; Polars then reads each
chunk's raw elements as JSON lines. Inferring a schema parses only the first elements. The file's text
is held while the file is read, so memory grows with the file (docs/runtime.md).
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import polars as pl

from flowc.runtime.sources.csv_lines import BLANK, EXCERPT
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.jsonl_lines import objects_schema, parsed_lines
from flowc.runtime.sources.line_blocks import whole_file

_NL = b"\n"
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
_DECODER = json.JSONDecoder()


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


@dataclass(frozen=True, slots=True)
class JsonShape:
    records: int  # the rows the file gives: its elements, or the one error row of a malformed file
    malformed: Malformed | None  # set when the file does not parse: then it is one record error


@dataclass(frozen=True, slots=True)
class JsonArray:
    """A JSON file split into its elements: where each starts and ends in its text."""

    text: str
    starts: array  # of each element, in `text`
    ends: array
    malformed: Malformed | None  # set when the file does not parse: then it is one record error

    @property
    def shape(self) -> JsonShape:
        return JsonShape(1 if self.malformed is not None else len(self.starts), self.malformed)

    def rows(self, first: int, count: int, dtypes: Mapping[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
        """Rows `first` to `first + count` of the file: `columns` of `dtypes` plus `RAW_ERROR`. Each
        element is read as a JSON line (`parsed_lines`: the block at once, or element by element when
        that fails), so an element that is not an object of `dtypes` alone is a record error
        (`json: <reason>: <element>`). A malformed file's one row has every field null and the
        parser's reason (`Malformed`)."""
        schema = {**{name: dtypes[name] for name in columns}, RAW_ERROR: pl.String}
        if self.malformed is not None:
            error = [self.malformed.error] if first == 0 and count else []
            return pl.DataFrame({**{name: [None] * len(error) for name in columns}, RAW_ERROR: error}, schema=schema)
        stop = min(first + count, len(self.starts))
        if stop <= first:
            return pl.DataFrame(schema=schema)
        # raw newlines in valid JSON are whitespace between tokens: each element is now one line
        lines = (self.text[self.starts[i]:self.ends[i]].replace("\n", " ").replace("\r", " ") for i in range(first, stop))
        rows = parsed_lines("\n".join(lines).encode() + _NL, dtypes, columns).drop(BLANK)
        return rows.with_columns(pl.col(RAW_ERROR).str.replace(r"^jsonl: ", "json: "))


def json_array(path: str) -> JsonArray:
    """The file read and split into its elements once (`_elements`, Python's json scanner, which
    also finds where a malformed file stops); Polars then parses only the elements asked for
    (`JsonArray.rows`), so the file is never held as parsed values."""
    text, malformed = _text(path)
    starts, ends = array("q"), array("q")
    if text is not None:
        try:
            for start, end, _ in _elements(text):
                starts.append(start)
                ends.append(end)
        except json.JSONDecodeError as error:
            malformed = _malformed_at(text, error)
    return JsonArray(text or "", starts, ends, malformed)


def json_sample(path: str, rows: int) -> list[str]:
    """The first `rows` objects of a JSON file holding one array (or one object), each on one line;
    other elements are left out, as malformed JSON lines are (`jsonl_sample`). Only the elements up to
    the `rows`-th object are parsed: a file malformed after them gives its record error when the
    pipeline runs. Raises Polars' ComputeError for a file malformed before them."""
    text, malformed = _text(path)
    objects: list[str] = []
    try:
        for start, end, value in _elements(text or "") if rows > 0 else ():
            if isinstance(value, dict):
                objects.append(text[start:end].replace("\n", " ").replace("\r", " "))  # type: ignore[index]
                if len(objects) >= rows:
                    break
    except json.JSONDecodeError as error:
        malformed = _malformed_at(text or "", error)
    if malformed is not None:
        raise pl.exceptions.ComputeError(f"malformed JSON ({malformed.reason})")
    return objects


def sampled_json_schema(objects: list[str]) -> pl.Schema:
    """Polars' dtypes for the sampled `objects` (`json_sample`, over the files in order)."""
    if not objects:
        raise pl.exceptions.ComputeError("the file holds no JSON object")
    return objects_schema([o.encode() for o in objects])


def _text(path: str) -> tuple[str | None, Malformed | None]:
    """The file's text (decompressed, and decoded as `json.loads` decodes bytes: UTF-8, or UTF-16/32
    by their BOM), or why it does not decode."""
    data = whole_file(path)
    try:
        return data.decode(json.detect_encoding(data)), None
    except UnicodeDecodeError as error:
        lineno = data.count(_NL, 0, error.start) + 1
        column = error.start - (data.rfind(_NL, 0, error.start) + 1) + 1
        reason = f"not UTF-8 (byte {error.start}) at line {lineno} column {column}"
        return None, Malformed(reason, lineno, _around(data.split(_NL)[lineno - 1], column))


def _elements(text: str) -> Iterator[tuple[int, int, object]]:
    """(start, end, value) of each element of the array `text` holds, in order (of the one value, when
    it holds another; none when it is blank), found by Python's json scanner one element at a time.
    Raises JSONDecodeError where `json.loads` would, with its message."""
    decode, pos = _DECODER.raw_decode, _SPACE.match(text).end()
    if pos == len(text):
        return
    if not text.startswith("[", pos):
        value, end = decode(text, pos)
        yield pos, end, value
        pos = end
    else:
        pos = _SPACE.match(text, pos + 1).end()
        closed = text.startswith("]", pos)
        while not closed:
            value, end = decode(text, pos)
            yield pos, end, value
            pos = _SPACE.match(text, end).end()
            closed = text.startswith("]", pos)
            if not closed and not text.startswith(",", pos):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
            if not closed:
                pos = _SPACE.match(text, pos + 1).end()
        pos += 1
    pos = _SPACE.match(text, pos).end()
    if pos != len(text):
        raise json.JSONDecodeError("Extra data", text, pos)


def _malformed_at(text: str, error: json.JSONDecodeError) -> Malformed:
    line = text.split("\n")[error.lineno - 1]
    reason = f"{error.msg} at line {error.lineno} column {error.colno}"
    return Malformed(reason, error.lineno, _around(line.encode(), error.colno))


def _around(line: bytes, column: int) -> str:
    """At most EXCERPT characters of `line` around `column` (1-based): a minified file is one long line."""
    text = line.decode("utf-8", "replace").removesuffix("\r")
    start = max(0, min(column - 1 - EXCERPT // 2, len(text) - EXCERPT))
    shown = text[start:start + EXCERPT]
    return ("..." if start else "") + shown + ("..." if start + EXCERPT < len(text) else "")
