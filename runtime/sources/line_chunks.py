"""A CSV, JSON lines or text file read in chunks of whole lines, so memory is bounded by the chunk,
not the file.

Polars' `collect_batches` cannot bound its read-ahead: the streaming engine keeps reading while the
consumer is slow (docs/performance.md). Here the consumer pulls. The file is read in blocks of whole
lines of about half a chunk (`line_blocks`: `pread`, or a gzip file's decompressed stream) and parsed
by Polars ahead on worker threads (CSV two blocks on two threads, JSON lines and text one). The
parsed blocks are then re-cut into chunks of exactly `rows_per_chunk` rows (slices of the parsed
frames, no copy). Counting the newlines of every chunk with `bytes.count` and copying its bytes out,
as before, held the GIL for ~0.6 s per 5M rows (W1) and ~1 s on a 900 MB file.

Line i after the header is row i, the position used for checkpoints and `file:line` errors. In the
fast reading every record must be exactly one line: a block holding the quote character is read
only when it parses to one row per line and every line of it is plainly quoted (`rows_are_lines`);
otherwise the chunk that would hold the block's first row raises `NeedsExactReading`. The exact
reading also reads a record whose quoted field spans lines, on its first line's row
(`csv_records`: its other lines are rows that hold no record, and blocks end at records' ends).

Each block is parsed as the whole file would be with the columns `names` given as its schema
(`scan_csv(path, has_header=False, schema=..., missing_columns="insert")`): string columns (in the
fast reading, int and float fields parsed as numbers, `typed_block`), a short line padded with
nulls, a blank line one all-null row (in any position, also at a block's or the file's end), a CRLF
ending stripped. A line with more fields than `names`, even empty ones, fails
the block's parse (Polars' own error: ragged lines are not truncated), which is how the runner's fast
path finds them; the error is raised where the chunk holding that block's first row would be. Polars
sees the extra fields only when it reads every column: a block read for some columns has its
separators counted instead (`_longer_lines`; a block holding the quote character is read whole).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl

from flowc.compiler.source_types import NeedsExactReading
from flowc.runtime.sources.csv_lines import checked_block, plainly_quoted
from flowc.runtime.sources.csv_records import Joined, record_blocks
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.jsonl_lines import parsed_lines
from flowc.runtime.sources.line_blocks import line_blocks
from flowc.runtime.sources.utf8_lines import utf8_faults, with_faults, without_faults

# A chunk is made of slices of the parsed blocks, and a slice keeps its whole block alive: blocks of
# half a chunk keep memory at about 1.5 chunks per chunk in flight (whole-chunk blocks: ~2.4x more RSS
# above the baseline on W1, for no measurable gain in time).
BLOCKS_PER_CHUNK = 2
# Options the chunk parser sets itself: every chunk is headerless and read against a fixed schema.
_OWN_OPTIONS = ("has_header", "schema", "new_columns", "infer_schema", "truncate_ragged_lines")


@dataclass(frozen=True, slots=True)
class Chunk:
    first_row: int  # row number (0-based, header excluded) of the chunk's first line
    rows: int  # lines in the chunk; a blank line is a row
    frame: pl.LazyFrame  # string columns `names`; its height is `rows`


def chunks(path: str, names: list[str], options: Mapping[str, Any], *, first_row: int, rows_per_chunk: int,
           has_header: bool, quote: bytes = b"", columns: list[str] | None = None,
           ahead: int = 2, exact: bool = False, typed: Mapping[str, pl.DataType] | None = None) -> Iterator[Chunk]:
    """The file's lines from row `first_row` to its end, `rows_per_chunk` lines per chunk (the last
    may hold fewer; no chunk is empty). The file is opened when the first chunk is asked for, and
    its size then bounds the read (lines appended later are not read).

    `columns`: the columns each chunk holds (default `names`): the others are not parsed.
    `quote`: the quote character. A block holding it is read only when it parses to one row per line
    and every line of it is plainly quoted (`rows_are_lines`); else the chunk holding the block's first
    row raises `NeedsExactReading`.
    `ahead`: blocks read and parsed ahead, on as many threads. Two, since the numbers of a fast
    reading are parsed here (`typed_block`), not in the chunk's query: with one, the parsing thread
    held back a 30-column file (alternating runs of the wide job, 2 cores: 2.95 against 3.05 s; W1
    4.23 against 4.43 s), for ~25 MiB more memory (a block more in flight). The exact reading, whose
    blocks cost more to parse, reads two ahead too.
    `exact`: each block is read the exact way (`csv_lines.checked_block`: any line, with `RAW_ERROR`
    and `BLANK`), and `quote` is not checked. Blocks are then cut at records' ends (`record_blocks`: a
    quoted field may span lines), and a read from `first_row` > 0 starts on the line before it, a
    checkpointed record's first line, so that it starts on a record's start: that record is left out
    and the lines it spans after it hold no record (`BLANK`).
    `typed`: columns read as these numeric types (`pl.Int64`, `pl.Float64`; not with `exact`), each
    value as a cast of its text reads it (`typed_block`); a value that does not convert raises
    `NeedsExactReading`, as above."""
    if rows_per_chunk < 1 or first_row < 0 or ahead < 1:
        raise ValueError(f"rows_per_chunk, ahead must be >= 1 and first_row >= 0, got {rows_per_chunk}, {ahead}, "
                         f"{first_row}")
    schema = dict.fromkeys(names, pl.String)
    parse = {key: value for key, value in options.items() if key not in _OWN_OPTIONS}
    wanted = list(names if columns is None else columns)
    # Polars' reader fails on a line with too many fields only when it reads every column: a fast
    # reading of some columns counts the separators of each block itself (`_longer_lines`, which needs
    # the last column), and reads a block holding the quote character (whose separators it cannot
    # count) whole
    pruned = not exact and wanted != list(names)
    counted = [*wanted, names[-1]] if pruned and names[-1] not in wanted else wanted

    def parsed(start: int, data: bytes, joins: list[Joined] | None = None) -> pl.DataFrame:
        if exact:
            return checked_block(data, names, options, wanted, joins)
        quoted = bool(quote) and quote in data
        read = list(names) if pruned and quoted else counted
        frame = typed_block(data, schema, read, {n: d for n, d in (typed or {}).items() if n in read}, parse)
        if frame is None:
            raise NeedsExactReading(f"{path}: a number after byte {start} needs the exact reading")
        if quoted and not rows_are_lines(data, quote, options["separator"], frame.height):
            raise NeedsExactReading(f"{path}: a quoted line after byte {start} needs the exact reading")
        if pruned and not quoted and _longer_lines(data, frame, names, options["separator"], parse):
            raise NeedsExactReading(f"{path}: a line after byte {start} holds more than {len(names)} fields")
        return frame if read == wanted else frame.select(wanted)

    back = 1 if exact and first_row > 0 else 0
    blocks: Iterator[tuple] = line_blocks(path, first_row - back + (1 if has_header else 0),
                                          rows_per_chunk / BLOCKS_PER_CHUNK)
    if exact:
        blocks = record_blocks(blocks, options.get("quote_char") or "", options["separator"])
    frames = _parsed_blocks(blocks, parsed, ahead)
    yield from _chunked(_exactly(_dropped(frames, back), rows_per_chunk), first_row)


def jsonl_chunks(path: str, dtypes: Mapping[str, pl.DataType], *, first_row: int, rows_per_chunk: int,
                 columns: list[str] | None = None, ahead: int = 1) -> Iterator[Chunk]:
    """The lines of a JSON lines file from line `first_row` on, `rows_per_chunk` lines per chunk, read
    in blocks as `chunks` reads a CSV file and parsed by `scan_ndjson` with `dtypes` (the columns
    `columns`, default all). Each line is a row, with `BLANK` (a blank line holds no record: its fields
    are null) and `RAW_ERROR` (a line that is not a JSON object of `dtypes`: its fields are null), so
    row i is line i, the position of checkpoints and `file:line` errors (`jsonl_lines.parsed_lines`).
    A byte order mark is not part of the first line (Polars' CSV reader agrees)."""
    wanted = list(dtypes if columns is None else columns)
    return _line_chunks(path, lambda data: parsed_lines(data, dtypes, wanted), first_row=first_row,
                        rows_per_chunk=rows_per_chunk, ahead=ahead, skip_bom=True)


def text_chunks(path: str, *, first_row: int, rows_per_chunk: int, ahead: int = 1) -> Iterator[Chunk]:
    """The lines of a text file from line `first_row` on, `rows_per_chunk` per chunk, each the record
    `{line}` without its line ending (a CRLF's CR included), as `scan_lines` reads the whole file;
    a UTF-8 byte order mark opening the file is not part of its first line (as in csv and jsonl).
    `RAW_ERROR` is set (and `line` null) on a line that is not UTF-8."""
    def parsed(data: bytes) -> pl.DataFrame:
        faults = utf8_faults(data)  # a line that is not UTF-8 is a malformed record (`utf8_lines`)
        lines = pl.scan_lines(without_faults(data, faults), name="line").with_columns(
            pl.col("line").str.strip_suffix("\r"), pl.lit(None, pl.String).alias(RAW_ERROR))
        return with_faults(lines, faults, "text", RAW_ERROR).collect(engine="in-memory")

    return _line_chunks(path, parsed, first_row=first_row, rows_per_chunk=rows_per_chunk, ahead=ahead,
                        skip_bom=True)


def _line_chunks(path: str, parse: Any, *, first_row: int, rows_per_chunk: int, ahead: int,
                 skip_bom: bool) -> Iterator[Chunk]:
    """A file of one row per line from line `first_row` on, in chunks of `rows_per_chunk` lines, its
    blocks of whole lines parsed by `parse(data)` (a frame of one row per line)."""
    if rows_per_chunk < 1 or first_row < 0 or ahead < 1:
        raise ValueError(f"rows_per_chunk, ahead must be >= 1 and first_row >= 0, got {rows_per_chunk}, {ahead}, "
                         f"{first_row}")
    blocks = line_blocks(path, first_row, rows_per_chunk / BLOCKS_PER_CHUNK, skip_bom=skip_bom)
    yield from _chunked(_exactly(_parsed_blocks(blocks, lambda start, data: parse(data), ahead), rows_per_chunk),
                        first_row)


def typed_block(data: bytes, schema: Mapping[str, pl.DataType], wanted: list[str],
                numeric: Mapping[str, pl.DataType], parse: Mapping[str, Any]) -> pl.DataFrame | None:
    """The block's columns `wanted` (text, `schema`), those in `numeric` as those types: each value as
    `to_int`/`to_float` read it (a float finite), or None when a non-null text does not convert (the
    exact reading gives its record error).

    Polars' CSV reader parses numbers ~2x faster than it reads their text and a cast converts it
    (W1: 0.75 CPU s of 2.5 per 5M rows), and reads exactly the texts the cast reads, with two
    exceptions found by a fuzz of 100k mutated numbers (tests/runtime/test_typed_csv_blocks.py holds
    its property): it skips a field's leading space or tab, and reads a quoted empty field `""`
    as null where the text is an empty string. A block holding either byte or two quotes in a row is
    read as text and cast instead, and so is a block the typed parse fails on: then a text that is not
    a number gives None, and anything else (a line that is not UTF-8, too many fields) Polars' own error."""
    if numeric and _typed_parse_is_exact(data, parse.get("separator", ","), parse.get("quote_char") or ""):
        try:
            frame = _parsed(data, {**schema, **numeric}, wanted, parse)
        except pl.exceptions.ComputeError:
            pass  # read as text below, which tells a text that is not a number from the rest
        else:
            return frame if _finite(frame, numeric) else None
    frame = _parsed(data, schema, wanted, parse)
    if not numeric:
        return frame
    cast = frame.with_columns(pl.col(name).cast(dtype, strict=False) for name, dtype in numeric.items())
    failed = any((frame[name].is_not_null() & cast[name].is_null()).any() for name in numeric)
    return None if failed or not _finite(cast, numeric) else cast


def _parsed(data: bytes, schema: Mapping[str, pl.DataType], wanted: list[str], parse: Mapping[str, Any]) -> pl.DataFrame:
    block = pl.scan_csv(data, has_header=False, schema=dict(schema), missing_columns="insert", **parse)
    return block.select(wanted).collect(engine="in-memory")  # one in-memory block: no streaming setup


def _typed_parse_is_exact(data: bytes, separator: str, quote: str) -> bool:
    """Whether Polars' typed parse reads every number of `data` as the cast of its text does (see
    `typed_block`): no space or tab in a field (the separator aside), no quoted empty field."""
    blanks = [blank for blank in (b" ", b"\t") if blank != separator.encode()]
    if any(blank in data for blank in blanks):
        return False
    # `in` finds one byte with memchr (0.1 ms a block) but two at ~1 GB/s: the pair only where a quote is
    quoted = quote.encode()
    if quoted and quoted in data:
        return len(blanks) == 2 and quoted * 2 not in data  # else a quoted field may hold the separator
    return True


def _longer_lines(data: bytes, frame: pl.DataFrame, names: list[str], separator: str,
                  parse: Mapping[str, Any]) -> bool:
    """Whether a line of `data` (no quote character in it; parsed to `frame`, which holds the last of
    `names`) holds more fields than `names`. When no line has fewer (a null last field: a short or
    blank line, or an empty last field, which the fast reading leaves to the exact one), the separators
    add up to one less than the names per line only if no line has more. Else the block is parsed
    again with every column, which makes Polars fail on a longer line (its own error)."""
    if frame.get_column(names[-1]).null_count():
        _parsed(data, dict.fromkeys(names, pl.String), list(names), parse)
        return False
    return data.count(separator.encode()) != frame.height * (len(names) - 1)


def _finite(frame: pl.DataFrame, numeric: Mapping[str, pl.DataType]) -> bool:
    """Whether the float columns hold no inf or NaN (the language has none: `to_float` fails on them)."""
    floats = [name for name, dtype in numeric.items() if dtype.is_float()]
    return not floats or not frame.select(pl.any_horizontal((~pl.col(f).is_finite()).any() for f in floats)).item()


def rows_are_lines(data: bytes, quote: bytes, separator: str, rows: int) -> bool:
    """Whether `data`, which holds the quote character and parsed to `rows` rows, holds one record per
    line, each read as the exact reading reads it: the lines are as many as the rows (a field quoted
    over several lines joins lines) and every line that is not blank is plainly quoted
    (`csv_lines.plainly_quoted`; a quote inside an unquoted field, or after a quoted part, would be
    counted differently by the exact reading)."""
    line = pl.col("line")
    blank = line.str.strip_chars_end("\r") == ""
    checked = pl.scan_lines(data, name="line").select(
        lines=pl.len(), irregular=(~blank & ~plainly_quoted(line, quote.decode(), separator)).any())
    counted = checked.collect(engine="in-memory")
    return counted.item(0, "lines") == rows and not counted.item(0, "irregular")


def _parsed_blocks(blocks: Iterator[tuple[int, bytes]], parsed: Any, ahead: int) -> Iterator[pl.DataFrame]:
    """Each block (`line_blocks`) parsed (`parsed(offset, data)`), in order, `ahead` of them read and
    parsed ahead on as many threads (Polars' parse releases the GIL). A parse's error is raised where
    its frame would be yielded."""
    pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="flowc-csv-parse")
    pending: deque[Future[pl.DataFrame]] = deque()

    def read_next() -> None:
        taken = next(blocks, None)
        if taken is not None:
            pending.append(pool.submit(parsed, *taken))

    try:
        for _ in range(ahead):
            read_next()
        while pending:
            frame = pending.popleft().result()
            read_next()
            yield frame
    finally:  # also when the caller stops early: drop the parses not started, let the running ones end
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        if (close := getattr(blocks, "close", None)) is not None:
            close()  # release the file now


