"""Rewrite rules over the operator graph (one module per rule) and the fixed-point driver.

`optimize(plan)` gives the rewritten plan and the rewrites that fired (`driver.py` lists the rules
in the order they run). Every rule keeps what each sink receives, error envelopes included.
"""

from flowc.compiler.optimize.driver import RULES, Optimized, optimize
from flowc.compiler.optimize.rewrite import RuleApplication

__all__ = ["RULES", "Optimized", "RuleApplication", "optimize"]
