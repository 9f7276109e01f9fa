"""Replace a closed sub-expression by its value.

    amount > 60 * 60 * 24   =>  amount > 86400
    items[-1]               =>  items[-1]     (the negation `-(1)` becomes the literal -1)
    upper("de") + country   =>  "DE" + country

A sub-expression is closed when it reads no field and does not call `now()` (its value differs per
batch). Its value comes from the reference interpreter (`flowc.dsl.interpret.evaluate`), the
definition of the language, typed as in its step (so an int the checker widened to float stays a
float).

Precondition: the evaluation succeeds (a sub-expression that raises a record error is left alone, so
the error still happens, or not, exactly where it did), and the value has a literal of the same type:
int, float (finite), bool, string or duration. A null, list or timestamp value is not folded (a null
literal would lose its type).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

from flowc.compiler import ir
from flowc.compiler.optimize import facts
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan
from flowc.compiler.spec import Expression
from flowc.dsl import ast
from flowc.dsl.interpret import evaluate
from flowc.dsl.unparse import unparse

_NOW = datetime(1970, 1, 1, tzinfo=UTC)  # never read: closed expressions do not call now()


def fold_constants(plan: Plan) -> Rewrite | None:
    for node in plan.nodes:
        folds: list[tuple[ast.Node, ast.Node]] = []
        new = _folded_node(node, plan.types.get(node, {}), folds)
        if new is not None:
            detail = "; ".join(_shown(old, lit) for old, lit in folds)
            return Rewrite({node: new}, RuleApplication("fold_constants", node.step, detail))
    return None


def _shown(old: ast.Node, literal: ast.Node) -> str:
    before, after = unparse(old), unparse(literal)
    return f"{before}  =>  {after}" if before != after else f"{before}  =>  a literal"


def _folded_node(node: ir.Node, types, folds: list) -> ir.Node | None:
    if isinstance(node, ir.Filter):
        e = _folded(node.predicate, types, folds)
        return None if e is None else dataclasses.replace(node, predicate=e)
    if isinstance(node, ir.Map | ir.Select) and node.assignments:
        for i, a in enumerate(node.assignments):
            e = _folded(a.value, types, folds)
            if e is not None:
                assignments = list(node.assignments)
                assignments[i] = dataclasses.replace(a, value=e)
                return dataclasses.replace(node, assignments=tuple(assignments))
    if isinstance(node, ir.Validate):
        for i, r in enumerate(node.rules):
            e = _folded(r.predicate, types, folds)
            if e is not None:
                rules = list(node.rules)
                rules[i] = dataclasses.replace(r, predicate=e)
                return dataclasses.replace(node, rules=tuple(rules))
    return None


def _folded(expression: Expression, types, folds: list) -> Expression | None:
    if expression.expr is None:
        return None
    found: list[tuple[ast.Node, ast.Node]] = []
    expr = facts.transform(expression.expr, lambda n: _value(n, types, found))
    if expr is expression.expr:
        return None
    try:
        folded = facts.expression(expr)
        shown = [_shown(old, lit) for old, lit in found]
    except ValueError:  # a value no expression text can spell: keep the original
        return None
    folds.extend(found)
    return folded if shown else None


def _value(node: ast.Node, types, found: list) -> ast.Node | None:
    """The literal standing for `node` when it is closed and foldable; None to look inside it."""
    if isinstance(node, (*ast.LITERALS, ast.When)) or not _closed(node):
        return None
    try:
        value = evaluate(node, {}, now=_NOW, types=types)
    except Exception:  # a record error (or a value the interpreter cannot give): leave it to run time
        return None
    literal = _literal(value)
    if literal is not None:
        found.append((node, literal))
    return literal


def _closed(node: ast.Node) -> bool:
    return not any(isinstance(n, ast.Field) or (isinstance(n, ast.Call) and n.name == "now") for n in ast.walk(node))


def _literal(value: object) -> ast.Node | None:
    if isinstance(value, bool):
        return ast.BoolLit(value=value)
    if isinstance(value, int):
        return ast.IntLit(value=value)  # a negative one too: `-1` lowers to a constant, no overflow check
    if isinstance(value, float) and math.isfinite(value):
        return ast.FloatLit(value=value)
    if isinstance(value, str):
        return ast.StringLit(value=value)
    if isinstance(value, timedelta) and value >= timedelta(0):
        return ast.DurationLit(micros=value // timedelta(microseconds=1))
    return None
