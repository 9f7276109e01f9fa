"""The dead-letter sink (SPEC §6): required where dead-lettered records would have nowhere to go.

§6 requires a `dead_letter` sink "whenever dead_letter is the effective policy of a step or source
whose .errors nothing reads, or a .late output is unread and late records are possible", while §4 says
unread late records go to the dead-letter sink "when one exists, else they are dropped and counted".
Both hold when the second clause is read under the first's condition: an unread `.late` needs the
sink only where `dead_letter` is the aggregate's effective policy; under `fail` or `skip` late
records are dropped and counted.
"""

from __future__ import annotations

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Source, Step
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic

DEAD_LETTER = "dead_letter"
_LISTED = 4  # names a message lists before "and N more"


def effective_policy(graph: Graph, node: Source | Step) -> str:
    """SPEC §6: reading `<node>.errors` makes `dead_letter` the policy; else the step's own, else the setting's."""
    if graph.is_read(f"{node.name}.errors"):
        return DEAD_LETTER
    own = node.on_error if isinstance(node, Step) else None
    return own or graph.spec.settings.on_error


def unread_side_outputs(graph: Graph, node: Source | Step) -> list[str]:
    """The side outputs of `node` that would go to the dead-letter sink."""
    from flowc.compiler.checks.names import has_late_output

    outputs = [f"{node.name}.errors"]
    if has_late_output(node):
        outputs.append(f"{node.name}.late")
    return [name for name in outputs if not graph.is_read(name)]


def ensure_dead_letter_sink(graph: Graph) -> list[Diagnostic]:
    """E304, grouped by where the policy was chosen: once for everything inheriting
    `settings.on_error`, once per step choosing `on_error: dead_letter` or reading its `.errors`."""
    settings = graph.spec.settings
    if settings.dead_letter is not None:
        return []
    found = []
    inherited: list[str] = []
    for node in (*graph.spec.sources, *graph.spec.steps):
        if effective_policy(graph, node) != DEAD_LETTER or graph.nodes.get(node.name) is not node:
            continue
        unread = unread_side_outputs(graph, node)
        if not unread:
            continue
        if isinstance(node, Step) and node.on_error == DEAD_LETTER:
            span = node.key_spans.get("on_error", node.span)
            found.append(codes.diagnostic("E304", span, problem=f"'{node.name}' has on_error dead_letter "
                                                                 f"and nothing reads {_listed(unread)}"))
        elif graph.is_read(f"{node.name}.errors"):
            found.append(codes.diagnostic("E304", node.span, problem=f"reading '{node.name}.errors' makes "
                                          f"dead_letter its policy, and nothing reads {_listed(unread)}"))
        else:
            inherited.extend(unread)
    if inherited:
        span = settings.key_spans.get("on_error")
        found.append(codes.diagnostic("E304", span, problem=f"settings.on_error is dead_letter and nothing "
                                                            f"reads {_listed(inherited)}"))
    return found


def _listed(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:_LISTED])
    more = len(names) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown
