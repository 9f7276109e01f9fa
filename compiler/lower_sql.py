"""Running a `sql` step's query (SPEC §4) so that a record it fails on is a record error (SPEC §6).

Polars SQL has no per-record error: a CAST of a value that does not convert (`CAST(b AS INT)` of
'x'), in the SELECT list or in WHERE, fails the whole query, and with it the batch. The query is
row-wise (E307 refuses everything else), so a record fails alone exactly when it fails within a
batch: when the batch fails, the failing records are found by bisection, each a record error
`sql: cannot cast "x" from str to i32 (column 'b')` (Polars' reason otherwise), and the query runs
again on the others. This keeps Polars' own semantics (a CAST in a CASE branch that a record does
not take does not fail it) without rewriting the query. Finding k failing records of n costs about
k * log2(n) runs of the query on small slices (about 0.3 ms each): a batch where most records fail
is slow, never wrong. A query that fails on an empty frame of its input is not a record's fault:
that failure fails the run, as before.
"""

from __future__ import annotations

import re

import polars as pl

_CONVERSION = re.compile(r"conversion from `(?P<source>[^`]+)` to `(?P<target>[^`]+)` failed in column "
                         r"'(?P<column>[^']*)' for \d+ out of \d+ values: \[(?P<value>.*)\]")
_MESSAGE_CHARS = 300


def queried(record: pl.LazyFrame, query: str) -> pl.LazyFrame:
    """`query` over `record` (as `input`). Polars' SQL reads a literal like `2.5` as a decimal, and
    arithmetic with it stays decimal: such columns come out as floats, flowc's type for them."""
    return pl.SQLContext(input=record).execute(query).with_columns(pl.selectors.decimal().cast(pl.Float64))


class SqlBatch:
    """One batch's run of `query`: `errors` (a `LazyFrame.map_batches` function) gives each input row
    its error column; `finish` gives the query's output over the rows without one.

    When no row failed, `errors` already ran the query on the whole batch: `finish` is then given those
    same rows and returns the output it kept, instead of running the query a second time."""

    def __init__(self, query: str, error: str, hidden: tuple[str, ...], row: str) -> None:
        # imported here: sqlglot takes ~0.14 s to import, which only a spec with a sql step needs
        from flowc.compiler.checks.sql_rules import rows_query

        self.query, self.error, self.hidden, self.row = query, error, hidden, row
        self.rows_query = rows_query(query, row)
        self.output: pl.DataFrame | None = None

    def errors(self, frame: pl.DataFrame) -> pl.DataFrame:
        record = frame.drop([c for c in self.hidden if c in frame.columns])
        self.output = None
        failure = self._failure(record)
        if failure is None:
            return frame.with_columns(pl.lit(None, dtype=pl.String).alias(self.error))
        if self._failure(record.head(0)) is not None:
            raise failure  # the query itself, not a record (an operator the input's types refuse)
        found: dict[int, str] = {}
        self._bisect(record, 0, record.height, failure, found)
        if not found:  # no record fails alone: not row-wise after all; the batch fails as Polars says
            raise failure
        self.output = None
        column = pl.Series(self.error, [found.get(i) for i in range(record.height)], dtype=pl.String)
        return frame.with_columns(column)

    def finish(self, rows: pl.LazyFrame) -> pl.LazyFrame:
        """The query's output, with the `row` column of the input row each output row comes from."""
        record = rows.drop([c for c in self.hidden if c in rows.collect_schema()])
        output = self.output if self.output is not None else queried(record, self.query).collect()
        return pl.concat([output, self._rows_kept(rows, output.height)], how="horizontal").lazy()

    def _rows_kept(self, rows: pl.LazyFrame, height: int) -> pl.DataFrame:
        """The `row` of each input row the query kept: the same FROM and WHERE selecting that column
        (SPEC §6: a record keeps its source position). Null where that cannot be told."""
        unknown = pl.DataFrame({self.row: pl.Series([None] * height, dtype=pl.Int64)})
        if self.rows_query is None or self.row not in rows.collect_schema():
            return unknown
        try:
            kept = pl.SQLContext(input=rows.select(pl.all())).execute(self.rows_query).collect()
        except pl.exceptions.PolarsError:
            return unknown  # e.g. a WHERE naming an alias of the select list
        return kept.select(pl.col(self.row).cast(pl.Int64)) if kept.height == height else unknown

    def _failure(self, record: pl.DataFrame) -> pl.exceptions.PolarsError | None:
        try:
            output = queried(record.lazy(), self.query).collect()
        except pl.exceptions.PolarsError as error:
            return error
        self.output = output
        return None

    def _bisect(self, record: pl.DataFrame, start: int, stop: int, failure: Exception, found: dict[int, str]) -> None:
        """Every failing row of `record[start:stop]`, a range the query failed on with `failure`."""
        if stop - start == 1:
            found[start] = message(failure)
            return
        middle = (start + stop) // 2
        for low, high in ((start, middle), (middle, stop)):
            part = self._failure(record.slice(low, high - low))
            if part is not None:
                self._bisect(record, low, high, part, found)


def message(failure: Exception) -> str:
    """`sql: <reason>` for a record's error column: a failed cast in our words, else Polars' first line."""
    text = str(failure).strip()
    line = text.splitlines()[0] if text else type(failure).__name__
    cast = _CONVERSION.search(line)
    if cast is not None:
        return (f"sql: cannot cast {cast['value']} from {cast['source']} to {cast['target']} "
                f"(column '{cast['column']}')")
    return f"sql: {line[:_MESSAGE_CHARS]}"
