"""Rows of a file source that hold no record, and the records between two rows.

A file source's row i is its line i (CSV, JSON lines: the position of checkpoints and `file:line`
errors), so a blank line, or a line a CSV record spans after its first, is a row that holds no record.
`--limit N` reads N records and the summary's `read` counts records (SPEC §10): the runner asks the
reader how many records the rows between two positions hold (`records_in`), and the reader notes each
such row as its chunks are read (`note`), before the batch holding them is committed. A limited read
in chunks (`numbered_chunks`) takes N records and tells where the N-th is (`Ledger.limit_end`), so the
runner checkpoints right after it even when a filter dropped the records before it.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterator

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.compiler.source_types import SLOW_PATH, NeedsExactReading
from flowc.runtime.sources.csv_lines import BLANK
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.line_chunks import Chunk


class EmptyRows:
    """The rows found to hold no record, in increasing order (8 bytes each). Chunks are noted on the
    reader's worker thread while the runner counts on its own: a lock keeps the two apart."""

    def __init__(self) -> None:
        self._rows = array("q")
        self._lock = threading.Lock()

    def note(self, numbered: pl.LazyFrame) -> None:
        """Note the rows of a numbered chunk (with `ROW` and `BLANK`) that hold no record."""
        found = numbered.filter(pl.col(BLANK)).select(ROW).collect().to_series().to_list()
        with self._lock:
            start = bisect_left(self._rows, found[0]) if found else len(self._rows)
            del self._rows[start:]  # a chunk read again (the exact reading after the fast one)
            self._rows.extend(found)

    def forget(self, first: int) -> None:
        """Forget the rows from `first` on: they are about to be read again."""
        with self._lock:
            del self._rows[bisect_left(self._rows, first):]

    def records(self, after: int | None, last: int) -> int:
        """How many records rows `after + 1` to `last` hold (`after` None: from the first row)."""
        start = -1 if after is None else after
        if last <= start:
            return 0
        with self._lock:
            empty = bisect_right(self._rows, last) - bisect_right(self._rows, start)
        return last - start - empty


class Ledger:
    """What a file reader's reads in chunks learned: the rows that hold no record, where the last
    limited read ended (`limit_end`: its last record's row, when records remain after it) and the
    source's rows, once read to its end. `chunked`: the last read was in chunks (a frame's limit is
    rows). Set on the reader's worker thread; read by the runner after the read."""

    def __init__(self) -> None:
        self.empty = EmptyRows()
        self.chunked = False
        self.limit_end: int | None = None
        self.rows_counted: int | None = None
        self.ends: deque[int] = deque()  # the last row of each chunk taken (`base.Chunked.ends`)

    def start(self, first: int) -> None:
        """A read in chunks from row `first` begins: what was noted from there on is read again."""
        self.chunked, self.limit_end, self.ends = True, None, deque()
        self.empty.forget(first)


def numbered_chunks(paths: list[str], count: Callable[[str], int], pieces: Callable[[str, int], Iterator[Chunk]],
                    finish: Callable[[str, pl.LazyFrame], pl.LazyFrame], first: int, limit: int | None,
                    ledger: Ledger) -> Iterator[pl.LazyFrame]:
    """Each file's chunks (`pieces(path, first row)`), finished (`finish(path, frame)`), with `ROW`
    (row numbers run on across the files), from row `first`, at most `limit` records in all: a
    blank line, or a line a CSV record spans after its first, holds none (noted in `ledger.empty`).
    `count(path)`: a file's rows, to skip the files wholly before `first`. The files read to their
    end give the source's row count (`ledger.rows_counted`): it need not be counted again.

    Once `limit` records are taken, the rows after them are read on until one holds a record (then
    `ledger.limit_end` is the last record's row: the limit cut the read short) or the files end (the
    source is read: blank lines after its last record are not one more run's work)."""
    left, offset = limit, 0  # offset: the rows of the files before this one
    ledger.limit_end = first - 1 if limit == 0 else None
    for path in paths:
        if first - offset > 0 and first - offset >= (held := count(path)):
            offset += held  # wholly before the resume point
            continue
        end = max(first - offset, 0)
        for piece in pieces(path, end):
            numbered_piece = row_numbered(piece.frame, offset + piece.first_row)
            if BLANK in piece.frame.collect_schema().names():
                ledger.empty.note(numbered_piece)
            frame = finish(path, numbered_piece)
            end = piece.first_row + piece.rows
            if left is None:
                ledger.ends.append(offset + end - 1)
                yield frame
                continue
            taken = frame.collect()
            if left:
                head = taken.head(left)
                left -= head.height
                if left == 0:
                    ledger.limit_end = int(head.get_column(ROW)[-1])
                ledger.ends.append(offset + end - 1 if left else ledger.limit_end)
                yield head.lazy()
                taken = taken.slice(head.height)
            if left == 0 and _holds_records(taken, path):  # past the limit: a record remains
                return
        offset += end
    ledger.limit_end = None
    ledger.rows_counted = offset


def row_numbered(frame: pl.LazyFrame, first_row: int) -> pl.LazyFrame:
    """`frame` with `ROW` (Int64) from `first_row` on."""
    return frame.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64))


def _holds_records(rows: pl.DataFrame, path: str) -> bool:
    """Whether `rows` (after the limit) hold a record. A row the fast reading left for the exact one to
    judge (SLOW_PATH) may be a blank line: the exact reading reads on from the limit's end."""
    if RAW_ERROR in rows.columns and (rows.get_column(RAW_ERROR) == SLOW_PATH).any():
        raise NeedsExactReading(f"{path}: the rows after --limit need the exact reading")
    return rows.height > 0


def records_between(reader: object, after: int | None, last: int) -> int:
    """How many records the rows after `after` up to `last` of a source hold: its reader's `records_in`
    when it has one (a file source, whose rows may hold none), else one a row."""
    counted = getattr(reader, "records_in", None)
    if counted is not None:
        return counted(after, last)
    return max(last - (-1 if after is None else after), 0)


def limit_end(reader: object, after: int | None, limit: int | None) -> int | None:
    """The row of the last record a limited read from row `after` took, when records remain after it
    (the limit cut the read short); None when the read was not limited, or reached the source's end.
    A reader that knows (`limit_end`) says; else records are rows, and its `count` tells."""
    if limit is None:
        return None
    known = getattr(reader, "limit_end", None)
    if known is not None:
        return known(after, limit)
    end = (-1 if after is None else after) + limit
    return end if reader.count() > end + 1 else None  # type: ignore[attr-defined]
