"""Record encodings for text file sinks, done by Polars' own writers one batch at a time.

Values are written as a user of JSON would expect: datetimes as ISO-8601 UTC with microseconds and
`Z` (naive datetimes are UTC, SPEC §3), durations as ISO-8601 durations (`PT5M0.000003S`), dates as
`YYYY-MM-DD`, NaN as null. In CSV, structs and lists are written as JSON text. A record with no
fields (after `drop` of every field) is `{}` in JSON and an empty line in CSV: still one per record.

Rotation by size needs each record's encoded length; `record_ends` finds record boundaries in the
encoded bytes with C-level bytes methods rather than a Python loop per record.
"""

from __future__ import annotations

from itertools import accumulate, compress

import polars as pl

ISO_DATETIME = "%Y-%m-%dT%H:%M:%S%.6fZ"
NESTED = (pl.Struct, pl.List, pl.Array)


def _needs_text(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Datetime | pl.Duration):
        return True
    if isinstance(dtype, pl.Struct):
        return any(_needs_text(field.dtype) for field in dtype.fields)
    if isinstance(dtype, pl.List | pl.Array):
        return _needs_text(dtype.inner)
    return False


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """`expr` with every datetime and duration inside it (however nested) turned into ISO text."""
    if not _needs_text(dtype):
        return expr
    if isinstance(dtype, pl.Datetime):
        # as naive UTC: formatting a zoned datetime costs Polars ~30% more, for the same text
        utc = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else expr
        return utc.dt.to_string(ISO_DATETIME)
    if isinstance(dtype, pl.Duration):
        return expr.dt.to_string()
    if isinstance(dtype, pl.Struct):
        fields = [_as_text(expr.struct.field(f.name), f.dtype).alias(f.name) for f in dtype.fields]
        # pl.struct(...) of a null struct would be a struct of nulls: keep the null.
        return pl.when(expr.is_null()).then(None).otherwise(pl.struct(fields))
    return expr.list.eval(_as_text(pl.element(), dtype.inner))


def _as_json_text(expr: pl.Expr) -> pl.Expr:
    """A nested value as JSON text (for CSV): encode `{"v": value}` and keep the value's part."""
    encoded = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
    return pl.when(expr.is_null()).then(None).otherwise(encoded)


def as_text(expr: pl.Expr, dtype: pl.DataType, json: bool) -> pl.Expr:
    """`expr` with its datetimes and durations as ISO text, and (`json`) a nested value as JSON text."""
    expr = _as_text(expr, dtype)
    return _as_json_text(expr) if json else expr


def _text_columns(schema: pl.Schema, csv: bool) -> list[pl.Expr] | None:
    """The expressions that turn a frame of `schema` into text-ready columns; None when every column is
    written as it is (no query needed)."""
    columns, changed = [], False
    for name, dtype in schema.items():
        expr = _as_text(pl.col(name), dtype)
        if csv and isinstance(dtype, NESTED):
            expr = _as_json_text(expr)
        elif csv and dtype.is_float():  # inf and NaN as JSON writes them (null): the language reads neither
            expr = pl.when(expr.is_finite()).then(expr)
        changed |= not expr.meta.eq(pl.col(name))
        columns.append(expr.alias(name))
    return columns if changed else None


def prepare_text(df: pl.DataFrame, csv: bool) -> pl.DataFrame:
    if not df.width:  # records with no fields: `select([])` would also drop the rows (height 0)
        return df
    columns = _text_columns(df.schema, csv)
    return df if columns is None else df.select(columns)


def _prepared(df: pl.DataFrame, csv: bool) -> pl.LazyFrame:
    """`df` made text-ready, lazily: the conversion and the writer then run as one Polars query (each
    query waits its turn on Polars' thread pool, busy with the source's chunks while a run encodes)."""
    columns = _text_columns(df.schema, csv) if df.width else None
    return df.lazy() if columns is None else df.lazy().select(columns)


class _Pieces:
    """Where Polars' writers put a batch's bytes: the pieces they hand over (0.7-2.5 MB on W1), kept as
    they are. A `BytesIO` grows by copying (a fifth of the time JSON lines of a batch take to write),
    `write_ndjson()` without a file builds a str that `.encode()` copies again, and joining the pieces
    makes a fresh 8 MB buffer per W1 batch, whose page faults and copy cost the runner's thread
    ~0.1 s per 1M records: a file sink writes the pieces one after the other (`jsonl_pieces`)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))  # no copy of a bytes object
        return len(data)

    def flush(self) -> None:
        pass


def jsonl_pieces(df: pl.DataFrame) -> list[bytes]:
    """`df` as JSON lines, in pieces that together are `encode_jsonl(df)`."""
    written = _Pieces()
    _prepared(df, csv=False).sink_ndjson(written, maintain_order=True)
    return written.pieces


def csv_pieces(df: pl.DataFrame) -> list[bytes]:
    """`df` as CSV rows without a header, in pieces that together are `encode_csv(df)`."""
    if not df.width:  # a record with no fields is an empty line (Polars refuses to write no columns)
        return [b"\n" * df.height]
    written = _Pieces()
    _prepared(df, csv=True).sink_csv(written, include_header=False, maintain_order=True)
    return written.pieces


def encode_jsonl(df: pl.DataFrame) -> bytes:
    return b"".join(jsonl_pieces(df))


def encode_csv(df: pl.DataFrame) -> bytes:
    return b"".join(csv_pieces(df))


def csv_header(schema: pl.Schema) -> bytes:
    # Only the names matter; string columns keep Polars from refusing nested types.
    return pl.DataFrame(schema=dict.fromkeys(schema, pl.String)).write_csv(include_header=True).encode()


def record_ends(data: bytes, csv: bool) -> list[int]:
    """The byte offset just past each record of `data` (JSON lines, or Polars CSV rows).

    A CSV field holding a newline is quoted, and quotes inside it are doubled, so a newline ends a
    row exactly when the quotes before it are balanced.
    """
    pieces = data.split(b"\n")[:-1]
    ends = list(accumulate(len(piece) + 1 for piece in pieces))
    if not csv:
        return ends
    balanced = (count % 2 == 0 for count in accumulate(piece.count(b'"') for piece in pieces))
    return list(compress(ends, balanced))
