"""Lowering plan nodes to Polars: one handler per node (ibis' `backends/polars/compiler.py` style).

`lower_node(node, ctx)` turns the LazyFrames of a node's inputs into a `Staged` frame. A node that
cannot fail gives its output directly. A node that can fail gives its output *staged*: the rows still
carry what the error envelope needs (the node's input record) and an `ERROR` column (`"code: message"`,
null where the row is fine); the runner splits the rows on it and applies `finish` to the good ones.
So a record error is a value plus an error mask, never an exception that sinks the batch (SPEC §6).

Every frame carries the hidden column `ROW` (the record's row number in its source, for positions in
error envelopes and for resuming); sinks drop it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_assign import built, set_targets
from flowc.compiler.lower_expr import lower, lower_predicate
from flowc.compiler.lower_sql import SqlBatch
from flowc.compiler.lowered import InternalError, LowerContext, Lowered, first_error
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.compiler.source_types import convert, fast_only, slow_path_signal
from flowc.compiler.spec import Assignment
from flowc.dsl import ast
from flowc.dsl.types import ListOf, Struct, Type

ROW = "__flowc_row"  # Int64: the record's row number in its source
ERROR = "__flowc_error"  # String: "<code>: <message>" on rows with a record error
RAW_ERROR = "__flowc_raw_error"  # a polled source's undecodable record (`flowc.runtime.sources.feed`)
# a record error its reader found, "<code>: <message>": a `generate` field's expression failed, or a
# nested value built from YAML or JSON does not fit the schema (`source_nested.fitted`)
READER_ERROR = "__flowc_reader_error"
BRANCH = "__flowc_branch"  # Int64: which input of a union a record came through (only on the way from a
# union to a stateful node that reads several of its inputs from one source: runtime/batching.py)
HIDDEN = (ROW, ERROR, BRANCH)
_KEEP = "__flowc_keep"


@dataclass(frozen=True, slots=True)
class NodeContext:
    plan: Plan
    now: datetime
    inputs: tuple[pl.LazyFrame, ...]
    carry_error: bool = False  # the input already has an ERROR column (rows a filter must let through)

    def hidden(self) -> tuple[str, ...]:
        """The hidden columns a node that picks its output columns keeps (a side output's records have
        no ROW: their position is in `_source`)."""
        present = self.inputs[0].collect_schema()
        row = (ROW,) if ROW in present else ()
        branch = (BRANCH,) if BRANCH in present else ()
        return (*row, ERROR, *branch) if self.carry_error else (*row, *branch)

    def expr(self, node: ir.Node) -> LowerContext:
        return LowerContext(types=self.plan.types.get(node, {}), now=self.now)


@dataclass(frozen=True, slots=True)
class Staged:
    """`frame` is the output, unless `fails`: then it has `ERROR`, the columns `record` of the record an
    error envelope carries, and `finish` (when not None) turns its good rows into the output."""

    frame: pl.LazyFrame
    fails: bool = False
    record: tuple[str, ...] = ()
    finish: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None

    def good(self) -> pl.LazyFrame:
        """The output when no row failed (or after the failed rows were removed)."""
        if not self.fails:
            return self.frame
        rows = self.frame.drop(ERROR)
        return self.finish(rows) if self.finish is not None else rows


# A run lowers each chunk's query anew (a LazyFrame cannot be pointed at other data), but its
# expressions are the same every time: they are remembered per expression, typing, fast or exact
# reading, and `now` when the expression reads it. Building them again took ~6 ms a chunk on W1, on
# the thread that takes the chunks, holding the GIL (and folding constants is a Polars query each).
_LOWERED: dict[tuple, tuple[Mapping, Lowered]] = {}
_LOWERED_MAX = 4096


def _lower_once(expr: ast.Expr, ctx: LowerContext, predicate: bool = False) -> Lowered:
    key = (id(ctx.types), expr, predicate, fast_only(), ctx.now if _reads_now(expr) else None)
    known = _LOWERED.get(key)
    if known is not None and known[0] is ctx.types:  # the typing is held here: its id is not reused
        return known[1]
    lowered = lower_predicate(expr, ctx) if predicate else lower(expr, ctx)
    if len(_LOWERED) >= _LOWERED_MAX:
        _LOWERED.clear()
    _LOWERED[key] = (ctx.types, lowered)
    return lowered


@functools.lru_cache(maxsize=_LOWERED_MAX)
def _reads_now(expr: ast.Expr) -> bool:
    return any(isinstance(n, ast.Call) and n.name == "now" for n in ast.walk(expr))


@functools.singledispatch
def lower_node(node: ir.Node, ctx: NodeContext) -> Staged:
    raise InternalError(f"no Polars lowering for {type(node).__name__}")


def _fields(schema: Struct | None) -> tuple[str, ...]:
    assert schema is not None, "the runner infers every source's schema before lowering"
    return tuple(name for name, _ in schema.fields)


def _staged(frame: pl.LazyFrame, error: pl.Expr | None, record: tuple[str, ...], temps: dict[str, pl.Expr],
            finish: Callable[[pl.LazyFrame], pl.LazyFrame]) -> Staged:
    """Compute `temps` (and the error) beside the input, so an error row still holds its input record."""
    if error is None:
        return Staged(finish(frame.with_columns(**temps)))
    return Staged(frame.with_columns(**temps, **{ERROR: error}), True, record, finish)


@lower_node.register
def _filter(node: ir.Filter, ctx: NodeContext) -> Staged:
    lowered = _lower_once(node.predicate.expr, ctx.expr(node), predicate=True)
    if ctx.carry_error and lowered.error is None:  # rows already in error go on to their envelope
        return Staged(ctx.inputs[0].filter(lowered.value | pl.col(ERROR).is_not_null()))
    if lowered.error is None:  # a plain filter, which Polars can push into the scan
        return Staged(ctx.inputs[0].filter(lowered.value))
    record = _fields(ctx.plan.schemas[node.input])
    return _staged(ctx.inputs[0], lowered.error, record, {_KEEP: lowered.value},
                   lambda lf: lf.filter(pl.col(_KEEP)).drop(_KEEP))


@lower_node.register
def _map(node: ir.Map, ctx: NodeContext) -> Staged:
    return _assign(node, node.assignments, ctx, keep_input=True)


@lower_node.register
def _select(node: ir.Select, ctx: NodeContext) -> Staged:
    if node.fields:
        return Staged(ctx.inputs[0].select(*node.fields, *ctx.hidden()))
    return _assign(node, node.assignments, ctx, keep_input=False)


def _assign(node: ir.Map | ir.Select, assignments: tuple[Assignment, ...], ctx: NodeContext,
            keep_input: bool) -> Staged:
    """Values are computed into temporaries first: every expression reads the input record (SPEC §4)."""
    lowered = [_lower_once(a.value.expr, ctx.expr(node)) for a in assignments]
    temps = {f"__flowc_t{i}": v.value for i, v in enumerate(lowered)}
    targets = [(a.target, pl.col(name)) for a, name in zip(assignments, temps, strict=True)]

    def finish(lf: pl.LazyFrame) -> pl.LazyFrame:
        if not keep_input:
            return lf.select(*built(targets), *ctx.hidden())
        return set_targets(lf, targets).drop(*temps)

    record = _fields(ctx.plan.schemas[node.input])
    return _staged(ctx.inputs[0], first_error(*(v.error for v in lowered)), record, temps, finish)


@lower_node.register
def _drop(node: ir.Drop, ctx: NodeContext) -> Staged:
    return Staged(ctx.inputs[0].drop(*node.fields, strict=False))


@lower_node.register
def _rename(node: ir.Rename, ctx: NodeContext) -> Staged:
    return Staged(ctx.inputs[0].rename(dict(node.pairs), strict=False))


@lower_node.register
def _explode(node: ir.Explode, ctx: NodeContext) -> Staged:
    frame, columns = ctx.inputs[0], [node.field]
    if node.index is not None:
        frame = frame.with_columns(pl.int_ranges(pl.col(node.field).list.len(), dtype=pl.Int64).alias(node.index))
        columns.append(node.index)
    frame = frame.explode(columns, empty_as_null=node.keep_empty, keep_nulls=node.keep_empty)
    return Staged(frame.rename({node.field: node.as_}) if node.as_ else frame)


@lower_node.register
def _validate(node: ir.Validate, ctx: NodeContext) -> Staged:
    rules = [(r.name, _lower_once(r.predicate.expr, ctx.expr(node), predicate=True)) for r in node.rules]
    failed = pl.concat_str([pl.when(~v.value).then(pl.lit(name)) for name, v in rules], separator=", ",
                           ignore_nulls=True)
    verdict = pl.when(failed != "").then(pl.lit("validate: failed rules: ") + failed)
    error = first_error(*(v.error for _, v in rules), verdict)
    record = _fields(ctx.plan.schemas[node.input])
    return Staged(ctx.inputs[0].with_columns(**{ERROR: error}), True, record, None)


@lower_node.register
def _union(node: ir.Union, ctx: NodeContext) -> Staged:
    """Only the inputs that delivered this batch are given; fields are aligned to the union's schema."""
    schema = ctx.plan.schemas[node]
    assert schema is not None, "a union's inputs have known schemas"
    frames = [f.select(*_aligned(f, schema), _row(f), *([BRANCH] if BRANCH in f.collect_schema() else []))
              for f in ctx.inputs]
    return Staged(pl.concat(frames, how="vertical") if frames else _empty(schema))


