"""File formats (SPEC §7): a file source, sink or enrich table needs a format its path or `format:` tells."""

from __future__ import annotations

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Enrich
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic


def ensure_file_formats(graph: Graph) -> list[Diagnostic]:
    """E309 at the `path` of each file whose format is neither given nor told by its extension."""
    spec = graph.spec
    files = [(s.type, s.format, s.config.get("path"), s.key_spans.get("path", s.span)) for s in spec.sources]
    sinks = (*spec.sinks, *((spec.settings.dead_letter,) if spec.settings.dead_letter else ()))
    files += [(s.type, s.format, s.config.get("path"), s.key_spans.get("path", s.span)) for s in sinks]
    files += [(step.config.table.type, step.config.table.format, step.config.table.path,
               step.config.table.key_spans.get("path", step.config.table.span))
              for step in spec.steps if isinstance(step.config, Enrich)]
    return [codes.diagnostic("E309", span, path=path)
            for type_, format_, path, span in files if type_ == "file" and format_ is None]