def _dropped(frames: Iterator[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """`frames` without their first `rows` rows (the first frame holds them)."""
    for frame in frames:
        yield frame.slice(rows) if rows else frame
        rows = 0


def _exactly(blocks: Iterator[pl.DataFrame], rows: int) -> Iterator[list[pl.DataFrame]]:
    """The blocks' rows re-cut into runs of exactly `rows` rows (the last may hold fewer), each the
    slices of the blocks that hold them. An error getting a block is raised where the run holding its
    first row would be."""
    parts: deque[pl.DataFrame] = deque()
    held = 0
    for block in blocks:
        parts.append(block)
        held += block.height
        while held >= rows:
            held -= rows
            yield _take(parts, rows)
    if held:
        yield _take(parts, held)


def _take(parts: deque[pl.DataFrame], rows: int) -> list[pl.DataFrame]:
    """Slices of `parts` (which hold at least `rows` rows) holding their first `rows` rows, removed from them."""
    taken = []
    while rows:
        head = parts[0]
        if head.height <= rows:
            taken.append(parts.popleft())
            rows -= head.height
        else:
            taken.append(head.slice(0, rows))
            parts[0] = head.slice(rows)
            rows = 0
    return taken


def _chunked(runs: Iterator[list[pl.DataFrame]], first_row: int) -> Iterator[Chunk]:
    """Each run of slices as a chunk from row `first_row` on: their lazy concatenation, made when the
    chunk's query is collected (an eager `concat` is a query of its own, which waited its turn on Polars'
    thread pool on the thread that takes the chunks)."""
    row = first_row
    for parts in runs:
        height = sum(part.height for part in parts)
        yield Chunk(row, height, parts[0].lazy() if len(parts) == 1 else pl.concat([p.lazy() for p in parts]))
        row += height


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