def _row(frame: pl.LazyFrame) -> pl.Expr:
    """ROW, or null for an input without it (a side output's records carry their position in `_source`)."""
    return pl.col(ROW) if ROW in frame.collect_schema() else pl.lit(None, dtype=pl.Int64).alias(ROW)


def _aligned(frame: pl.LazyFrame, schema: Struct) -> list[pl.Expr]:
    present = frame.collect_schema()
    return [(_conformed(pl.col(n), present[n], t) if n in present else pl.lit(None).cast(to_polars(t))).alias(n)
            for n, t in schema.fields]


def _conformed(value: pl.Expr, have: pl.DataType, want: Type) -> pl.Expr:
    """`value` (of dtype `have`) as `want`: structs field by field, by name (a missing field null),
    lists element by element; Polars casts only structs of the same fields."""
    wanted = to_polars(want)
    if have == wanted:
        return value
    if isinstance(want, Struct) and isinstance(have, pl.Struct):
        inner = {f.name: f.dtype for f in have.fields}
        fields = [(_conformed(value.struct.field(n), inner[n], t) if n in inner else pl.lit(None).cast(to_polars(t)))
                  .alias(n) for n, t in want.fields]
        return pl.when(value.is_null()).then(pl.lit(None, dtype=wanted)).otherwise(pl.struct(fields))
    if isinstance(want, ListOf) and isinstance(have, pl.List):
        return value.list.eval(_conformed(pl.element(), have.inner, want.item)).cast(wanted)
    return value.cast(wanted)


