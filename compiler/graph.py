"""The pipeline graph of SPEC §2: who reads whom, in which order, from which sources.

Inputs are named `node` (the main output of a source or step) or `node.port` (a side output:
`errors`, `late`). Names that resolve to nothing are left out of the edges here; the checks report
them (E101). All functions are pure and tolerate cycles (reported as E301).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowc.compiler.spec import Sink, Source, Spec, Step

SIDE_OUTPUTS = ("errors", "late")


def split_input(name: str) -> tuple[str, str | None]:
    """`"parse.errors"` -> `("parse", "errors")`; `"orders"` -> `("orders", None)`."""
    base, dot, port = name.partition(".")
    return (base, port) if dot else (name, None)


@dataclass(frozen=True, slots=True)
class Graph:
    spec: Spec
    nodes: Mapping[str, Source | Step]  # sources and steps: what can be read (first of a duplicate name wins)
    readers: Mapping[str, tuple[Step | Sink, ...]]  # input name as written (with port) -> readers

    def inputs_of(self, step: Step) -> tuple[Source | Step, ...]:
        """The nodes a step reads (side outputs resolve to their node), known names only."""
        found = (self.nodes.get(split_input(name)[0]) for name in step.input_names)
        return tuple(node for node in found if node is not None)

    def is_read(self, name: str) -> bool:
        return bool(self.readers.get(name))

    def upstream_sources(self, name: str) -> tuple[Source, ...]:
        """Every source whose records can reach `name` (a node name), in declaration order."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            node = self.nodes.get(current)
            if isinstance(node, Step):
                stack.extend(split_input(n)[0] for n in node.input_names)
        return tuple(s for s in self.spec.sources if s.name in seen)

    def topological_steps(self) -> tuple[Step, ...]:
        """Steps with every step they read before them; steps on a cycle come last, in spec order."""
        order: list[Step] = []
        placed: set[str] = {s.name for s in self.spec.sources}
        pending = list(self.spec.steps)
        progress = True
        while pending and progress:
            progress = False
            for step in list(pending):
                if all(split_input(n)[0] in placed or split_input(n)[0] not in self.nodes for n in step.input_names):
                    order.append(step)
                    placed.add(step.name)
                    pending.remove(step)
                    progress = True
        return tuple(order + pending)


def build_graph(spec: Spec) -> Graph:
    nodes: dict[str, Source | Step] = {}
    for node in (*spec.sources, *spec.steps):
        nodes.setdefault(node.name, node)
    readers: dict[str, list[Step | Sink]] = {}
    for step in spec.steps:
        for name in step.input_names:
            readers.setdefault(name, []).append(step)
    for sink in spec.sinks:
        if sink.input_name:
            readers.setdefault(sink.input_name, []).append(sink)
    return Graph(spec, nodes, {k: tuple(v) for k, v in readers.items()})


def find_cycles(graph: Graph) -> list[tuple[str, ...]]:
    """Each elementary cycle found by depth-first search, once, as the path of step names that closes it
    (`("a", "b", "a")`), in the order of the spec's steps."""
    cycles: list[tuple[str, ...]] = []
    seen_sets: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for step in graph.spec.steps:
        _visit(graph, step.name, [], state, cycles, seen_sets)
    return cycles


def _visit(graph: Graph, start: str, path: list[str], state: dict[str, int], cycles: list[tuple[str, ...]],
           seen_sets: set[frozenset[str]]) -> None:
    # Iterative DFS over "reads from" edges, so long chains cannot overflow the stack.
    stack: list[tuple[str, int]] = [(start, 0)]
    while stack:
        name, index = stack.pop()
        node = graph.nodes.get(name)
        if index == 0:
            if state.get(name) == 2 or not isinstance(node, Step):
                continue
            state[name] = 1
            path.append(name)
        inputs = [split_input(n)[0] for n in node.input_names] if isinstance(node, Step) else []
        if index < len(inputs):
            stack.append((name, index + 1))
            target = inputs[index]
            if state.get(target) == 1:
                cycle = path[path.index(target):]
                if frozenset(cycle) not in seen_sets:
                    seen_sets.add(frozenset(cycle))
                    cycles.append((*reversed(cycle), cycle[-1]))
            elif state.get(target) != 2:
                stack.append((target, 0))
        else:
            state[name] = 2
            path.pop()
