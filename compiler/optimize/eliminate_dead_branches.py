"""Remove what cannot change any output: error branches that are always empty, steps that do nothing.

    Sink(.., Errors(n), ..)          =>  Sink(.., ..)      n cannot fail: its `.errors` is always empty
    Select(fields of x in order, x)  =>  x
    Drop(fields x lacks, x)          =>  x
    Filter(true, x)                  =>  x                 (after constant folding)

Steps and branches that no sink reads are never in a plan (`build_plan` builds what sinks read), so
they need no rule. Removing an always-empty `.errors` input matters beyond tidiness: a node whose
`.errors` is read counts as having a second reader, which keeps the other rules off it.

Precondition: none beyond the patterns: a removed node could not fail and changes no record.
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.dsl import ast


def eliminate_dead_branches(plan: Plan) -> Rewrite | None:
    for node in plan.nodes:
        if isinstance(node, ir.SinkNode):
            empty = [i for i in node.inputs if isinstance(i, ir.Errors) and not facts.can_fail(plan, i.of)]
            if empty:
                kept = tuple(i for i in node.inputs if i not in empty)
                detail = f"dropped always-empty {', '.join(i.step for i in empty)}"
                return Rewrite({node: dataclasses.replace(node, inputs=kept)},
                               RuleApplication("eliminate_dead_branches", node.step, detail))
        elif _does_nothing(plan, node) and not facts.error_readers(plan, node):
            return Rewrite({node: node.input},  # type: ignore[union-attr]
                           RuleApplication("eliminate_dead_branches", node.step, f"removed {node.step}: no effect"))
    return None


def _does_nothing(plan: Plan, node: ir.Node) -> bool:
    schema = plan.schemas.get(getattr(node, "input", None)) if hasattr(node, "input") else None
    if isinstance(node, ir.Filter):
        return isinstance(node.predicate.expr, ast.BoolLit) and node.predicate.expr.value
    if schema is None:
        return False
    names = tuple(n for n, _ in schema.fields)
    if isinstance(node, ir.Select):  # a computing select has no `fields`: it is never a no-op, even
        return bool(node.fields) and node.fields == names  # over an input pruned to no fields
    if isinstance(node, ir.Drop):
        return not set(node.fields) & set(names)
    return False
