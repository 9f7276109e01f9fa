"""The `tests:` section (SPEC §8): inputs name sources; expectations name sinks or side outputs."""

from __future__ import annotations

from datetime import UTC, datetime

from flowc.compiler.checks.names import has_late_output
from flowc.compiler.graph import Graph
from flowc.compiler.spec import Source, SpecTest
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic


def parse_test_now(text: str) -> datetime:
    """A test's `now:` as a UTC instant (ISO-8601; without an offset it is UTC). ValueError when it is
    no ISO-8601 time."""
    instant = datetime.fromisoformat(text.strip())
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def ensure_test_names(graph: Graph) -> list[Diagnostic]:
    """E102 for a test named as an earlier one; E101 for a test input that is no source, or an
    expectation that is no sink, side output or (`dead_letter`, when the spec has one) the
    dead-letter sink; E404 for a `now:` that is no ISO-8601 time."""
    spec = graph.spec
    sources = [s.name for s in spec.sources]
    outputs = [s.name for s in spec.sinks] + expectable_side_outputs(graph)
    if spec.settings.dead_letter is not None:
        outputs.append("dead_letter")  # what reaches the dead-letter sink
    found = _duplicate_tests(spec.tests)
    for test in spec.tests:
        if test.now is not None and not _is_time(test.now):
            found.append(codes.diagnostic("E404", test.now_span, value=repr(test.now), where=f"'now' in test '{test.name}'",
                                          expected="expected an ISO-8601 time, e.g. 2026-01-01T00:00:00Z",
                                          suggestion=""))
        for data in test.inputs:
            if data.name not in sources:
                found.append(codes.diagnostic("E101", data.span, what="source", name=data.name,
                                              suggestion=codes.did_you_mean(data.name, sources)))
        for data in test.expect:
            if data.name not in outputs:
                found.append(codes.diagnostic("E101", data.span, what="sink or side output", name=data.name,
                                              suggestion=codes.did_you_mean(data.name, outputs)))
    return found


def _duplicate_tests(tests: tuple[SpecTest, ...]) -> list[Diagnostic]:
    """Tests have their own namespace: `flowc test` reports a test, and `-k` selects it, by its name, so
    two of one name could not be told apart."""
    first: dict[str, SpecTest] = {}
    found = []
    for test in tests:
        if test.name not in first:
            first[test.name] = test
            continue
        other = first[test.name].span
        found.append(codes.diagnostic("E102", test.span, name=test.name, other_line=other.line if other else "?",
                                      help="test names are unique within 'tests'; rename this test"))
    return found


def expectable_side_outputs(graph: Graph) -> list[str]:
    """`<step>.errors`, `<step>.late` of windowed aggregates, and `<source>.errors`."""
    names = []
    for node in graph.nodes.values():
        names.append(f"{node.name}.errors")
        if not isinstance(node, Source) and has_late_output(node):
            names.append(f"{node.name}.late")
    return names


def _is_time(text: str) -> bool:
    try:
        parse_test_now(text)
    except ValueError:
        return False
    return True
