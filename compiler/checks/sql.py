"""`sql` steps (SPEC §4): one row-wise SELECT over `input`.

The rules live in `sql_rules`, imported only when a spec has a `sql` step: sqlglot takes a quarter
of a second to import, which every `flowc validate` would otherwise pay.
"""

from __future__ import annotations

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Sql
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.span import TextRange


def ensure_sql_row_wise(graph: Graph) -> list[Diagnostic]:
    found = []
    for step in graph.spec.steps:
        if isinstance(step.config, Sql):
            found.extend(codes.diagnostic("E307", step.config.locate(pos), problem=problem)
                         for pos, problem in sql_problems(step.config.query))
    return found


def column_after(query: str, name: str) -> str | None:
    """The name the input's column `name` has in the query's output, if any (`sql_rules`)."""
    from flowc.compiler.checks import sql_rules

    return sql_rules.column_after(query, name)


def sql_problems(query: str) -> list[tuple[TextRange, str]]:
    """(where in the query, problem) for everything a `sql` step may not say."""
    from flowc.compiler.checks import sql_rules

    return sql_rules.sql_problems(query)
