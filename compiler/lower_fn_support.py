"""What the Polars implementations of the library functions share: null and error plumbing.

An implementation takes its arguments already lowered, their types and the call's result type, and
gives a `Lowered`. Argument errors pass through (the first erroring argument wins, in order); the
function's own record errors (a failed conversion) come after them, with the text `str(RecordError)`
of the reference implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from flowc.compiler.lowered import InternalError, Lowered, first_error
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.lib_convert import MESSAGE_CHARS
from flowc.dsl.types import Type

Impl = Callable[[tuple[Lowered, ...], tuple[Type, ...], Type], Lowered]
# (argument values, argument types, result type) -> the value, or (value, own error)
Compute = Callable[[list[pl.Expr], tuple[Type, ...], Type], "pl.Expr | tuple[pl.Expr, pl.Expr | None]"]


def constant(arg: Lowered) -> object:
    """The value of an argument the type checker made sure is a literal (a regex, a format, a unit)."""
    if arg.value.meta.root_names():
        raise InternalError("a constant argument reads a field; the type checker reports E227 for it")
    return pl.select(arg.value.alias("constant")).item()


def null_of(type_: Type) -> pl.Expr:
    return pl.lit(None, dtype=to_polars(type_))


def any_null(values: Sequence[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([v.is_null() for v in values])


def propagating(compute: Compute) -> Impl:
    """An implementation for a function whose result is null when any argument is null."""

    def implementation(args: tuple[Lowered, ...], types: tuple[Type, ...], result: Type) -> Lowered:
        errors = [a.error for a in args]
        if t.NULL in types or result == t.NULL:  # an argument that is always null: so is the result
            return Lowered(null_of(result), first_error(*errors))
        out = compute([a.value for a in args], types, result)
        value, own = out if isinstance(out, tuple) else (out, None)
        if len(args) > 1:  # Polars propagates nulls through one operand; `when` chains need help
            value = pl.when(any_null([a.value for a in args])).then(null_of(result)).otherwise(value)
        return Lowered(value, first_error(*errors, own))

    return implementation


def render(value: pl.Expr, type_: Type) -> pl.Expr:
    """`render_value` in Polars: how an error message shows a value."""
    if type_ == t.STRING:
        cut = pl.when(value.str.len_chars() > MESSAGE_CHARS).then(
            pl.concat_str([value.str.slice(0, MESSAGE_CHARS), pl.lit("...")])).otherwise(value)
        return pl.concat_str([pl.lit("'"), cut, pl.lit("'")])
    return value.cast(pl.String)


def error_text(condition: pl.Expr, *parts: pl.Expr | str) -> pl.Expr:
    """An error column: the concatenated `parts` where `condition` holds, null elsewhere."""
    exprs = [pl.lit(p, dtype=pl.String) if isinstance(p, str) else p for p in parts]
    return pl.when(condition).then(pl.concat_str(exprs))


def conversion_error(failed: pl.Expr, value: pl.Expr, type_: Type, target: str, suffix: str = "") -> pl.Expr:
    """`conversion: cannot convert <value> to <target>` where `failed`, as `lib_convert` words it."""
    return error_text(failed, "conversion: cannot convert ", render(value, type_), f" to {target}{suffix}")
