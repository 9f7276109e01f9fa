"""Names (SPEC §2): unique across sources, steps and sinks, and every input resolving to something."""

from __future__ import annotations

from flowc.compiler.graph import SIDE_OUTPUTS, Graph, split_input
from flowc.compiler.spec import Aggregate, Step
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.span import Span


def ensure_unique_names(graph: Graph) -> list[Diagnostic]:
    """E102 at every use of a name after its first (sources, steps and sinks share one namespace)."""
    spec = graph.spec
    first: dict[str, Span | None] = {}
    found = []
    for node in (*spec.sources, *spec.steps, *spec.sinks):
        if node.name in first:
            other = first[node.name]
            found.append(codes.diagnostic("E102", node.span, name=node.name,
                                          other_line=other.line if other else "?"))
        else:
            first[node.name] = node.span
    found.extend(_sink_named_like_the_dead_letter_sink(spec))
    return found


def _sink_named_like_the_dead_letter_sink(spec) -> list[Diagnostic]:
    """The dead-letter sink is the sink `dead_letter` in the counts, the checkpoint and `flowc test`'s
    expectations: a sink of that name beside it would share its entries (and lose its own position)."""
    dead_letter = spec.settings.dead_letter
    if dead_letter is None:
        return []
    return [codes.diagnostic("E102", sink.span, name=sink.name,
                             other_line=dead_letter.span.line if dead_letter.span else "?",
                             help="'dead_letter' names the sink of settings.dead_letter; rename this sink")
            for sink in spec.sinks if sink.name == dead_letter.name]


def ensure_known_inputs(graph: Graph) -> list[Diagnostic]:
    """E101 for names of nothing, E103 for unknown side outputs, E311 for `.late` of what has none."""
    found: list[Diagnostic] = []
    for step in graph.spec.steps:
        for name, span in zip(step.input_names, _padded(step.input_spans, len(step.input_names)), strict=True):
            found.extend(_check_input(graph, name, span or step.span))
    for sink in graph.spec.sinks:
        if sink.input_name:
            found.extend(_check_input(graph, sink.input_name, sink.input_span or sink.span))
    return found


def _check_input(graph: Graph, name: str, span: Span | None) -> list[Diagnostic]:
    base, port = split_input(name)
    node = graph.nodes.get(base)
    if node is None:
        suggestion = codes.did_you_mean(name, input_candidates(graph))
        return [codes.diagnostic("E101", span, what="input", name=name, suggestion=suggestion)]
    if port is not None and port not in SIDE_OUTPUTS:
        return [codes.diagnostic("E103", span, name=name)]
    if port == "late" and not has_late_output(node):
        return [codes.diagnostic("E311", span, name=base)]
    return []


def has_late_output(node: object) -> bool:
    """Only a windowed aggregate decides that records are late (SPEC §4)."""
    return isinstance(node, Step) and isinstance(node.config, Aggregate) and node.config.window is not None


def input_candidates(graph: Graph) -> list[str]:
    """Every name an input may be: sources, steps and their side outputs."""
    names = []
    for node in graph.nodes.values():
        names.append(node.name)
        names.append(f"{node.name}.errors")
        if has_late_output(node):
            names.append(f"{node.name}.late")
    return names


def _padded(spans: tuple, n: int) -> tuple:
    return tuple(spans[:n]) + (None,) * (n - len(spans))

