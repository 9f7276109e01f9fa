"""Compute a sub-expression that a filter repeats once, into a hidden field, and read that field.

    Filter(p(e, e), x)  =>  Drop(t, Filter(p(t, t), Map(t = e, x)))

`t` is a fresh `__flowc_cse<n>` field; the largest repeated sub-expression goes first. Only filters:
Polars' own common-subexpression elimination already covers the expressions of one `with_columns`
(what a map, a select or a validate lowers to, measured on Polars 2.1: `__POLARS_CSER_` columns in
`explain()`), but not a filter's predicate, which it evaluates as written.

Precondition: the filter cannot fail and nothing reads its `.errors` (the added map evaluates `e` for
every record, also where `and`/`or`/`if` would have skipped it, which is harmless only for an
expression that cannot fail). Runs once, after the fixed point of the other rules: `push_filters` and
`fuse_maps` would otherwise move or merge the added map back.
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
        if not isinstance(node, ir.Filter) or facts.can_fail(plan, node):
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
        out = ir.Drop(input=rewritten, fields=(name,), step=node.step)
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


def _substituted(node: ir.Filter, sub: ast.Expr, name: str, pre: ir.Map) -> ir.Node:
    expr = facts.transform(node.predicate.expr, lambda n: ast.Field(name=name) if n == sub else None)
    return dataclasses.replace(node, input=pre, predicate=facts.expression(expr))
