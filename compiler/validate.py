"""What `flowc validate` reports: structure first, then every semantic check the structure allows.

Validation reads no data file unless `with_data` asks to sample local data files for the schemas of
sources that declare none; an `enrich` table's file is sampled whenever it exists, for the key check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flowc.compiler.checks.dead_letter import ensure_dead_letter_sink
from flowc.compiler.checks.fields import ensure_fields
from flowc.compiler.checks.formats import (
    ensure_endless_sinks_rotate,
    ensure_file_formats,
    ensure_kafka_csv_schemas,
    ensure_options_fit_formats,
    ensure_sink_compressions,
    ensure_sink_formats_writable,
    ensure_watched_formats,
)
from flowc.compiler.checks.graph_shape import (
    ensure_acyclic,
    ensure_bounded_global_aggregates,
    ensure_inputs_earlier,
    ensure_inputs_inferred,
    ensure_kafka_state_warned,
    ensure_sources_read,
    ensure_steps_read,
)
from flowc.compiler.checks.kafka_groups import ensure_one_source_per_kafka_group
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
    ensure_inputs_earlier,
    ensure_steps_read,
    ensure_sources_read,
    ensure_bounded_global_aggregates,
    ensure_kafka_state_warned,
    ensure_one_source_per_kafka_group,
    ensure_event_time_reaches_windows,
    ensure_window_parameters,
    ensure_dead_letter_sink,
    ensure_file_formats,
    ensure_sink_compressions,
    ensure_sink_formats_writable,
    ensure_distinct_sink_paths,
    ensure_watched_formats,
    ensure_kafka_csv_schemas,
    ensure_options_fit_formats,
    ensure_endless_sinks_rotate,
    ensure_sql_row_wise,
    ensure_test_names,
)


# Structural errors that leave the rest of the spec meaning what it says: the semantic checks still run.
# (An unknown key is ignored by normalisation; a name that breaks the pattern is still a name; a field of
# an unknown type is kept, of a type that fits every use.)
_LOCAL_STRUCTURE_ERRORS = frozenset({"E401", "E409", "E410"})
_LOCAL_VALUE_ERRORS = frozenset({"E404", "E405", "E406"})  # invalid value, duration, size
# Source keys that say how or when records are fetched, not what they hold: a value of the wrong type
# (E403, `watch: yes`) is read as absent and leaves the source's fields what its schema says.
_FETCH_KEYS = frozenset({"watch", "bootstrap_servers", "group_id", "start", "options", "method", "headers",
                         "pagination", "interval", "rate_limit", "retry", "cursor_param", "rate"})


def _local(diagnostic: Diagnostic, doc: Document) -> bool:
    """Whether a structural error leaves the rest of the spec meaning what it says: an unknown key, a bad
    name or type name, a bad duration, size or allowed value of a key other than `type` (it is read
    as absent; `type` chooses what every other key of its source, sink or window means), a value of
    the wrong type for a source key that only says how records are fetched (`_FETCH_KEYS`), and a
    step's `from` beside `union` (the union reads the inputs it lists)."""
    if diagnostic.code in _LOCAL_STRUCTURE_ERRORS:
        return True
    if _from_beside_union(diagnostic, doc):
        return True
    if diagnostic.code not in {*_LOCAL_VALUE_ERRORS, "E403"} or diagnostic.span is None:
        return False
    path = next((p for p, span in doc.value_spans.items() if span == diagnostic.span), None)
    if path is None:
        return False
    if diagnostic.code == "E403":
        return path[:1] == ("sources",) and len(path) >= 3 and path[2] in _FETCH_KEYS
    return path[-1:] != ("type",)


def _from_beside_union(diagnostic: Diagnostic, doc: Document) -> bool:
    """E412 at a step's `from`: the union reads the inputs it lists, the `from` is read as absent, and
    nothing else in the step is an echo of it."""
    if diagnostic.code != "E412" or diagnostic.span is None:
        return False
    path = next((p for p, span in doc.key_spans.items() if span == diagnostic.span), None)
    return path is not None and path[:1] == ("steps",) and path[-1:] == ("from",)