def _empty(schema: Struct) -> pl.LazyFrame:
    return pl.LazyFrame(schema={**{n: to_polars(t) for n, t in schema.fields}, ROW: pl.Int64})


@lower_node.register
def _sql(node: ir.Sql, ctx: NodeContext) -> Staged:
    """The query sees the record without hidden columns; a record it fails on (a CAST) is a record error
    with its position (`lower_sql`); a record it keeps keeps its position (`SqlBatch.finish`)."""
    batch = SqlBatch(node.query, ERROR, HIDDEN, ROW)
    frame = ctx.inputs[0]
    checked = frame.map_batches(batch.errors, schema={**frame.collect_schema(), ERROR: pl.String})
    return Staged(checked, True, _fields(ctx.plan.schemas[node.input]), batch.finish)


@lower_node.register
def _scan(node: ir.Scan, ctx: NodeContext) -> Staged:
    """The reader's raw columns (text formats give strings) converted to the source's schema in place.

    A value that does not convert is a record error naming the field; the error row keeps the typed
    record (null where the value did not convert) and the message quotes the raw text. A record a feed
    could not decode at all (`RAW_ERROR` set) is a `parse` error carrying the feed's message."""
    raw = ctx.inputs[0]
    present = raw.collect_schema()
    converted = [(name, convert(name, present.get(name), type_)) for name, type_ in _schema(ctx, node).fields]
    clock = node.source.event_time.field.name if node.source.event_time is not None else None
    if fast_only():
        return _fast_scan(raw, converted, [c for c in (RAW_ERROR, READER_ERROR) if c in present], clock)
    values = [v.value.alias(name) for name, v in converted]
    undecoded = (pl.when(pl.col(RAW_ERROR).is_not_null()).then(pl.lit("parse: ") + pl.col(RAW_ERROR))
                 if RAW_ERROR in present else None)
    found = pl.col(READER_ERROR) if READER_ERROR in present else None
    # SPEC §3: a null event time is a record error of the source (an unparsable one is a conversion error)
    timeless = (pl.when(dict(converted)[clock].value.is_null()).then(pl.lit(f"event_time: field '{clock}' is null"))
                if clock in dict(converted) else None)
    error = first_error(undecoded, found, *(v.error for _, v in converted), timeless)
    if error is None:
        return Staged(raw.select(*values, ROW))
    return Staged(raw.select(*values, ROW, error.alias(ERROR)), True, tuple(n for n, _ in converted))


def _fast_scan(raw: pl.LazyFrame, converted: list[tuple[str, Lowered]], undecoded: list[str],
               clock: str | None) -> Staged:
    """The scan of a fast query: no record errors, only the switch to the exact reading
    (`slow_path_signal`) where a raw value did not convert or the record was not decoded or generated
    (the reader's error columns `undecoded`, set on such a record). In a fast
    conversion a value failed exactly where its raw text is not null and it is (`convert`), so the
    values are computed first, in their own columns, and the check reads those: written as one
    expression per field, Polars evaluated each conversion twice (measured: 2x the scan's time)."""
    checked = {name: f"__flowc_value_{i}" for i, (name, v) in enumerate(converted) if v.error is not None}
    frame = raw.with_columns(*(v.value.alias(checked[name]) for name, v in converted if name in checked))
    failed = [pl.col(column).is_not_null() for column in undecoded]
    failed += [pl.col(name).is_not_null() & pl.col(column).is_null() for name, column in checked.items()]
    values = [(pl.col(checked[name]) if name in checked else v.value).alias(name) for name, v in converted]
    if clock in dict(converted):  # a null event time is a record error: the exact reading gives it
        failed.append(pl.col(checked[clock]).is_null() if clock in checked else dict(converted)[clock].value.is_null())
    if not failed:
        return Staged(frame.select(*values, ROW))
    signal = slow_path_signal(pl.any_horizontal(failed))
    return Staged(frame.select(*values, ROW, signal.alias(ERROR)), True, tuple(n for n, _ in converted))


def _schema(ctx: NodeContext, node: ir.Node) -> Struct:
    schema = ctx.plan.schemas[node]
    assert schema is not None, "the runner infers every source's schema before lowering"
    return schema
