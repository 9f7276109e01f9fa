"""JSON files holding one array (SPEC §3 file format `json`): each element is a record.

An element that is not an object of the source's fields is a record error at `file[index]`. A file
that is not JSON at all (cut short, a stray comma, not UTF-8) has no elements to number: it is one
record error for the whole file, at the line where the parser stopped (`file:line`), carrying the
parser's reason and that line's text, under the source's `on_error` like any other record error (a
run used to fail on it with a bare JSONDecodeError naming no file). An empty file (or one of only
whitespace) holds no record, as an empty csv or jsonl file does.

A file is read in blocks, twice (`json_stream`: a block and the element that crosses into the next
are held, not the file). The first pass (`json_split`) finds each element with Python's json scanner
and writes where it starts and ends to an anonymous temporary file (16 bytes an element), or finds
where a malformed file stops: no record is given before the whole file is known to parse. The second
(`JsonSplit.chunks`) decodes the text again and cuts it at those places, a chunk of elements at a
time, and Polars reads each chunk's raw elements as JSON lines. So a run holds a block and a chunk,
and the scanner runs once (a second scan would cost as much as the rest of the reading). Inferring a
schema scans only the first elements (`json_sample`).
"""

from __future__ import annotations

import os
import tempfile
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

import polars as pl

from flowc.runtime.sources.csv_lines import BLANK
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.json_stream import (
    BLOCK,
    Malformed,
    Undecodable,
    Unparsed,
    Window,
    elements,
    malformed,
    texts,
)
from flowc.runtime.sources.jsonl_lines import objects_schema, parsed_lines
from flowc.runtime.sources.line_blocks import byte_blocks

__all__ = ["BLOCK", "JsonShape", "JsonSplit", "Malformed", "json_sample", "json_shape", "json_split",
           "sampled_json_schema"]

_NL = b"\n"
_SPAN = array("q").itemsize * 2  # bytes per element in the temporary file: where it starts and ends
_FLUSH = 1 << 16  # elements found before they are written out


@dataclass(frozen=True, slots=True)
class JsonShape:
    records: int  # the rows the file gives: its elements, or the one error row of a malformed file
    malformed: Malformed | None  # set when the file does not parse: then it is one record error


class JsonSplit:
    """A JSON file's elements, found once (`json_split`): where each starts and ends in the file's
    text, kept in `spans` (an anonymous temporary file; None for a malformed file)."""

    def __init__(self, path: str, shape: JsonShape, spans: BinaryIO | None, block: int) -> None:
        self.path, self.shape, self._spans, self._block = path, shape, spans, block

    def chunks(self, first: int, rows: int, dtypes: Mapping[str, pl.DataType],
               columns: list[str]) -> Iterator[tuple[int, int, pl.DataFrame]]:
        """(first row, rows, frame) of the file's records from row `first` on, `rows` a chunk: `columns`
        of `dtypes` plus `RAW_ERROR`. Each element is read as a JSON line (`parsed_lines`: the chunk at
        once, or element by element when that fails), so an element that is not an object of `dtypes`
        alone is a record error (`json: <reason>: <element>`). A malformed file's one row has every
        field null and the parser's reason (`Malformed`). The text before row `first` is decoded and
        passed over, not scanned."""
        schema = {**{name: dtypes[name] for name in columns}, RAW_ERROR: pl.String}
        if self.shape.malformed is not None:
            if first == 0 and rows:
                error = self.shape.malformed.error
                yield 0, 1, pl.DataFrame({**{name: [None] for name in columns}, RAW_ERROR: [error]}, schema=schema)
            return
        text = _Text(texts(byte_blocks(self.path, self._block)), self.path)
        for at in range(first, self.shape.records, rows):
            taken = min(rows, self.shape.records - at)
            spans = array("q")
            spans.frombytes(os.pread(self._spans.fileno(), _SPAN * taken, _SPAN * at))  # type: ignore[union-attr]
            frame = parsed_lines(text.lines(spans[::2], spans[1::2]), dtypes, columns).drop(BLANK)
            yield at, taken, frame.with_columns(pl.col(RAW_ERROR).str.replace(r"^jsonl: ", "json: "))

    def frame(self, dtypes: Mapping[str, pl.DataType], columns: list[str], rows: int = 100_000) -> pl.DataFrame:
        """All the file's records (`chunks`), in one frame."""
        frames = [frame for _, _, frame in self.chunks(0, rows, dtypes, columns)]
        empty = pl.DataFrame(schema={**{name: dtypes[name] for name in columns}, RAW_ERROR: pl.String})
        return pl.concat(frames, how="vertical") if frames else empty

    def close(self) -> None:
        if self._spans is not None:
            self._spans.close()


