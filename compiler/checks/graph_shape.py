"""The shape of the graph (SPEC §2-§4): acyclic, inputs inferable, every step and source read, bounded where it
must be."""

from __future__ import annotations

from flowc.compiler.graph import Graph, find_cycles, split_input
from flowc.compiler.spec import Aggregate, Sink, Step
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic

KEYED_STATE = ("aggregate", "dedupe")  # state per key that a Kafka rebalance can split (enrich's table is not)


def ensure_acyclic(graph: Graph) -> list[Diagnostic]:
    """E301 once per cycle, at the input of the cycle's first step (in spec order) that closes it."""
    order = {step.name: i for i, step in enumerate(graph.spec.steps)}
    found = []
    for cycle in find_cycles(graph):
        path = _rotate(cycle[:-1], order)
        first = graph.nodes[path[0]]
        assert isinstance(first, Step)
        closing = path[-1]
        span = next((sp for n, sp in zip(first.input_names, first.input_spans, strict=False)
                     if split_input(n)[0] == closing and sp is not None), first.span)
        found.append(codes.diagnostic("E301", span, cycle=" -> ".join((*path, path[0]))))
    return found


def ensure_inputs_earlier(graph: Graph) -> list[Diagnostic]:
    """E321 for a step whose input (`from:` or a `union` input, a side output too) is a step written
    after it, at that input; an input that closes a cycle is E301's."""
    order = {step.name: i for i, step in enumerate(graph.spec.steps)}
    on_cycles = [set(cycle) for cycle in find_cycles(graph)]
    found = []
    for step in graph.spec.steps:
        if graph.nodes.get(step.name) is not step:  # a duplicate name: E103 says so
            continue
        for name, span in zip(step.input_names, step.input_spans, strict=False):
            base = split_input(name)[0]
            if order.get(base, -1) <= order[step.name] or not isinstance(graph.nodes.get(base), Step):
                continue
            if any(step.name in cycle and base in cycle for cycle in on_cycles):
                continue
            found.append(codes.diagnostic("E321", span or step.span, name=step.name, input=name))
    return found


def _rotate(path: tuple[str, ...], order: dict[str, int]) -> tuple[str, ...]:
    start = min(range(len(path)), key=lambda i: order.get(path[i], 0))
    return path[start:] + path[:start]


def ensure_inputs_inferred(graph: Graph) -> list[Diagnostic]:
    """E302 for a step or sink without `from:` where the spec has several sources to choose from."""
    found = []
    for step in graph.spec.steps:
        if not step.input_names and step.operator != "union":
            found.append(codes.diagnostic("E302", step.span, name=step.name))
    for sink in graph.spec.sinks:
        if sink.input_name == "":
            found.append(codes.diagnostic("E302", sink.span, name=sink.name))
    return found


def ensure_steps_read(graph: Graph) -> list[Diagnostic]:
    """W301 for each step from which no sink can be reached (through any output)."""
    feeds_sink: set[str] = set()
    stack = [sink for sink in graph.spec.sinks if sink.input_name]
    while stack:
        reader = stack.pop()
        names = (reader.input_name,) if isinstance(reader, Sink) else reader.input_names
        for name in names:
            base = split_input(name or "")[0]
            node = graph.nodes.get(base)
            if isinstance(node, Step) and base not in feeds_sink:
                feeds_sink.add(base)
                stack.append(node)
    return [codes.diagnostic("W301", step.span, name=step.name)
            for step in graph.spec.steps if step.name not in feeds_sink and graph.nodes.get(step.name) is step]


def ensure_sources_read(graph: Graph) -> list[Diagnostic]:
    """W301 for each source that no step or sink reads (its records or its `.errors`), as for a step no
    sink reads. Not while an input is unknown (E101) or cannot be inferred (E302), or steps read each
    other in a cycle (E301): the source may be the input meant, and the error says what to fix."""
    spec = graph.spec
    inputs = [*(name for step in spec.steps for name in step.input_names), *(sink.input_name for sink in spec.sinks)]
    bases = {split_input(name)[0] for name in inputs}
    inferred = all(step.input_names or step.operator == "union" for step in spec.steps) and "" not in bases
    if not inferred or not bases <= set(graph.nodes) or find_cycles(graph):
        return []
    return [codes.diagnostic("W301", source.span, name=source.name,
                             help=f"no step or sink reads source '{source.name}': read it with 'from: {source.name}', "
                                  "or remove it")
            for source in spec.sources if source.name not in bases and graph.nodes.get(source.name) is source]


def ensure_bounded_global_aggregates(graph: Graph) -> list[Diagnostic]:
    """E303: an aggregate without a window emits at the end of its input, which an unbounded source never reaches."""
    found = []
    for step in graph.spec.steps:
        if isinstance(step.config, Aggregate) and step.config.window is None:
            unbounded = [s for s in graph.upstream_sources(step.name) if not s.bounded]
            if unbounded:
                found.append(codes.diagnostic("E303", step.span, name=step.name, source=unbounded[0].name))
    return found


def ensure_kafka_state_warned(graph: Graph) -> list[Diagnostic]:
    """W302 for keyed state fed by Kafka (SPEC §3: state is per process, lost for a moved partition)."""
    found = []
    for step in graph.spec.steps:
        if step.operator in KEYED_STATE and any(s.type == "kafka" for s in graph.upstream_sources(step.name)):
            found.append(codes.diagnostic("W302", step.span, name=step.name))
    return found
