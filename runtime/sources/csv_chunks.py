"""A CSV file read in chunks of whole lines, so memory is bounded by the chunk, not the file.

Polars' `collect_batches` cannot bound its read-ahead: the streaming engine keeps reading while the
consumer is slow (docs/performance.md, point 7). Here the consumer pulls: each chunk is the next
`rows_per_chunk` lines of the file, read with `pread` a little beyond the guessed end, cut at the
newline found with `bytes.count`/`find` (C speed: a loop per chunk, none per line) and parsed by
Polars from those bytes when the chunk's frame is collected. An mmap was measured too: the same
cut, but the mapped pages read count in the RSS until unmapped, and faulting them in costs ~10% more.

Precondition (the caller's fast path): the quote character never occurs in the file, so every record
is exactly one line and line i after the header is row i, the position used for checkpoints and
`file:line` errors. A quoted newline would be cut in two here.

Each chunk is parsed as the whole file would be with the columns `names` given as its schema
(`scan_csv(path, has_header=False, schema=..., missing_columns="insert")`): string columns, a short
line padded with nulls, a blank line one all-null row (in any position, also at the chunk's or file's
end), a CRLF ending stripped. A line with more fields than `names`, even empty ones, fails the chunk's
query (Polars' own error: ragged lines are not truncated), which is how the runner's fast path
finds them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl

from flowc.compiler.source_types import NeedsExactReading

SKIP_BLOCK = 1 << 22  # bytes examined at a time while skipping lines (a resume deep into a file)
SAMPLE = 1 << 16  # bytes read to estimate the line length before the first chunk
_NL = b"\n"
_FIND_BELOW = 32  # newlines left between the bounds: find them one by one
# Options the chunk parser sets itself: every chunk is headerless and read against a fixed schema.
_OWN_OPTIONS = ("has_header", "schema", "new_columns", "infer_schema", "truncate_ragged_lines")


@dataclass(frozen=True, slots=True)
class Chunk:
    first_row: int  # row number (0-based, header excluded) of the chunk's first line
    rows: int  # lines in the chunk; a blank line is a row
    frame: pl.LazyFrame  # string columns `names`; its height is `rows`


def chunks(path: str, names: list[str], options: Mapping[str, Any], *, first_row: int, rows_per_chunk: int,
           has_header: bool, refuse: bytes = b"") -> Iterator[Chunk]:
    """The file's lines from row `first_row` to its end, `rows_per_chunk` lines per chunk (the last
    may hold fewer; no chunk is empty). The file is opened when the first chunk is asked for, and
    its size then bounds the read (lines appended later are not read).

    `refuse`: a byte that must not occur in a chunk (the quote character, checked on the chunk's bytes
    at C speed rather than in a pass over the whole file first); a chunk holding it raises
    `NeedsExactReading`."""
    if rows_per_chunk < 1 or first_row < 0:
        raise ValueError(f"rows_per_chunk must be >= 1 and first_row >= 0, got {rows_per_chunk}, {first_row}")
    schema = dict.fromkeys(names, pl.String)
    parse = {key: value for key, value in options.items() if key not in _OWN_OPTIONS}
    with open(path, "rb", buffering=0) as handle:
        view = PositionalFile(handle.fileno(), os.fstat(handle.fileno()).st_size)
        pos = skip_lines(view, 0, first_row + (1 if has_header else 0))
        line_bytes = _line_length(view, pos)
        row = first_row
        while pos < len(view):
            data, rows = take_lines(view, pos, rows_per_chunk, int(rows_per_chunk * line_bytes * 1.02) + 4096)
            if refuse and refuse in data:
                raise NeedsExactReading(f"{path}: the quote character occurs from row {row} on")
            frame = pl.scan_csv(data, has_header=False, schema=schema, missing_columns="insert", **parse)
            yield Chunk(row, rows, frame)
            pos, row, line_bytes = pos + len(data), row + rows, len(data) / rows


def prefetched(frames: Iterator[pl.LazyFrame], depth: int = 2) -> Iterator[pl.DataFrame]:
    """The frames collected, taken and collected ahead while the caller works on the one before.

    One thread takes the frames in order (taking a chunk cuts its bytes and builds its query: Python,
    holding the GIL) and hands each to a pool of `depth` threads that collect them (Polars, without
    the GIL), so `depth` chunks are collected side by side, and memory holds about depth + 1 of them.
    An error taking or collecting a frame is raised where that frame would be yielded.

    Measured (W1, 5M rows, 2 cores): depth 2 collects 0.3 s sooner than one thread taking and
    collecting each frame in turn (whose collects then leave a core idle during every cut)."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    collectors = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="flowc-csv-collect")
    taker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowc-csv-chunks")

    def take() -> Future[pl.DataFrame] | None:  # on the taker only, so the iterator is never shared
        frame = next(frames, None)
        return None if frame is None else collectors.submit(frame.collect)

    pending = deque(taker.submit(take) for _ in range(depth))
    try:
        while (collecting := pending.popleft().result()) is not None:
            pending.append(taker.submit(take))
            yield collecting.result()
    finally:  # also when the caller stops early: drop the takes not started, let the running ones end
        for future in pending:
            future.cancel()
        taker.shutdown(wait=True)
        collectors.shutdown(wait=True)
        if (close := getattr(frames, "close", None)) is not None:
            close()  # the taker is done with it: release the file now, not when collected