class _Text:
    """A file's text read on, front to back, as its elements are cut out of it: `held` is characters
    `base` on, a piece or two."""

    def __init__(self, pieces: Iterator[str], path: str) -> None:
        self._pieces, self._path = pieces, path
        self.held, self.base = "", 0

    def lines(self, starts: array, ends: array) -> bytes:
        """The elements from `starts` to `ends` (in order), one a line, encoded a piece of text at a time
        (a chunk's text is never held whole beside its lines)."""
        parts, first = [], 0
        while first < len(starts):
            self._reach(starts[first], ends[first])
            held, base = self.held, self.base
            stop = bisect_right(ends, base + len(held), first)
            # raw newlines in valid JSON are whitespace between tokens: each element is now one line
            lines = (held[starts[i] - base:ends[i] - base].replace("\n", " ").replace("\r", " ")
                     for i in range(first, stop))
            parts += ("\n".join(lines).encode(), _NL)
            first = stop
        return b"".join(parts)

    def _reach(self, start: int, stop: int) -> None:
        """Hold the text from character `start` to at least `stop`, dropping the text before `start`."""
        kept = [self.held[start - self.base:]] if start < self.base + len(self.held) else []
        at = self.base + len(self.held)
        while at < stop:
            if (piece := next(self._pieces, None)) is None:
                raise OSError(f"{self._path}: the file changed while it was read")
            if at + len(piece) > start:
                kept.append(piece[max(start - at, 0):])
            at += len(piece)
        self.held, self.base = "".join(kept), start


def json_split(path: str, block: int = BLOCK) -> JsonSplit:
    """The file's elements found (`JsonSplit`), reading it in blocks of `block` bytes."""
    spans = tempfile.TemporaryFile(prefix="flowc-json-")  # noqa: SIM115 (closed with the split)
    try:
        shape = _scanned(path, block, spans)
    except BaseException:
        spans.close()
        raise
    if shape.malformed is not None:
        spans.close()
        return JsonSplit(path, shape, None, block)
    spans.flush()
    return JsonSplit(path, shape, spans, block)


def json_shape(path: str, block: int = BLOCK) -> JsonShape:
    """The file's rows, and why it does not parse (if so): its elements counted, none kept."""
    return _scanned(path, block, None)


def _scanned(path: str, block: int, spans: BinaryIO | None) -> JsonShape:
    """The file's shape, found by the json scanner in blocks; where each element starts and ends is
    written to `spans` (when given)."""
    found, count = array("q"), 0
    try:
        for start, end, _ in elements(Window(texts(byte_blocks(path, block)))):
            count += 1
            if spans is not None:
                found.append(start)
                found.append(end)
                if len(found) >= 2 * _FLUSH:
                    found.tofile(spans)
                    del found[:]
    except (Unparsed, Undecodable) as stop:
        return JsonShape(1, malformed(path, stop, block))
    if spans is not None:
        found.tofile(spans)
    return JsonShape(count, None)


def json_sample(path: str, rows: int, block: int = BLOCK) -> list[str]:
    """The first `rows` objects of a JSON file holding one array (or one object), each on one line;
    other elements are left out, as malformed JSON lines are (`jsonl_sample`). Only the elements up to
    the `rows`-th object are scanned: a file malformed after them gives its record error when the
    pipeline runs. Raises Polars' ComputeError for a file malformed before them."""
    objects: list[str] = []
    window = Window(texts(byte_blocks(path, block)))
    try:
        for start, end, value in elements(window) if rows > 0 else ():
            if isinstance(value, dict):
                objects.append(window.raw(start, end).replace("\n", " ").replace("\r", " "))
                if len(objects) >= rows:
                    break
    except (Unparsed, Undecodable) as stop:
        raise pl.exceptions.ComputeError(f"malformed JSON ({malformed(path, stop, block).reason})") from None
    return objects


def sampled_json_schema(objects: list[str]) -> pl.Schema:
    """Polars' dtypes for the sampled `objects` (`json_sample`, over the files in order)."""
    if not objects:
        raise pl.exceptions.ComputeError("the file holds no JSON object")
    return objects_schema([o.encode() for o in objects])
