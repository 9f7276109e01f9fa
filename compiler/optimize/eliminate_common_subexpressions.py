"""Compute a sub-expression that a step repeats once, into a hidden field, and read that field.

    Map(a = f(e), b = g(e), x)  =>  Drop(t, Map(a = f(t), b = g(t), Map(t = e, x)))
    Filter(p(e, e), x)          =>  Drop(t, Filter(p(t, t), Map(t = e, x)))
    Select(a = f(e), b = g(e))  =>  Select(a = f(t), b = g(t), Map(t = e, x))

`t` is a fresh `__flowc_cse<n>` field; the largest repeated sub-expression goes first. Polars'
own common-subexpression elimination works inside one `with_columns`; this also covers a
sub-expression repeated across the branches of `if`/`case`, which Polars evaluates once per branch.

Precondition: the step cannot fail and nothing reads its `.errors` (the added map evaluates `e` for
every record, also where the step would have skipped it, which is harmless only for an expression
that cannot fail; and an error envelope would show the hidden field). Runs once, after the fixed
point of the other rules (`fuse_maps` would merge the added map back).
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.compiler.spec import Assignment
from flowc.dsl import ast

PREFIX = facts.CSE_PREFIX
_CHEAP = (*ast.LITERALS, ast.Field, ast.When, ast.ListLit)


def eliminate_common_subexpressions(plan: Plan) -> Rewrite | None:
    for node in plan.nodes:
        if not isinstance(node, ir.Map | ir.Filter | ir.Select) or facts.can_fail(plan, node):
            continue
        if facts.error_readers(plan, node) or plan.schemas.get(node.input) is None:
            continue
        repeated = _repeated(node)
        if repeated is None:
            continue
        name = _fresh(plan, node)
        pre = ir.Map(input=node.input, assignments=(Assignment((name,), facts.expression(repeated)),),
                     step=node.step)
        rewritten = _substituted(node, repeated, name, pre)
        out = rewritten if isinstance(node, ir.Select) else ir.Drop(input=rewritten, fields=(name,), step=node.step)
        detail = f"{name} = {facts.expression(repeated).text}"
        return Rewrite({node: out}, RuleApplication("eliminate_common_subexpressions", node.step, detail))
    return None


def _repeated(node: ir.Node) -> ast.Expr | None:
    counts: Counter = Counter()
    for e in facts.expressions(node):
        if e.expr is not None:
            counts.update(n for n in ast.walk(e.expr) if not _cheap(n))
    repeated = [n for n, c in counts.items() if c > 1]
    return max(repeated, key=_size) if repeated else None


def _cheap(n: ast.Node) -> bool:
    return isinstance(n, _CHEAP) or (isinstance(n, ast.GetField | ast.Unary) and _size(n) <= 3)


def _size(n: ast.Node) -> int:
    return sum(1 for _ in ast.walk(n))


def _fresh(plan: Plan, node: ir.Node) -> str:
    taken = {name for s in plan.schemas.values() if s is not None for name, _ in s.fields}
    return next(f"{PREFIX}{i}" for i in range(len(taken) + 1) if f"{PREFIX}{i}" not in taken)


def _substituted(node: ir.Node, sub: ast.Expr, name: str, pre: ir.Map) -> ir.Node:
    def swap(e):
        expr = facts.transform(e.expr, lambda n: ast.Field(name=name) if n == sub else None)
        return facts.expression(expr)
    if isinstance(node, ir.Filter):
        return dataclasses.replace(node, input=pre, predicate=swap(node.predicate))
    assignments = tuple(dataclasses.replace(a, value=swap(a.value)) for a in node.assignments)
    return dataclasses.replace(node, input=pre, assignments=assignments)