def validate_document(doc: Document, *, with_data: bool = False) -> list[Diagnostic]:
    """Every diagnostic of `doc`, sorted by position (file, line, column, code).

    SPEC §10: every problem, not the first. After structural errors that are local (an unknown key,
    a bad name, anything wrong in a sink or a setting) every semantic check runs as well; after others
    (a missing or mistyped key of a source or step, an unknown operator) the rest of the spec cannot be trusted to
    mean anything, so only the expressions' own syntax errors (E2xx) are added, which depend on nothing
    else. Either way, what is found in an element (a source, step, sink) with a structural error is
    left out: it is likely an echo of that error."""
    found = check_structure(doc)
    structural = [d for d in found if d.severity is Severity.ERROR]
    if not structural:
        found.extend(_semantic(doc, with_data))
    else:
        element = _element_finder(doc)
        # a sink's or a setting's mistakes cannot change what the sources and steps mean (a bad setting
        # is read as its default)
        local = all(_local(d, doc) or element(d)[:1] in (("sinks",), ("settings",)) for d in structural)
        # their other problems may be echoes of the structural one
        broken = {element(d) for d in structural if not _from_beside_union(d, doc)}
        found.extend(d for d in _beyond_structure(doc, with_data, local) if element(d) not in broken)
    return sorted((redact(d, doc.inserted) for d in _unique(found)), key=Diagnostic.sort_key)


def _element_finder(doc: Document) -> Callable[[Diagnostic], tuple]:
    """The spec element a diagnostic is written in: a source, a step, a sink, or another top-level key
    (by the lines each occupies)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    starts: list[tuple[int, tuple]] = []
    for key, value in data.items():
        paths: list[tuple] = [(key,)]
        if key in ("sources", "sinks", "settings") and isinstance(value, dict):
            paths += [(key, name) for name in value]
        elif key == "steps" and isinstance(value, list):
            paths += [(key, i) for i in range(len(value))]
        for path in paths:
            span = doc.key_span(path) if not isinstance(path[-1], int) else doc.span(path)
            if span is not None:
                starts.append((span.line, path))
    starts.sort(key=lambda start: start[0])

    def element(diagnostic: Diagnostic) -> tuple:
        line = diagnostic.span.line if diagnostic.span is not None else 0
        return max((start for start in starts if start[0] <= line), key=lambda start: start[0], default=(0, ()))[1]

    return element


def _semantic(doc: Document, with_data: bool) -> list[Diagnostic]:
    spec, found = normalize_spec(doc)
    if spec is not None:
        graph = build_graph(spec)
        for check in CHECKS:
            found.extend(check(graph))
        found.extend(ensure_fields(graph, with_data=with_data))
    return found


def _beyond_structure(doc: Document, with_data: bool, local: bool) -> list[Diagnostic]:
    """What the checks after the structure find in a spec that has structural errors. They are written
    for well-formed specs: one that trips on the malformed part adds nothing (the structural errors
    are reported either way)."""
    if local:  # its problems; notes on the spec (e.g. unchecked fields) wait for a clean structure
        try:
            return [d for d in _semantic(doc, with_data) if d.severity is not Severity.NOTE]
        except Exception:  # best effort: the expressions' own syntax errors below still hold
            pass
    try:
        _, problems = normalize_spec(doc)
    except Exception:  # best effort on a document the schema already rejected
        return []
    return [d for d in problems if d.code.startswith("E2")]


def validate_path(path: str, *, env: Mapping[str, str] | None = None,
                  with_data: bool = False) -> tuple[Document | None, list[Diagnostic]]:
    """Load the spec at `path` (with `env` for `${...}`, else the process environment) and validate it."""
    from flowc.dsl.loader import load_document

    doc, found = load_document(path, env=env)
    errors = [d for d in found if d.severity is Severity.ERROR]
    if doc is None or any(d.code not in _SUBSTITUTION_ERRORS for d in errors):
        return doc, sorted(found, key=Diagnostic.sort_key)
    later = validate_document(doc, with_data=with_data)
    if errors:
        # SPEC §10: every problem. A reference that could not be substituted stays in its value as
        # written (docs/yaml.md), so the other checks still run; what they find on such a value's line
        # is an echo of it (`batch_size: ${BS}` is not an integer) and is left out, as are notes (what
        # is not checked), as after structural errors.
        echoes = {(d.span.file, d.span.line) for d in errors if d.span is not None}
        later = [d for d in later if d.severity is not Severity.NOTE
                 and (d.span is None or (d.span.file, d.span.line) not in echoes)]
    return doc, sorted([*found, *later], key=Diagnostic.sort_key)


_SUBSTITUTION_ERRORS = frozenset({"E010", "E011"})  # an unset variable, a malformed `${...}`


def _unique(found: list[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic once: an expression shared by two checks must not be reported twice."""
    return list(dict.fromkeys(found))
