"""Sources written in the spec itself: `inline` records and `generate`d ones (SPEC §3)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flowc.compiler.checks.source_schemas import records_schema
from flowc.compiler.lower_expr import lower
from flowc.compiler.lower_plan import READER_ERROR, ROW
from flowc.compiler.lowered import LowerContext, Lowered, first_error
from flowc.compiler.spec import Source, thaw
from flowc.compiler.typecheck import check_expression
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.dsl.units import parse_rate
from flowc.runtime.sources.base import (
    Chunked,
    built_dtypes,
    nested_fitted,
    numbered,
    sliced_chunks,
)

_GENERATED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # what `now()` gives in a generator: data must replay equal


def _floats(values: list[object]) -> list[float | None] | None:
    """`values` as floats when all are numbers (an int too large for a float is not: as text, it is a
    conversion error, not a null), else None."""
    if not all(v is None or type(v) in (int, float) for v in values):
        return None
    try:
        return [None if v is None else float(v) for v in values]
    except OverflowError:
        return None


def _text(value: object) -> object:
    """A scalar as the text a file would hold, so inline records are read like every other source; a
    list or mapping (in a field typed string: values of no common type) as its JSON text, in the
    order written, as a JSON source gives it (it was Python's repr, `{'x': 1}`)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


class InlineReader:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.records = [thaw(r) for r in source.records]

    def schema(self, infer_rows: int) -> Struct:
        if self.source.schema is not None:
            return self.source.schema
        return records_schema(tuple(self.records[:infer_rows]), open_type=t.STRING)  # as validation types them

    def frame(self, schema: Struct, after: int | None, limit: int | None) -> pl.LazyFrame:
        dtypes = built_dtypes(schema)
        nested, misfits = nested_fitted(self.records, schema)
        columns = {name: nested[name] if name in nested else [_text(r.get(name)) for r in self.records]
                   for name, _ in schema.fields}
        for name, type_ in schema.fields:  # YAML's .inf and .nan are floats, which no text of a float reads as
            if type_ == t.FLOAT and (floats := _floats([r.get(name) for r in self.records])) is not None:
                dtypes[name], columns[name] = pl.Float64(), floats
        # built beside the row numbers, so that records of no fields are still rows
        rows = pl.DataFrame({ROW: pl.Series(range(len(self.records)), dtype=pl.UInt32)})
        if any(misfits):
            rows = rows.with_columns(pl.Series(READER_ERROR, misfits, dtype=pl.String))
        frame = rows.hstack(pl.DataFrame(columns, schema=dtypes, strict=False)) if columns else rows
        return numbered(frame.lazy(), after, limit)

    def chunks(self, schema: Struct, after: int | None, limit: int | None, rows: int,
               fields: Iterable[str] | None = None) -> Chunked:
        """The records in chunks of `rows` (`base.sliced_chunks`), slices of one frame."""
        first = 0 if after is None else after + 1
        whole = self.frame(schema, after, limit)
        return sliced_chunks(lambda start, count: whole.slice(start - first, count), after, len(self.records), limit,
                             rows)

    def positions(self, rows: pl.Expr) -> pl.Expr:
        return pl.format("records[{}]", rows)

    def count(self) -> int:
        return len(self.records)


class GenerateReader:
    """`count` records; field expressions read `_n`, the record number (0, 1, ...)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.total = int(source.config.get("count", 0))
        self._typed = [(name, check_expression(e.expr, Struct((("_n", t.INT),)), where=f"generate field '{name}'"))
                       for name, e in source.fields if e.expr is not None]

    def schema(self, infer_rows: int) -> Struct:
        return Struct(tuple((name, typed.type or t.STRING) for name, typed in self._typed))

    def frame(self, schema: Struct, after: int | None, limit: int | None) -> pl.LazyFrame:
        return self.rows(0, self.total, after, limit)

    def rows(self, start: int, stop: int, after: int | None = None, limit: int | None = None) -> pl.LazyFrame:
        """Records `_n` in `[start, stop)` (then after row `after`, at most `limit`), with `ROW` = `_n`.
        A field whose expression fails on a record (`to_int("x")`, an integer overflow) makes it a
        record error (SPEC §5, §6), in `READER_ERROR`: its value was null, and an overflow wrapped."""
        numbers = pl.LazyFrame().select(pl.int_range(start, stop, dtype=pl.Int64).alias("_n"))
        numbers = numbered(numbers.with_columns(pl.col("_n").alias(ROW)), after, limit)
        exprs = dict(self.source.fields)
        lowered = [(name, lower(exprs[name].expr, LowerContext(typed.types, _GENERATED_AT)))
                   for name, typed in self._typed]
        error = first_error(*(value.error for _, value in lowered))
        failed = [] if error is None else [error.alias(READER_ERROR)]
        return numbers.select(*(_checked(value).alias(name) for name, value in lowered), ROW, *failed)

    def chunks(self, schema: Struct, after: int | None, limit: int | None, rows: int,
               fields: Iterable[str] | None = None) -> Chunked:
        """The records in chunks of `rows` (`base.sliced_chunks`), each made alone."""
        return sliced_chunks(lambda start, count: self.rows(start, start + count), after, self.total, limit, rows)

    def positions(self, rows: pl.Expr) -> pl.Expr:
        return pl.format("_n={}", rows)

    def count(self) -> int:
        return self.total


def _checked(lowered: Lowered) -> pl.Expr:
    """The value, null where it failed: the error envelope holds the record as the source typed it
    (null where a value did not convert), never a wrapped overflow."""
    if lowered.error is None:
        return lowered.value
    return pl.when(lowered.error.is_null()).then(lowered.value)


class GenerateFeed:
    """A generator with a `rate`, or without a `count` (endless): polled like an unbounded source, so
    records are released no faster than `rate` per second and a run stops and resumes at `_n`
    (SPEC §3: synthetic data for demos and benchmarks). Without `rate` it goes as fast as it is read."""

    def __init__(self, source: Source, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.reader = GenerateReader(source)
        self.schema = self.reader.schema(0)
        count, rate = source.config.get("count"), source.config.get("rate")
        self.count = int(count) if count is not None else None
        self.rate = parse_rate(rate) if rate is not None else None
        self.clock, self.sleep = clock, sleep
        self.next = self.first = 0
        self.started = 0.0

    def open(self, position: Mapping[str, Any] | None) -> None:
        self.next = self.first = int(position["next"]) if position else 0
        self.started = self.clock()

    def _due(self) -> int:
        """How many records the rate allows now, beyond those already released in this run."""
        if self.rate is None:
            return 1 << 62
        return int((self.clock() - self.started) * self.rate) - (self.next - self.first)

    def _forget_idle_time(self) -> None:
        """Time the feed was not polled (a pause, a slow batch) banks at most one second's records, so
        `flowc resume` goes on at the rate instead of releasing the paused time's records in a burst."""
        if self.rate is not None and self._due() > self.rate:
            self.started, self.first = self.clock() - 1.0, self.next

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None:
        wanted = max_records if self.count is None else min(max_records, self.count - self.next)
        if wanted <= 0:
            return None
        self._forget_idle_time()
        deadline = self.clock() + timeout
        while self._due() < 1 and self.clock() < deadline:
            self.sleep(max(min(deadline - self.clock(), 1 / self.rate), 0.0))  # type: ignore[operator]
        if self._due() < 1:
            return None
        deadline = self.clock() + timeout  # a partial batch waits `batch_timeout` from its first record
        while self._due() < wanted and self.clock() < deadline:
            self.sleep(max(min(deadline - self.clock(), (wanted - self._due()) / self.rate), 0.0))  # type: ignore[operator]
        taken = min(wanted, self._due())
        frame = self.reader.rows(self.next, self.next + taken).collect()
        self.next += taken
        return frame

    def position(self) -> dict[str, Any]:
        return {"next": self.next}

    def committed(self, position: Mapping[str, Any]) -> None:
        pass  # the position alone says where to go on

    def positions(self, rows: pl.Expr) -> pl.Expr:
        return self.reader.positions(rows)

    def exhausted(self) -> bool:
        return self.count is not None and self.next >= self.count

    def status(self) -> dict[str, Any]:
        return {"next": self.next, "count": self.count, "rate": self.rate}

    def close(self) -> None:
        pass
