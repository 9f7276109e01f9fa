"""Fuse two adjacent maps into one.

    Map(b, Map(a, x))  =>  Map(a + b[t := a.t], x)

Every expression of a map reads its input record, so the second map's expressions, moved into the
first, read the first map's input: where one reads a field `t` the first map sets, the first map's
expression for `t` is substituted for it. The maps must set disjoint top-level fields (then the
fused map sets fields in the same order, so the record's field order is unchanged).

Precondition: neither map can fail and nothing reads their `.errors` (a substituted expression is
evaluated where the original was, so this matters only for envelopes: a fused map has one step
name), the first map has no other reader, and every field `t` substituted is set by a plain
(undotted) target of the first map.
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.compiler.spec import Assignment
from flowc.dsl import ast


def fuse_maps(plan: Plan) -> Rewrite | None:
    for outer in plan.nodes:
        inner = getattr(outer, "input", None)
        if not (isinstance(outer, ir.Map) and isinstance(inner, ir.Map)):
            continue
        if facts.can_fail(plan, outer) or facts.error_readers(plan, outer) or not facts.movable(plan, inner) \
                or facts.computes_hidden(outer):
            continue
        if facts.heads(outer.assignments) & facts.heads(inner.assignments):
            continue
        values = {a.target[0]: a.value.expr for a in inner.assignments if len(a.target) == 1}
        read = facts.reads(outer) & facts.heads(inner.assignments)
        if not read <= set(values):
            continue
        moved = tuple(_substituted(a, values) for a in outer.assignments)
        fused = dataclasses.replace(inner, assignments=inner.assignments + moved)
        detail = f"{inner.step} + {outer.step}" + (f" (substituted {', '.join(sorted(read))})" if read else "")
        return Rewrite({outer: fused}, RuleApplication("fuse_maps", inner.step, detail))
    return None


def _substituted(assignment: Assignment, values: dict[str, ast.Expr]) -> Assignment:
    expr = facts.transform(assignment.value.expr, lambda n: values[n.name]
                           if isinstance(n, ast.Field) and n.name in values else None)
    if expr is assignment.value.expr:
        return assignment
    return dataclasses.replace(assignment, value=facts.expression(expr))
