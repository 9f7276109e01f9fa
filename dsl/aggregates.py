"""The aggregates of SPEC §4 (`aggregate: {compute: {name: <agg>}}`): typing and docs.

The one typing table of aggregates: the checker (`compiler/checks/aggregate_types.py`), the plan's
schemas, the aggregate engine and the docs all read it. Executing them belongs to the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowc.dsl import types as t
from flowc.dsl.function_def import NUMBER, ORDERED, wrong
from flowc.dsl.types import Type


@dataclass(frozen=True, slots=True)
class AggregateDef:
    name: str
    signature: str
    min_args: int
    max_args: int
    result_type: Callable[[tuple[Type, ...]], Type | str]  # argument types -> result type, or an error text
    nulls: str  # how nulls count, for the docs
    doc: str


def _count(args: tuple[Type, ...]) -> Type | str:
    return t.INT


def _sum(args: tuple[Type, ...]) -> Type | str:
    got = args[0]
    return got if got in (t.NULL, *NUMBER, t.DURATION) else wrong(0, (*NUMBER, t.DURATION), got)


def _avg(args: tuple[Type, ...]) -> Type | str:
    got = args[0]
    if got in (t.NULL, *NUMBER):
        return t.FLOAT
    return t.DURATION if got == t.DURATION else wrong(0, (*NUMBER, t.DURATION), got)


_AGGREGATE_ORDER = (*ORDERED, t.BOOL)  # min/max of bools: false < true, as Polars and SQL order them


def _ordered(args: tuple[Type, ...]) -> Type | str:
    got = args[0]
    return got if got == t.NULL or got in _AGGREGATE_ORDER else wrong(0, _AGGREGATE_ORDER, got)


def _same(args: tuple[Type, ...]) -> Type | str:
    return args[0]


def _collect(args: tuple[Type, ...]) -> Type | str:
    return t.ListOf(args[0])


_SQL_NULLS = "nulls are ignored; null when the group has no non-null value"
AGGREGATES: dict[str, AggregateDef] = {a.name: a for a in (
    AggregateDef("count", "count(x?) -> int", 0, 1, _count, "`count()` counts records; `count(x)` non-null values",
                 "The number of records of the group, or of its records where `x` is not null."),
    AggregateDef("count_distinct", "count_distinct(x) -> int", 1, 1, _count, "nulls are not counted",
                 "The number of distinct non-null values of `x`."),
    AggregateDef("sum", "sum(x: int | float | duration) -> same type", 1, 1, _sum, _SQL_NULLS,
                 "The sum of `x`. An int sum that overflows 64 bits fails the run."),
    AggregateDef("avg", "avg(x: int | float | duration) -> float (duration for durations)", 1, 1, _avg, _SQL_NULLS,
                 "The arithmetic mean of `x`."),
    AggregateDef("min", "min(x) -> same type", 1, 1, _ordered, _SQL_NULLS,
                 "The smallest value of `x` (strings by code point)."),
    AggregateDef("max", "max(x) -> same type", 1, 1, _ordered, _SQL_NULLS,
                 "The largest value of `x` (strings by code point)."),
    AggregateDef("first", "first(x) -> same type", 1, 1, _same, "a null is a value like any other",
                 "The value of `x` in the group's first record in arrival order (null included)."),
    AggregateDef("last", "last(x) -> same type", 1, 1, _same, "a null is a value like any other",
                 "The value of `x` in the group's last record in arrival order (null included)."),
    AggregateDef("collect", "collect(x) -> list<same type>", 1, 1, _collect, "nulls are kept",
                 "The values of `x` as a list, in arrival order."),
)}
