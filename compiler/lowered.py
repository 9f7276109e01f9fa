"""An expression lowered to Polars: its value, and its record errors beside it.

A record error (SPEC §6) is never an exception that sinks the batch: a lowered expression carries an
`error` expression of Polars type String that is null on rows without an error and `"<code>: <message>"`
on rows with one, exactly the text `str(RecordError)` gives in the reference interpreter. Expressions
that cannot fail have `error=None`, so pipelines without conversions pay nothing for error tracking.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True, slots=True)
class Lowered:
    value: pl.Expr
    error: pl.Expr | None = None
