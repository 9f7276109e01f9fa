"""Stop computing and reading fields that no later step and no sink needs.

    Map(t = e, .., x) where no reader needs t    =>  Map(.., x)      (x itself when nothing is left)
    Scan(source)  where readers need fields F    =>  Scan(source, columns=F)   (F empty: one field, below)

Which fields a node must deliver is worked out from the sinks up: a sink needs every field of its
input; a filter or validate needs its readers' fields and those it reads; a map, select, rename or
explode translates its readers' needs to its input; stateful steps, `union` and `sql` need everything.
A source with `columns` converts only those fields, and Polars pushes the projection into the file
reader (CSV, JSONL and Parquet scans read only those columns).

Precondition: a dropped assignment cannot fail. A node that can fail and dead-letters needs its whole
input (its error envelope carries that record). A field left out of a scan must be one whose value
cannot fail to convert or decode (otherwise a bad value in it would no longer be a record error: a
JSONL file's nested field is decoded by the reader, `facts.column_fails`), and a scan that can fail
(a file's malformed line can, whatever its fields) keeps every field when it dead-letters, for the
same envelope reason. A scan keeps at
least one field even when no reader needs any (a `select` of constants): records are rows of the
columns read, and a reading of no columns has no rows.
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.dsl import types as t
from flowc.dsl.types import Struct

ALL = None  # every field of the node's output


def prune_columns(plan: Plan) -> Rewrite | None:
    needed = needed_fields(plan)
    for node in plan.nodes:
        if isinstance(node, ir.Map) and needed.get(node) is not ALL:
            unused = [a for a in node.assignments if a.target[0] not in needed[node]
                      and not facts.expression_fails(plan, node, a.value.expr)]
            if unused and (len(unused) < len(node.assignments) or not facts.error_readers(plan, node)):
                kept = tuple(a for a in node.assignments if a not in unused)
                new = dataclasses.replace(node, assignments=kept) if kept else node.input
                detail = f"dropped unread {', '.join('.'.join(a.target) for a in unused)}"
                return Rewrite({node: new}, RuleApplication("prune_columns", node.step, detail))
        if isinstance(node, ir.Scan):
            columns = _scan_columns(plan, node, needed.get(node))
            if columns is not None:
                detail = f"reads {len(columns)} of {len(plan.schemas[node].fields)} fields: {', '.join(columns)}"
                return Rewrite({node: dataclasses.replace(node, columns=columns)},
                               RuleApplication("prune_columns", node.step, detail))
    return None


def _scan_columns(plan: Plan, scan: ir.Scan, needed: frozenset[str] | None) -> tuple[str, ...] | None:
    schema = plan.schemas.get(scan)
    if needed is ALL or schema is None or not schema.fields:
        return None
    kept = tuple(n for n, _ in schema.fields if n in needed) or (_row_keeper(schema),)
    dropped = [(n, ft) for n, ft in schema.fields if n not in kept]
    if not dropped or any(facts.column_fails(scan.source, n, ft) for n, ft in dropped):
        return None
    if scan.on_error == ir.DEAD_LETTER and facts.can_fail(plan, scan):
        return None
    return kept


def _row_keeper(schema: Struct) -> str:
    """The one field a scan whose readers need none still reads: the readers number records by their
    columns, and a frame of no columns has no rows (Polars' `select([])` gives height 0), so a scan
    pruned to nothing delivered no record, or failed. The first scalar field is the cheapest to parse."""
    scalars = [n for n, ft in schema.fields if not isinstance(ft, t.ListOf | t.Struct)]
    return (scalars or [schema.fields[0][0]])[0]


def needed_fields(plan: Plan) -> dict[ir.Node, frozenset[str] | None]:
    """Per node, the fields of its output that some reader needs (ALL: every one, or unknown)."""
    needed: dict[ir.Node, frozenset[str] | None] = {}
    for node in reversed(plan.nodes):  # readers before the nodes they read
        for source in ir.inputs(node):
            want = _wanted(plan, node, source, needed.get(node, frozenset()))
            have = needed.get(source, frozenset())
            needed[source] = ALL if want is ALL or have is ALL else have | want
    return needed


def _wanted(plan: Plan, node: ir.Node, source: ir.Node, out: frozenset[str] | None) -> frozenset[str] | None:
    """What `node` needs of its input `source`, given what its readers need of it (`out`)."""
    if isinstance(node, ir.Errors):
        return frozenset()  # the failing node asks for its own input record (below)
    if isinstance(node, ir.FAILING) and node.on_error == ir.DEAD_LETTER and facts.can_fail(plan, node):
        return ALL
    if plan.schemas.get(source) is None:
        return ALL
    if isinstance(node, ir.Select):
        return frozenset(node.fields) if node.fields else facts.reads(node)
    if out is ALL and isinstance(node, facts.STATELESS) and plan.schemas.get(node) is not None:
        out = frozenset(n for n, _ in plan.schemas[node].fields)  # every field it outputs, by name
    if out is ALL:
        return ALL
    if isinstance(node, ir.Filter | ir.Validate):
        return out | facts.reads(node)
    if isinstance(node, ir.Map):  # a field it overwrites keeps its place, so its input column is needed
        present = {n for n, _ in plan.schemas[source].fields}
        new = {a.target[0] for a in node.assignments if len(a.target) == 1} - present
        return (out - new) | facts.reads(node) | (facts.heads(node.assignments) - new)
    if isinstance(node, ir.Drop):
        return out
    if isinstance(node, ir.Rename):
        back = {new: old for old, new in node.pairs}
        return frozenset(back.get(n, n) for n in out)
    if isinstance(node, ir.Explode):
        return (out - {node.as_ or node.field, node.index}) | {node.field}
    return ALL