@dataclass(frozen=True, slots=True)
class PositionalFile:
    """A file whose slices are read with `pread`. Not an mmap: the pages of a mapping that were
    read count in the process's RSS until unmapped, and copying out of one costs page faults."""
    fd: int
    size: int

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, part: slice) -> bytes:
        want = max(min(part.stop, self.size) - part.start, 0)
        data = os.pread(self.fd, want, part.start)
        while 0 < len(data) < want:  # a read may stop short (Linux: 2 GiB at most)
            more = os.pread(self.fd, want - len(data), part.start + len(data))
            if not more:
                break
            data += more
        return data


def _line_length(view: PositionalFile, pos: int) -> float:
    """Bytes per line in a sample from `pos`: the first chunk's read size is guessed from it."""
    sample = view[pos:pos + SAMPLE]
    return len(sample) / max(sample.count(_NL), 1)


def skip_lines(view: PositionalFile | bytes, pos: int, lines: int, block: int = SKIP_BLOCK) -> int:
    """The offset `lines` lines after `pos` (or the end), counted in pieces that start small (a
    header is one line) and double up to `block` bytes."""
    size = SAMPLE
    while lines > 0 and pos < len(view):
        piece = view[pos:pos + min(size, block)]
        found = piece.count(_NL)
        if found >= lines:
            return pos + nth_newline(piece, lines, found) + 1
        pos, lines, size = pos + len(piece), lines - found, size * 2
    return min(pos, len(view))


def take_lines(view: PositionalFile | bytes, pos: int, lines: int, guess: int) -> tuple[bytes, int]:
    """The bytes of the `lines` lines from `pos`, newlines included, and how many lines they hold
    (fewer at the end of the file, whose last line may have no newline). Reads `guess` bytes first,
    then as much again as seems missing, until enough newlines."""
    pieces, found, end = [], 0, pos
    while end < len(view):
        piece = view[end:end + max(guess, 1)]
        count = piece.count(_NL)
        if found + count >= lines:
            pieces.append(piece[:nth_newline(piece, lines - found, count) + 1])
            return b"".join(pieces), lines
        pieces.append(piece)
        found, end = found + count, end + len(piece)
        guess = int((lines - found) * (end - pos) / max(found, 1) * 1.05) + 4096
    data = b"".join(pieces)
    return data, found + (1 if data and not data.endswith(_NL) else 0)


def nth_newline(buf: bytes, k: int, total: int) -> int:
    """The offset of the k-th newline (1-based) of `buf`, which holds `total` >= k of them.

    Interpolation search with `bytes.count` on the shorter side of each probe: lines of similar
    lengths put the first probe within a few lines of it, and the last few newlines are walked with
    `find`/`rfind` from the nearer bound. A probe that does not halve the walk left is followed by a
    bisection step, so lines of any lengths take O(log n) steps."""
    lo, before, hi, upto = 0, 0, len(buf), total  # invariant: before < k <= upto newlines in buf[:lo], buf[:hi]
    interpolate = True
    while (left := min(k - before, upto - k + 1)) > _FIND_BELOW:
        mid = lo + (hi - lo) * (k - before) // (upto - before) if interpolate else (lo + hi) // 2
        mid = min(max(mid, lo + 1), hi - 1)
        at = before + buf.count(_NL, lo, mid) if mid - lo <= hi - mid else upto - buf.count(_NL, mid, hi)
        if at >= k:
            hi, upto = mid, at
        else:
            lo, before = mid, at
        interpolate = min(k - before, upto - k + 1) <= left // 2
    if k - before <= upto - k + 1:  # forward from lo: the k-th is the (k - before)-th newline after lo
        found = lo - 1
        for _ in range(k - before):
            found = buf.find(_NL, found + 1)
        return found
    found = hi  # backward from hi: the last newline before hi is the upto-th
    for _ in range(upto - k + 1):
        found = buf.rfind(_NL, lo, found)
    return found
