"""What the rules ask about a plan: can a node fail, which fields does it read or produce, who reads it.

Every precondition of a rule is phrased with these few questions, so the answers live in one place.
"Can fail" is answered by the lowering itself (`Lowered.error is None` means Polars carries no error
column for it), so the optimizer and the runner can never disagree about which expressions can fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_expr import lower
from flowc.compiler.lowered import LowerContext
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.compiler.source_nested import fitted
from flowc.compiler.source_nested import textual as nested_text
from flowc.compiler.source_types import convert
from flowc.compiler.spec import Assignment, Expression, thaw
from flowc.compiler.typecheck import check_expression
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.unparse import unparse

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # `now()` for lowering that only asks "can it fail"
TEXT_FORMATS = ("csv", "jsonl")  # file formats whose scalar fields a reader gives as strings
CSE_PREFIX = "__flowc_cse"
STATELESS = (ir.Filter, ir.Map, ir.Select, ir.Drop, ir.Rename, ir.Explode, ir.Validate)


def expressions(node: ir.Node) -> tuple[Expression, ...]:
    """The expressions a node evaluates, in evaluation order."""
    if isinstance(node, ir.Filter):
        return (node.predicate,)
    if isinstance(node, ir.Map | ir.Select):
        return tuple(a.value for a in node.assignments)
    if isinstance(node, ir.Validate):
        return tuple(r.predicate for r in node.rules)
    return ()


def expression_fails(plan: Plan, node: ir.Node, expr: ast.Expr) -> bool:
    """True when `expr`, typed as in `node`, lowers with an error column (it can raise a record error)."""
    try:
        return lower(expr, LowerContext(plan.types.get(node, {}), _EPOCH)).error is not None
    except Exception:  # untyped or unlowerable: assume the worst, so no rule moves it
        return True


def can_fail(plan: Plan, node: ir.Node) -> bool:
    """True when `node` can produce record errors (a `validate` and a `sql` step (a CAST) always can; a
    scan when its reader may meet a record it cannot decode, a value may not convert to its schema
    type, or it has an event time; a windowed aggregate or a dedupe on event time; an aggregate whose
    arguments can fail, `sum(to_int(s))`)."""
    if isinstance(node, ir.Validate | ir.Sql) or ir.timed(node) is not None:  # timed: an event time may be null
        return True
    if isinstance(node, ir.Aggregate):
        return any(expression_fails(plan, node, arg) for c in node.compute for arg in c.args)
    if isinstance(node, ir.Scan):
        schema = plan.schemas.get(node)
        return (schema is None or decode_fails(node.source) or generate_fails(node.source)
                or node.source.event_time is not None  # a null event time is a record error
                or any(column_fails(node.source, name, type_) for name, type_ in schema.fields))
    if not isinstance(node, ir.FAILING):
        return False
    return any(e.expr is None or expression_fails(plan, node, e.expr) for e in expressions(node))


def decode_fails(source) -> bool:
    """Whether the source's reader may meet a record it cannot decode at all (a `parse` record error:
    a malformed CSV row or one of the wrong width, a JSON line that is not an object, a JSON file that
    does not parse, a nested value of another type, a line that is not UTF-8).

    Whatever the schema: a source of only string fields has no conversion that can fail, but its
    input can still be malformed (audit 4 F1: the optimizer dropped such a source's `.errors` as
    always empty, and its parse errors were lost). Only the readers that never give a record they
    could not decode (no `RAW_ERROR` column for the `Scan` lowering) cannot: inline records (checked
    when the spec is read), generated ones and a parquet file (read whole, or the run fails). A text
    file's line can: one that is not UTF-8."""
    if source.type in ("inline", "generate"):
        return False
    return not (source.type == "file" and source.bounded and source.format == "parquet")


def generate_fails(source) -> bool:
    """Whether a `generate` field's expression can fail on a record (`to_int(s)`, an integer
    overflow): the reader then makes that record an error of the source (`GenerateReader.rows`)."""
    if source.type != "generate":
        return False
    numbered = t.Struct((("_n", t.INT),))
    for name, expression in source.fields:
        if expression.expr is None:
            return True
        typed = check_expression(expression.expr, numbered, where=f"generate field '{name}'")
        try:
            if lower(expression.expr, LowerContext(typed.types, _EPOCH)).error is not None:
                return True
        except Exception:  # untyped or unlowerable: assume the worst, as `expression_fails` does
            return True
    return False


