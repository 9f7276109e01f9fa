"""Run the rewrite rules over a plan to a fixed point, recording every rewrite.

Order (each rule fires as often as it can before the next is tried; passes repeat until a whole pass
changes nothing):

1. `fold_constants`     closed sub-expressions become literals, so later rules see simpler trees
2. `eliminate_dead_branches`  `.errors` outputs of nodes that cannot fail leave the dead-letter sink,
                        and steps that change nothing go (so they stop blocking the rules below)
3. `push_filters`       filters move towards their source, below map/rename/select/drop/explode
4. `fuse_filters`       adjacent filters become one
5. `fuse_maps`          adjacent maps become one
6. `prune_columns`      map assignments nothing reads go; sources read only the columns used

Then, once, on the fixed point: `eliminate_common_subexpressions` (it adds a map in front of a step,
which `fuse_maps` would merge back; running it last keeps the fixed point a fixed point).

Every rule is a pure function `rule(plan) -> Rewrite | None` that finds one place to rewrite; the
driver applies it with `replace` (which recomputes schemas and typings) and records where it fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowc.compiler.optimize.eliminate_common_subexpressions import eliminate_common_subexpressions
from flowc.compiler.optimize.eliminate_dead_branches import eliminate_dead_branches
from flowc.compiler.optimize.fold_constants import fold_constants
from flowc.compiler.optimize.fuse_filters import fuse_filters
from flowc.compiler.optimize.fuse_maps import fuse_maps
from flowc.compiler.optimize.prune_columns import prune_columns
from flowc.compiler.optimize.push_filters import push_filters
from flowc.compiler.optimize.replan import replace
from flowc.compiler.optimize.rewrite import Rewrite, RuleApplication
from flowc.compiler.plan import Plan

Rule = Callable[[Plan], Rewrite | None]
RULES: tuple[Rule, ...] = (fold_constants, eliminate_dead_branches, push_filters, fuse_filters, fuse_maps,
                           prune_columns)
FINAL_RULES: tuple[Rule, ...] = (eliminate_common_subexpressions,)
MAX_REWRITES = 10_000  # a guard against two rules undoing each other forever (a bug, never user input)


@dataclass(frozen=True, slots=True)
class Optimized:
    plan: Plan
    applied: tuple[RuleApplication, ...]


def optimize(plan: Plan) -> Optimized:
    """`plan` rewritten by every rule to a fixed point, and the rewrites in the order they fired."""
    applied: list[RuleApplication] = []
    changed = True
    while changed:
        changed = False
        for rule in RULES:
            while (rewrite := rule(plan)) is not None:
                plan = _apply(plan, rewrite, applied)
                changed = True
    for rule in FINAL_RULES:
        while (rewrite := rule(plan)) is not None:
            plan = _apply(plan, rewrite, applied)
    return Optimized(plan, tuple(applied))


def _apply(plan: Plan, rewrite: Rewrite, applied: list[RuleApplication]) -> Plan:
    applied.append(rewrite.application)
    if len(applied) > MAX_REWRITES:
        raise RuntimeError(f"optimizer did not reach a fixed point: last rewrite {rewrite.application}")
    return replace(plan, rewrite.replacements)
