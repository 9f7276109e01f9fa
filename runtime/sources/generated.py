"""Sources written in the spec itself: `inline` records and `generate`d ones (SPEC §3)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from flowc.compiler.lower_expr import lower
from flowc.compiler.lower_plan import ROW
from flowc.compiler.lowered import LowerContext
from flowc.compiler.spec import Source, thaw
from flowc.compiler.typecheck import check_expression
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.base import inferred, is_scalar, numbered, raw_dtypes

_GENERATED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # what `now()` gives in a generator: data must replay equal


def _text(value: object) -> object:
    """A scalar as the text a file would hold, so inline records are read like every other source."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class InlineReader:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.records = [thaw(r) for r in source.records]

    def schema(self, infer_rows: int) -> Struct:
        if self.source.schema is not None:
            return self.source.schema
        sample = pl.from_dicts(self.records[:infer_rows], infer_schema_length=None, strict=False) if self.records \
            else pl.DataFrame()
        return inferred(sample.schema)

    def frame(self, schema: Struct, after: int | None, limit: int | None) -> pl.LazyFrame:
        dtypes = raw_dtypes(schema)
        columns = {
            name: [(_text(r.get(name)) if is_scalar(type_) else r.get(name)) for r in self.records]
            for name, type_ in schema.fields
        }
        frame = pl.DataFrame(columns, schema=dtypes, strict=False).with_row_index(ROW)
        return numbered(frame.lazy(), after, limit)

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
        numbers = pl.LazyFrame().select(pl.int_range(0, self.total, dtype=pl.Int64).alias("_n"))
        numbers = numbered(numbers.with_columns(pl.col("_n").alias(ROW)), after, limit)
        exprs = dict(self.source.fields)
        values = [lower(exprs[name].expr, LowerContext(typed.types, _GENERATED_AT)).value.alias(name)
                  for name, typed in self._typed]
        return numbers.select(*values, ROW)

    def positions(self, rows: pl.Expr) -> pl.Expr:
        return pl.format("_n={}", rows)

    def count(self) -> int:
        return self.total
