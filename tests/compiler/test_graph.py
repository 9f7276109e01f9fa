"""The pipeline graph and the event time travelling through it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from spec_helpers import graph_of

from flowc.compiler.event_time import event_time_fields
from flowc.compiler.graph import build_graph, find_cycles, split_input
from flowc.compiler.spec import Filter, Spec, Step


def test_split_input() -> None:
    assert split_input("a.errors") == ("a", "errors")
    assert split_input("a") == ("a", None)


DIAMOND = """\
version: 1
pipeline: p
sources:
  a: {type: inline, records: [{x: 1, ts: "2026-01-01T00:00:00Z"}], event_time: {field: ts}}
  k: {type: kafka, topic: t, bootstrap_servers: 'h:1'}
steps:
  - {name: late_reader, from: agg.late, filter: "true"}
  - {name: left, from: a, filter: x > 0}
  - {name: right, from: a, rename: {ts: t2}}
  - {name: agg, from: left, aggregate: {window: {type: tumbling, size: 1m}, compute: {n: count()}}}
  - {name: both, union: [left, right]}
  - {name: fromk, from: k, filter: "true"}
sinks:
  o: {type: console, from: both}
"""


def test_topological_order_puts_inputs_first() -> None:
    order = [step.name for step in graph_of(DIAMOND).topological_steps()]
    for before, after in [("left", "agg"), ("agg", "late_reader"), ("left", "both"), ("right", "both")]:
        assert order.index(before) < order.index(after)


def test_readers_and_upstream_sources() -> None:
    graph = graph_of(DIAMOND)
    assert [r.name for r in graph.readers["a"]] == ["left", "right"]
    assert graph.is_read("agg.late") and not graph.is_read("agg.errors")
    assert [s.name for s in graph.upstream_sources("late_reader")] == ["a"]
    assert [s.name for s in graph.upstream_sources("fromk")] == ["k"]


def test_event_time_follows_fields() -> None:
    fields = event_time_fields(graph_of(DIAMOND))
    assert fields["a"] == "ts" and fields["k"] is None
    assert fields["left"] == "ts"
    assert fields["right"] == "t2"  # renamed
    assert fields["agg"] == "window_start"
    assert fields["agg.late"] == "ts"
    assert fields["both"] is None  # the union's inputs disagree


def _chain(links: list[tuple[int, int]], n: int) -> Spec:
    """Steps s0..s{n-1}; step i reads step j for each (i, j), else the source."""
    reads = dict(links)
    steps = tuple(
        Step(f"s{i}", "filter", Filter(None), (f"s{reads[i]}" if i in reads else "src",), None)  # type: ignore[arg-type]
        for i in range(n)
    )
    return Spec("p", None, None, (), steps, (), (), "f")  # type: ignore[arg-type]


@given(st.integers(2, 8).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n))))
def test_cycles_are_found_exactly_when_the_graph_has_one(case) -> None:
    n, links = case
    spec = _chain(links, n)
    graph = build_graph(spec)
    cycles = find_cycles(graph)
    placed = graph.topological_steps()
    # A graph is acyclic exactly when a topological order exists where each step follows its input.
    position = {step.name: i for i, step in enumerate(placed)}
    ordered = all(position.get(step.input_names[0], -1) < position[step.name] for step in placed)
    assert bool(cycles) == (not ordered)
    for cycle in cycles:
        assert cycle[0] == cycle[-1]
        for reader, read in zip(cycle[1:], cycle[:-1], strict=True):
            assert graph.nodes[reader].input_names == (read,)
