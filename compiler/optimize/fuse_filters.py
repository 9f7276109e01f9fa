"""Fuse two adjacent filters into one.

    Filter(q, Filter(p, x))  =>  Filter(p and q, x)

Precondition: the inner filter has no other reader and nothing reads its `.errors` unless it is the
one that can fail; the outer predicate `q` cannot fail. `and` evaluates `q` only where `p` is not
false, so `q` now also runs where `p` is null: harmless when `q` cannot fail, and a record error of
`p` stays the same error on the same input record (a filter passes its record through unchanged).
The fused filter keeps the inner one's step name and policy, so its error envelopes are unchanged.
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.dsl import ast


def fuse_filters(plan: Plan) -> Rewrite | None:
    for outer in plan.nodes:
        inner = getattr(outer, "input", None)
        if not (isinstance(outer, ir.Filter) and isinstance(inner, ir.Filter)):
            continue
        if facts.can_fail(plan, outer) or facts.error_readers(plan, outer):
            continue
        if len(facts.main_readers(plan, inner)) != 1:
            continue
        if facts.error_readers(plan, inner) and not facts.can_fail(plan, inner):
            continue  # a sink reads this filter's (always empty) errors: keep the step it names
        p, q = inner.predicate.expr, outer.predicate.expr
        fused = dataclasses.replace(inner, predicate=facts.expression(ast.Binary(op="and", left=p, right=q)))
        detail = f"{inner.step} + {outer.step}: {fused.predicate.text}"
        return Rewrite({outer: fused, inner: fused}, RuleApplication("fuse_filters", inner.step, detail))
    return None