def column_fails(source, name: str, type_: t.Type) -> bool:
    """Whether converting the raw column `name` to `type_` can fail, judged before any data is read.

    Text formats (and inline records) give scalars as strings: only a string field cannot fail (a
    JSON value of any kind reads as a string's text). A nested field of a file is decoded by the
    reader with its declared type, and a value of another kind (a list where a struct is declared, a
    `t: "bad"` inside a struct of datetimes) makes the line a `parse` error: it can fail too, so
    leaving it out of the scan would lose that error (audit 4 F1's mistake, in `prune_columns`).
    Inline records are checked against the schema when the spec is read. A parquet source without
    declared schema, and a generator, give exactly the types their schema was taken from. Anything
    else may hold values of another type."""
    textual = source.type == "inline" or (source.type == "file" and source.format in TEXT_FORMATS)
    if textual and isinstance(type_, t.ListOf | t.Struct):
        return (source.type != "inline" or convert(name, nested_text(to_polars(type_)), type_).error is not None
                or any(fitted(thaw(record).get(name), type_, name)[1] is not None for record in source.records))
    if textual:
        return convert(name, pl.String(), type_).error is not None
    if source.type == "generate" or (source.format == "parquet" and source.schema is None):
        return False
    return type_ != t.STRING


def reads(node: ir.Node) -> frozenset[str]:
    """Top-level fields the expressions of `node` read."""
    names: set[str] = set()
    for e in expressions(node):
        if e.expr is not None:
            names |= ast.top_level_fields(e.expr)
    return frozenset(names)


def main_readers(plan: Plan, node: ir.Node) -> tuple[ir.Node, ...]:
    return tuple(r for r in plan.readers(node) if not isinstance(r, ir.Errors))


def error_readers(plan: Plan, node: ir.Node) -> tuple[ir.Node, ...]:
    return tuple(r for r in plan.readers(node) if isinstance(r, ir.Errors))


def movable(plan: Plan, node: ir.Node) -> bool:
    """A stateless node a rule may merge or reorder: it cannot fail, nothing reads its `.errors`, its
    only reader is the one the rule rewrites with it, and it is not a map the optimizer added to compute
    a common sub-expression (merging that back would undo the rewrite)."""
    return (isinstance(node, STATELESS) and not can_fail(plan, node) and not error_readers(plan, node)
            and len(plan.readers(node)) == 1 and not computes_hidden(node))


def computes_hidden(node: ir.Node) -> bool:
    """A map made by `eliminate_common_subexpressions` (it sets a hidden `__flowc_cse<n>` field)."""
    return isinstance(node, ir.Map) and any(a.target[0].startswith(CSE_PREFIX) for a in node.assignments)


def heads(assignments: Iterable[Assignment]) -> frozenset[str]:
    return frozenset(a.target[0] for a in assignments)


def calls_now(expr: ast.Expr) -> bool:
    return any(isinstance(n, ast.Call) and n.name == "now" for n in ast.walk(expr))


def expression(expr: ast.Expr) -> Expression:
    """A rewritten expression: canonical text, no span (the original's positions no longer apply)."""
    return Expression(unparse(expr), expr)


def transform(expr: ast.Node, fn: Callable[[ast.Node], ast.Node | None]) -> ast.Node:
    """`expr` with every subtree for which `fn` returns a node replaced by it (tried top-down; unchanged
    subtrees stay the same objects)."""
    replaced = fn(expr)
    if replaced is not None:
        return replaced
    changes = {}
    for f in expr.__dataclass_fields__:
        value = getattr(expr, f)
        if isinstance(value, ast.Node):
            new = transform(value, fn)
            if new is not value:
                changes[f] = new
        elif isinstance(value, tuple) and any(isinstance(v, ast.Node) for v in value):
            new_items = tuple(transform(v, fn) if isinstance(v, ast.Node) else v for v in value)
            if any(a is not b for a, b in zip(new_items, value, strict=True)):
                changes[f] = new_items
    return dataclasses.replace(expr, **changes) if changes else expr


def renamed_fields(expr: ast.Node, names: dict[str, str]) -> ast.Node:
    """`expr` with every top-level field reference renamed by `names`."""
    return transform(expr, lambda n: ast.Field(name=names[n.name], pos=n.pos)
                     if isinstance(n, ast.Field) and n.name in names else None)
