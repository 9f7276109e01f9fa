"""Rows of a file source that hold no record, and the records between two rows.

A file source's row i is its line i (CSV, JSON lines: the position of checkpoints and `file:line`
errors), so a blank line, or a line a CSV record spans after its first, is a row that holds no record.
`--limit N` reads N records and the summary's `read` counts records (SPEC §10): the runner asks the
reader how many records the rows between two positions hold (`records_in`), and the reader notes each
such row as its chunks are read (`note`), before the batch holding them is committed.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.runtime.sources.csv_lines import BLANK


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
