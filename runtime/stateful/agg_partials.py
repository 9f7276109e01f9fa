"""Partial aggregates: what one batch contributes to a group, how partials merge, how a group finishes.

Every aggregate of SPEC §4 is kept as a few mergeable columns, so state is one row per open group
whatever the input size, and a batch's partials merge with the state in one Polars `group_by`:

    count(), count(x)      a count                         merge: sum
    sum(x), avg(x)         a sum and a non-null count      merge: sums (ints and durations in Int128,
                                                                 so overflow is seen, never wrapped)
    min(x), max(x)         the extreme                     merge: min / max
    first(x), last(x)      the value, beside the group's   merge: the value of the smallest first /
                           first and last arrival number          largest last arrival number
    count_distinct(x)      the distinct non-null values    merge: union
    collect(x)             the values with their arrival   merge: concatenate, order by arrival
                           numbers (sessions merge groups
                           whose records interleave)

Columns: the argument of computation `i` is `__agg_a<i>`; its partials `__agg_p<i>` (and `__agg_n<i>`
for the non-null count); `SEQ` numbers records in arrival order over the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from flowc.compiler.checks.aggregate_types import SIGNATURES
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.types import Type

SEQ = "__agg_seq"
FSEQ, LSEQ, CSEQ = "__agg_fseq", "__agg_lseq", "__agg_cseq"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_EXACT = (t.INT, t.DURATION, t.NULL)  # summed exactly in Int128


class AggregateOverflow(ValueError):
    """An int or duration `sum` (or `avg`'s sum) left 64 bits: SPEC §5 says the run fails."""


@dataclass(frozen=True, slots=True)
class Aggregation:
    """Computation `index`: `function` over an argument of type `arg_type` (None for `count()`)."""

    index: int
    name: str  # the output field
    function: str
    arg_type: Type | None

    @property
    def arg(self) -> str:
        return f"__agg_a{self.index}"

    @property
    def part(self) -> str:
        return f"__agg_p{self.index}"

    @property
    def nonnull(self) -> str:
        return f"__agg_n{self.index}"

    @property
    def result_type(self) -> Type:
        typed = SIGNATURES[self.function][2](self.arg_type)  # the checker's typing, as the plan's schema
        assert not isinstance(typed, str), f"aggregate '{self.name}' was not type checked: {typed}"
        return typed

    @property
    def exact(self) -> bool:
        return self.function in ("sum", "avg") and self.arg_type in _EXACT


def argument_dtype(agg: Aggregation) -> pl.DataType | None:
    """What the argument column is cast to before aggregating (None: leave it as lowered)."""
    if agg.arg_type is None:
        return None
    if agg.arg_type == t.NULL:  # a literal null: give it the result's type where that is known
        wanted = agg.result_type
        return None if wanted == t.NULL or agg.function in ("collect",) else to_polars(wanted)
    return to_polars(agg.arg_type)


def partial_exprs(aggs: Sequence[Aggregation]) -> list[pl.Expr]:
    """Aggregations (in a `group_by(...).agg` over records in arrival order) giving each group's partials."""
    out = [pl.col(SEQ).min().alias(FSEQ), pl.col(SEQ).max().alias(LSEQ)]
    if any(a.function == "collect" for a in aggs):
        out.append(pl.col(SEQ).alias(CSEQ))
    for agg in aggs:
        out += _partial(agg)
    return out


def _partial(agg: Aggregation) -> list[pl.Expr]:
    a, f = pl.col(agg.arg), agg.function
    if f == "count":
        counted = pl.len() if agg.arg_type is None else a.count()
        return [counted.cast(pl.Int64).alias(agg.part)]
    if f in ("sum", "avg"):
        total = a.cast(pl.Int64).cast(pl.Int128).sum() if agg.exact else a.cast(pl.Float64).sum()
        return [total.alias(agg.part), a.count().cast(pl.Int64).alias(agg.nonnull)]
    if f in ("min", "max", "first", "last"):
        return [getattr(a, f)().alias(agg.part)]
    if f == "count_distinct":
        return [a.drop_nulls().unique().alias(agg.part)]
    assert f == "collect", f
    return [a.alias(agg.part)]


def _flat(name: str) -> pl.Expr:
    return pl.col(name).list.explode(keep_nulls=False, empty_as_null=False)


def merge_exprs(aggs: Sequence[Aggregation]) -> list[pl.Expr]:
    """Aggregations (in a `group_by(...).agg` over partial rows) merging them into one row per group."""
    out = [pl.col(FSEQ).min(), pl.col(LSEQ).max()]
    if any(a.function == "collect" for a in aggs):
        out.append(_flat(CSEQ).sort().alias(CSEQ))
    for agg in aggs:
        out += _merge(agg)
    return out


def _merge(agg: Aggregation) -> list[pl.Expr]:
    p, f = pl.col(agg.part), agg.function
    if f == "count":
        return [p.sum()]
    if f in ("sum", "avg"):
        # Float partials are added one by one in arrival order (a left fold): the sum is then the same
        # bits however the rows were stacked or merged before, so a resumed run adds exactly as an
        # uninterrupted one (`sum()` of more than two floats may add in another order).
        total = p.sum() if agg.exact else p.sort_by(FSEQ).cum_sum().last()
        return [total.alias(agg.part), pl.col(agg.nonnull).sum()]
    if f in ("min", "max"):
        return [getattr(p, f)()]
    if f == "first":
        return [p.sort_by(FSEQ).first()]
    if f == "last":
        return [p.sort_by(LSEQ).last()]
    if f == "count_distinct":
        return [_flat(agg.part).unique().alias(agg.part)]
    assert f == "collect", f
    return [_flat(agg.part).sort_by(_flat(CSEQ)).alias(agg.part)]


def ensure_fits(partials: pl.DataFrame, aggs: Sequence[Aggregation], step: str) -> None:
    """Raise `AggregateOverflow` when an int or duration sum of a group does not fit 64 bits. An `avg`
    keeps its exact Int128 sum: its mean always fits (SPEC §5 fails the run for `sum` only)."""
    exact = [agg for agg in aggs if agg.exact and agg.function == "sum"]
    if not exact:
        return
    found = partials.select(
        ((pl.col(a.part) < INT64_MIN) | (pl.col(a.part) > INT64_MAX)).arg_true().first().alias(a.part) for a in exact)
    for agg in exact:
        row = found.item(0, agg.part)
        if row is not None:
            raise AggregateOverflow(f"step '{step}': integer overflow in {agg.function} '{agg.name}' "
                                    f"(the sum {partials.item(row, agg.part)} does not fit 64 bits)")


def finish_exprs(aggs: Sequence[Aggregation]) -> list[pl.Expr]:
    """The compute fields of each group (one column per aggregation, named by it, of its result type)."""
    return [_finish(agg).alias(agg.name) for agg in aggs]


def _finish(agg: Aggregation) -> pl.Expr:
    p, f, wanted = pl.col(agg.part), agg.function, to_polars(agg.result_type)
    if f == "count_distinct":
        return p.list.len().cast(pl.Int64)
    if f in ("sum", "avg"):
        some = pl.col(agg.nonnull) > 0
        if f == "sum":
            return pl.when(some).then(p.cast(pl.Int64) if agg.exact else p).cast(wanted)
        if agg.result_type == t.DURATION:  # Polars' duration mean truncates toward zero: so does this
            n = pl.col(agg.nonnull).cast(pl.Int128)
            zero = pl.lit(0, dtype=pl.Int128)  # Int128 has no negation in Polars 2.1
            truncated = pl.when(p < 0).then(zero - ((zero - p) // n)).otherwise(p // n)
            return pl.when(some).then(truncated.cast(pl.Int64)).cast(wanted)
        return pl.when(some).then(p.cast(pl.Float64) / pl.col(agg.nonnull)).cast(wanted)
    return p.cast(wanted) if f == "count" or agg.result_type != t.NULL else p


def empty_partial(records: pl.DataFrame, aggs: Sequence[Aggregation]) -> pl.DataFrame:
    """The partials of a group without records (a global aggregate without `by` over empty input);
    `records` is a prepared frame (`SEQ` and the arguments) without rows, for the dtypes."""
    grouped = records.head(0).group_by(pl.lit(0).alias("__agg_g")).agg(partial_exprs(aggs)).drop("__agg_g")
    row = pl.DataFrame([pl.Series(name, [None], dtype=dtype) for name, dtype in grouped.schema.items()])
    return _fill_empty(row, aggs)


def _fill_empty(frame: pl.DataFrame, aggs: Sequence[Aggregation]) -> pl.DataFrame:
    """Counts of no records are 0 and their lists empty, not null."""
    fills = []
    for agg in aggs:
        if agg.function == "count" or agg.function in ("sum", "avg"):
            name = agg.part if agg.function == "count" else agg.nonnull
            fills.append(pl.col(name).fill_null(0))
        if agg.function in ("count_distinct", "collect"):
            fills.append(pl.col(agg.part).fill_null(pl.lit([], dtype=frame.schema[agg.part])))
    if CSEQ in frame.columns:
        fills.append(pl.col(CSEQ).fill_null(pl.lit([], dtype=pl.List(pl.Int64))))
    return frame.with_columns(fills)
