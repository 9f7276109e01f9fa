"""File formats (SPEC §7): a file source, sink or enrich table needs a format its path or `format:` tells."""

from __future__ import annotations

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Enrich, Sink, Source, Table
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic


def ensure_file_formats(graph: Graph) -> list[Diagnostic]:
    """E309 at the `path` of each file whose format is neither given nor told by its extension."""
    spec = graph.spec
    files = [(s.type, s.format, _shown(s), s.key_spans.get("path", s.span)) for s in spec.sources]
    sinks = (*spec.sinks, *((spec.settings.dead_letter,) if spec.settings.dead_letter else ()))
    files += [(s.type, s.format, _shown(s), s.key_spans.get("path", s.span)) for s in sinks]
    files += [(step.config.table.type, step.config.table.format, _shown(step.config.table),
               step.config.table.key_spans.get("path", step.config.table.span))
              for step in spec.steps if isinstance(step.config, Enrich)]
    return [codes.diagnostic("E309", span, path=path)
            for type_, format_, path, span in files if type_ == "file" and format_ is None]


def _shown(node: Source | Sink | Table) -> str:
    """The path as written: a `${...}` in it stays unsubstituted in messages."""
    path = node.path if isinstance(node, Table) else str(node.config.get("path", ""))
    return node.written.get("path", path)
