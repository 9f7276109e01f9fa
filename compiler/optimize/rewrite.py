"""What a rule gives back: the nodes it replaces, and a record of where it fired (for `flowc plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowc.compiler import ir


@dataclass(frozen=True, slots=True)
class RuleApplication:
    """One firing of a rule: `rule` (its module name), `step` (the step it rewrote, as the user names
    it), and `detail`, one line saying what changed."""

    rule: str
    step: str
    detail: str


@dataclass(frozen=True, slots=True)
class Rewrite:
    replacements: Mapping[ir.Node, ir.Node]  # old node -> new node (whose inputs may be old nodes)
    application: RuleApplication
