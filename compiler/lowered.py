"""An expression lowered to Polars: its value, and its record errors beside it.

A record error (SPEC §6) is never an exception that sinks the batch: a lowered expression carries an
`error` expression of Polars type String that is null on rows without an error and `"<code>: <message>"`
on rows with one, exactly the text `str(RecordError)` gives in the reference interpreter. Expressions
that cannot fail have `error=None`, so pipelines without conversions pay nothing for error tracking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from flowc.dsl.ast import Expr
from flowc.dsl.types import Type


@dataclass(frozen=True, slots=True)
class Lowered:
    value: pl.Expr
    error: pl.Expr | None = None


class InternalError(Exception):
    """A bug in flowc, never a user error: e.g. a node the lowering has no rule for."""


@dataclass(frozen=True, slots=True)
class LowerContext:
    """What lowering an expression needs besides the expression.

    `types` is the type checker's typing (`Typed.types`) of a well-typed expression; `now` is the
    batch's start time, what `now()` gives.
    """

    types: Mapping[Expr, Type]
    now: datetime


def first_error(*errors: pl.Expr | None) -> pl.Expr | None:
    """The first non-null error among `errors` (evaluation order), None when none can occur."""
    present = [e for e in errors if e is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else pl.coalesce(present)


def when(condition: pl.Expr):  # polars' When class is not public API
    """`pl.when(condition)`, safe for a constant condition.

    Polars 2.1 folds `when(<null literal>).then(column)` to a one-row result that no longer
    broadcasts to the frame's height; `when` takes null for false anyway, so a constant condition
    gets its null replaced by false first.
    """
    return pl.when(condition if condition.meta.root_names() else condition.fill_null(False))


def error_when(condition: pl.Expr, message: str) -> pl.Expr:
    """An error column: `message` where `condition` is true, null elsewhere (also where null)."""
    return when(condition).then(pl.lit(message, dtype=pl.String))


def error_if_evaluated(condition: pl.Expr, error: pl.Expr | None) -> pl.Expr | None:
    """`error` on the rows where `condition` says the sub-expression is evaluated at all."""
    return None if error is None else when(condition).then(error)
