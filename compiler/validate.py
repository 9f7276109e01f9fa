"""What `flowc validate` reports: structure first, then, on a well-formed document, every semantic check.

Validation reads no file but the spec, unless `with_data` asks to sample local data files for the
schemas of sources that declare none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flowc.compiler.checks.dead_letter import ensure_dead_letter_sink
from flowc.compiler.checks.fields import ensure_fields
from flowc.compiler.checks.formats import (
    ensure_file_formats,
    ensure_sink_compressions,
    ensure_sink_formats_writable,
    ensure_watched_formats,
)
from flowc.compiler.checks.graph_shape import (
    ensure_acyclic,
    ensure_bounded_global_aggregates,
    ensure_inputs_inferred,
    ensure_kafka_state_warned,
    ensure_steps_read,
)
from flowc.compiler.checks.names import ensure_known_inputs, ensure_unique_names
from flowc.compiler.checks.sink_paths import ensure_distinct_sink_paths
from flowc.compiler.checks.sql import ensure_sql_row_wise
from flowc.compiler.checks.tests_section import ensure_test_names
from flowc.compiler.checks.windows import ensure_event_time_reaches_windows, ensure_window_parameters
from flowc.compiler.graph import Graph, build_graph
from flowc.compiler.normalize import normalize_spec
from flowc.compiler.structure import check_structure
from flowc.dsl.diagnostics import Diagnostic, Severity
from flowc.dsl.redact import redact
from flowc.dsl.source import Document

# In the order a reader fixes things: names, then shape, then semantics. Output is sorted anyway.
CHECKS: tuple[Callable[[Graph], list[Diagnostic]], ...] = (
    ensure_unique_names,
    ensure_known_inputs,
    ensure_inputs_inferred,
    ensure_acyclic,
    ensure_steps_read,
    ensure_bounded_global_aggregates,
    ensure_kafka_state_warned,
    ensure_event_time_reaches_windows,
    ensure_window_parameters,
    ensure_dead_letter_sink,
    ensure_file_formats,
    ensure_sink_compressions,
    ensure_sink_formats_writable,
    ensure_distinct_sink_paths,
    ensure_watched_formats,
    ensure_sql_row_wise,
    ensure_test_names,
)


def validate_document(doc: Document, *, with_data: bool = False) -> list[Diagnostic]:
    """Every diagnostic of `doc`, sorted by position (file, line, column, code)."""
    found = check_structure(doc)
    if any(d.severity is Severity.ERROR for d in found):
        return sorted(found, key=Diagnostic.sort_key)
    spec, problems = normalize_spec(doc)
    found.extend(problems)
    if spec is not None:
        graph = build_graph(spec)
        for check in CHECKS:
            found.extend(check(graph))
        found.extend(ensure_fields(graph, with_data=with_data))
    return sorted((redact(d, doc.inserted) for d in _unique(found)), key=Diagnostic.sort_key)


def validate_path(path: str, *, env: Mapping[str, str] | None = None,
                  with_data: bool = False) -> tuple[Document | None, list[Diagnostic]]:
    """Load the spec at `path` (with `env` for `${...}`, else the process environment) and validate it."""
    from flowc.dsl.loader import load_document

    doc, found = load_document(path, env=env)
    if doc is None or any(d.severity is Severity.ERROR for d in found):
        return doc, sorted(found, key=Diagnostic.sort_key)
    return doc, sorted([*found, *validate_document(doc, with_data=with_data)], key=Diagnostic.sort_key)


def _unique(found: list[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic once: an expression shared by two checks must not be reported twice."""
    return list(dict.fromkeys(found))
