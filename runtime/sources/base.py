"""What every source reader provides, and the schema helpers they share."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.compiler.polars_types import from_polars, to_polars
from flowc.compiler.source_nested import fitted, textual
from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct, Type


@dataclass(frozen=True, slots=True)
class Chunked:
    """A source read in chunks of `batch_size` rows: each chunk is one micro-batch (SPEC §1), even when
    a filter fused into the source query keeps none of its records. `ends[i]` is chunk i's last row,
    appended as the chunk is taken (so before its batch is collected): the runner pops one per batch
    and checkpoints there, so a batch reads at most `batch_size` records however many it keeps."""

    template: pl.LazyFrame  # no rows, the chunks' columns: what the source query is planned on
    frames: Iterator[pl.LazyFrame]
    ends: deque[int]


def sliced_chunks(piece: Callable[[int, int], pl.LazyFrame], after: int | None, total: int, limit: int | None,
                  rows: int) -> Chunked:
    """The records after row `after` of a reader that holds them (inline, generate: record i is row i,
    `total` in all), at most `limit`, in chunks of `rows`: `piece(start, n)` gives rows `start` on, `n`."""
    first = 0 if after is None else after + 1
    left = max(total - first, 0)
    taken = left if limit is None else min(left, limit)
    ends: deque[int] = deque()

    def frames() -> Iterator[pl.LazyFrame]:
        for start in range(first, first + taken, rows):
            count = min(rows, first + taken - start)
            ends.append(start + count - 1)
            yield piece(start, count)

    return Chunked(piece(first, 0), frames(), ends)


class Reader(Protocol):
    def schema(self, infer_rows: int) -> Struct:
        """The declared schema, else one inferred from the first `infer_rows` records."""
        ...

    def frame(self, schema: Struct, after: int | None, limit: int | None) -> pl.LazyFrame:
        """Raw records after row `after`, at most `limit`, with `ROW`."""
        ...

    def chunks(self, schema: Struct, after: int | None, limit: int | None, rows: int,
               fields: Iterable[str] | None = None) -> Chunked:
        """The records `frame` gives, in chunks of `rows` rows, each chunk one micro-batch; `fields`:
        the columns the query reads (a reader may leave the others out)."""
        ...

    def positions(self, rows: pl.Expr) -> pl.Expr:
        """A record's position as shown in an error envelope, from its row number."""
        ...

    def count(self) -> int:
        """How many records the source holds (read once, at its end, to count what filters dropped)."""
        ...


def inferred(schema: pl.Schema) -> Struct:
    """A frozen schema from sampled Polars dtypes; a field that was null in every sample is a string."""
    fields = []
    for name, dtype in schema.items():
        if name == ROW:
            continue
        try:
            type_ = from_polars(_within_64_bits(dtype))
        except ValueError:
            type_ = t.STRING
        fields.append((name, t.STRING if type_ == t.NULL else type_))
    return Struct(tuple(fields))


def _within_64_bits(dtype: pl.DataType) -> pl.DataType:
    """`dtype` with String for an integer sampled beyond 64 bits (Polars infers Int128), also inside a
    list or struct: it fits no `int`, so it is read as text, intact, rather than as an `int` that the
    very record it was sampled from could not be (a record error)."""
    if isinstance(dtype, pl.Int128 | pl.UInt128):
        return pl.String()
    if isinstance(dtype, pl.List):
        return pl.List(_within_64_bits(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct([pl.Field(f.name, _within_64_bits(f.dtype)) for f in dtype.fields])
    return dtype


def is_scalar(type_: Type) -> bool:
    return not isinstance(type_, ListOf | Struct)


class SourceUnreadable(OSError):
    """A source's file cannot be read at all (to infer its schema): the message names the source, the
    file and Polars' reason."""


def raw_dtypes(schema: Struct) -> dict[str, pl.DataType]:
    """How a text format reads `schema`: scalars as strings (converted later), nested types as declared."""
    return {name: pl.String() if is_scalar(type_) else to_polars(type_) for name, type_ in schema.fields}


def built_dtypes(schema: Struct) -> dict[str, pl.DataType]:
    """How records built from Python values (inline, watched JSON lines, HTTP) hold `schema`: as
    `raw_dtypes`, with nested datetimes, dates and durations as text (YAML and JSON values have no
    timestamps), which the scan reads as it reads top-level ones."""
    return {name: textual(dtype) for name, dtype in raw_dtypes(schema).items()}


def nested_fitted(records: Sequence[Mapping[str, Any] | None], schema: Struct) -> tuple[dict[str, list[Any]],
                                                                                          list[str | None]]:
    """The nested fields of `records` (built from YAML or JSON; None for a record not decoded) fitted
    to `schema` (`source_nested.fitted`), and each record's first misfit (`code: message`, for the
    `READER_ERROR` column; None where it fits). Its field is then null."""
    columns: dict[str, list[Any]] = {}
    errors: list[str | None] = [None] * len(records)
    for name, type_ in schema.fields:
        if is_scalar(type_):
            continue
        columns[name] = []
        for i, record in enumerate(records):
            value, error = fitted(_decoded(None if record is None else record.get(name)), type_, name)
            columns[name].append(value)
            errors[i] = errors[i] or error
    return columns, errors


def _decoded(value: Any) -> Any:
    """A list or struct field's value; its JSON text decoded (a watched CSV file's field holds the
    text, as a bounded one's does: `source_nested.nested_from_json`). Text that is not JSON stays text,
    which then does not fit."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def numbered(frame: pl.LazyFrame, after: int | None, limit: int | None) -> pl.LazyFrame:
    """`frame` (which has `ROW`) from row `after + 1`, at most `limit` rows; slices push into scans."""
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    start = 0 if after is None else after + 1
    return frame.slice(start, limit) if start or limit is not None else frame
