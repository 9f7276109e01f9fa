"""The columns of a file sink, and how a csv or parquet file keeps one set of them.

A `csv` file has one header row and a `parquet` file one schema, so every record of one file must
have the same columns. Two places break that, and both are handled here:

- The `dead_letter` sink gathers the `.errors` (and `.late`) records of several steps, whose records
  differ (SPEC §6: the failing node's input record, then `_error` and `_source`). Its csv or parquet
  files take the union of those records' columns, in the order they first appear, with `_error` and
  `_source` last; a record lacking a column has it null (empty in csv). A column whose type differs
  between the steps is written as text (JSON text for lists and structs, ISO text for datetimes), so
  that one parquet schema holds every record. jsonl and json dead letters keep each record's own
  fields.
- A resumed run whose spec changed a stateless step (SPEC §9 allows it) may write other columns than
  the file in progress holds; `schema_change` says how, for the writer to start a new file (rotated
  sinks) or refuse the resume.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from flowc.compiler import ir
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.dsl.types import Struct
from flowc.runtime.sinks.encoding import NESTED, as_text

ENVELOPE = ("_error", "_source")


def polars_columns(schema: Struct | None) -> pl.Schema | None:
    """The Polars schema of records of `schema` (a plan's node schema; None: unknown)."""
    return pl.Schema({name: to_polars(type_) for name, type_ in schema.fields}) if schema is not None else None


def sink_columns(plan: Plan, node: ir.SinkNode) -> dict[str, Any]:
    """The writer's `columns` (of a file with no records) and `align` (batches are aligned to them: a
    sink of several inputs, the dead-letter one, whose csv or parquet files need one set of columns)."""
    if len(node.inputs) <= 1:
        return {"columns": polars_columns(plan.schemas.get(node)), "align": False}
    schemas = [polars_columns(plan.schemas.get(i)) for i in node.inputs]
    if any(schema is None for schema in schemas):
        return {"columns": None, "align": False}
    return {"columns": union_columns(schemas), "align": True}


def union_columns(schemas: Sequence[pl.Schema]) -> pl.Schema:
    """Every column of `schemas` once, in first-seen order, the envelope last; a column whose types
    differ (a null type fits any) is text."""
    found: dict[str, pl.DataType] = {}
    for schema in schemas:
        for name, dtype in schema.items():
            known = found.get(name)
            if known is None or known == pl.Null:
                found[name] = dtype
            elif dtype != known and dtype != pl.Null:
                found[name] = pl.String
    order = [n for n in found if n not in ENVELOPE] + [n for n in ENVELOPE if n in found]
    return pl.Schema({name: found[name] for name in order})


def align(df: pl.DataFrame, columns: pl.Schema) -> pl.DataFrame:
    """`df` with exactly `columns`: missing ones null, a type that differs converted. A column the plan
    does not know is not dropped: `df` stays as it is, and the writer refuses a batch of other columns."""
    if df.schema == columns or any(name not in columns for name in df.columns):
        return df
    exprs = []
    for name, dtype in columns.items():
        have = df.schema.get(name)
        if have is None:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif have == dtype:
            exprs.append(pl.col(name))
        elif dtype == pl.String:
            exprs.append(text_of(pl.col(name), have).alias(name))
        else:
            exprs.append(pl.col(name).cast(dtype, strict=False))
    return df.select(exprs)


def text_of(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as text: JSON text for a list or struct, ISO text for a datetime or duration."""
    return as_text(expr, dtype, json=isinstance(dtype, NESTED)).cast(pl.String)


def schema_change(written: Sequence[str] | pl.Schema, wanted: pl.Schema) -> str | None:
    """How `wanted` differs from the columns a file holds (`written`: names for csv, whose header holds
    only names; a schema for parquet); None when it does not."""
    names = list(written)
    if names == list(wanted) and (not isinstance(written, pl.Schema) or written == wanted):
        return None
    added = [n for n in wanted if n not in names]
    removed = [n for n in names if n not in wanted]
    retyped = [f"{n} ({written[n]} -> {wanted[n]})" for n in names
               if isinstance(written, pl.Schema) and n in wanted and written[n] != wanted[n]]
    parts = [f"{label} {', '.join(found)}" for label, found in
             (("adds", added), ("removes", removed), ("changes the type of", retyped)) if found]
    return "; ".join(parts) or f"reorders the columns ({', '.join(names)} -> {', '.join(wanted)})"
