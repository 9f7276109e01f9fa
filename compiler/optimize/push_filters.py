"""Move a filter below the step it reads, towards its source.

    Filter(p, Map(m, x))       =>  Map(m, Filter(p[t := m.t], x))   fields m sets are substituted
    Filter(p, Rename(r, x))    =>  Rename(r, Filter(p[new := old], x))
    Filter(p, Explode(e, x))   =>  Explode(e, Filter(p, x))      p reads neither the list, element nor index
    Filter(p, Select(f, x))    =>  Select(f, Filter(p, x))       (a select that keeps fields)
    Filter(p, Drop(d, x))      =>  Drop(d, Filter(p, x))

Precondition: neither the filter nor the step below it can fail, nothing reads their `.errors`, and the
step has no reader but the filter; a field of a map is substituted only when the map sets it with a
plain (undotted) target. So no failing expression crosses a filter (the step would then see
fewer records and fail on fewer), and every record errs or passes exactly as before. A filter that
reaches its source is fused into the source's scan query, where Polars pushes it into the reader
(a Parquet scan skips row groups with it).
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.dsl import ast


def push_filters(plan: Plan) -> Rewrite | None:
    for node in plan.nodes:
        below = getattr(node, "input", None)
        if not isinstance(node, ir.Filter) or below is None or node.predicate.expr is None:
            continue
        if facts.can_fail(plan, node) or facts.error_readers(plan, node) or not facts.movable(plan, below):
            continue
        predicate = _below(node, below)
        if predicate is None:
            continue
        pushed = dataclasses.replace(node, input=below.input, predicate=predicate)
        detail = f"{node.step} moved below {below.step}"
        return Rewrite({node: dataclasses.replace(below, input=pushed)},
                       RuleApplication("push_filters", node.step, detail))
    return None


def _below(node: ir.Filter, below: ir.Node):
    """The filter's predicate as it reads below `below`, or None when it cannot move there."""
    used = facts.reads(node)
    if isinstance(below, ir.Map):
        values = {a.target[0]: a.value.expr for a in below.assignments if len(a.target) == 1}
        read = used & facts.heads(below.assignments)
        if not read:
            return node.predicate
        if not read <= set(values):
            return None
        return facts.expression(facts.transform(node.predicate.expr, lambda n: values[n.name]
                                                if isinstance(n, ast.Field) and n.name in values else None))
    if isinstance(below, ir.Rename):
        back = {new: old for old, new in below.pairs}
        if used & {old for old, _ in below.pairs} - set(back):
            return None  # reads a name the rename removes (only possible without a known schema)
        expr = facts.renamed_fields(node.predicate.expr, back)
        return node.predicate if expr is node.predicate.expr else facts.expression(expr)
    if isinstance(below, ir.Explode):
        produced = {below.field, below.as_, below.index} - {None}
        return node.predicate if not used & produced else None
    if isinstance(below, ir.Select) and below.fields:
        return node.predicate if used <= set(below.fields) else None
    if isinstance(below, ir.Drop):
        return node.predicate if not used & set(below.fields) else None
    return None
