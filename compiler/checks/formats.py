"""File formats (SPEC §7): a file source, sink or enrich table needs a format its path or `format:` tells,
and a file sink a compression its format can take."""

from __future__ import annotations

from flowc.compiler.graph import Graph, split_input
from flowc.compiler.spec import Enrich, Sink, Source, Table
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic

# What each file sink format can be compressed with (None: uncompressed). Mirrors the writer's table in
# `flowc.runtime.sinks.backends`, which the compiler cannot import; a test holds the two equal.
SINK_COMPRESSIONS: dict[str, tuple[str | None, ...]] = {
    "jsonl": (None, "gzip"), "csv": (None, "gzip"), "json": (None, "gzip"), "parquet": (None, "zstd", "snappy"),
}


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


_WATCHABLE = ("csv", "jsonl", "text")  # formats of lines: a growing file is read up to its last whole line


def ensure_watched_formats(graph: Graph) -> list[Diagnostic]:
    """E318 at the `path` (or `format`) of a watched file source whose files cannot be read as they grow:
    a JSON array or Parquet file is whole only when written, a compressed one cannot be cut at a line."""
    found = []
    for source in graph.spec.sources:
        if source.type != "file" or source.config.get("watch") is not True or source.format is None:
            continue
        if source.format not in _WATCHABLE:
            found.append(codes.diagnostic("E318", source.key_spans.get("format", source.key_spans.get("path", source.span)),
                                          name=source.name, problem=f"reads csv, jsonl or text, not {source.format}"))
        elif _shown(source).endswith(".gz"):
            found.append(codes.diagnostic("E318", source.key_spans.get("path", source.span), name=source.name,
                                          problem="cannot read compressed files (a growing .gz file cannot be read up "
                                                  "to its last complete line)"))
    return found


def _shown(node: Source | Sink | Table) -> str:
    """The path as written: a `${...}` in it stays unsubstituted in messages."""
    path = node.path if isinstance(node, Table) else str(node.config.get("path", ""))
    return node.written.get("path", path)


def ensure_sink_compressions(graph: Graph) -> list[Diagnostic]:
    """E315 where a file sink's compression, written or implied by a `.gz` path, does not fit its format:
    at the `compression` value when written, else at the `path`."""
    spec = graph.spec
    sinks = (*spec.sinks, *((spec.settings.dead_letter,) if spec.settings.dead_letter else ()))
    return [d for sink in sinks if sink.type == "file" and (d := _compression_problem(sink)) is not None]


def ensure_sink_formats_writable(graph: Graph) -> list[Diagnostic]:
    """E316 at the `path` of a file sink whose extension names a format no sink writes (`.txt`); a written
    `format:` is held to the sink formats by the schema already."""
    spec = graph.spec
    sinks = (*spec.sinks, *((spec.settings.dead_letter,) if spec.settings.dead_letter else ()))
    return [codes.diagnostic("E316", s.key_spans.get("path", s.span), name=s.name, format=s.format, path=_shown(s))
            for s in sinks if s.type == "file" and s.format is not None and s.format not in SINK_COMPRESSIONS]


def _compression_problem(sink: Sink) -> Diagnostic | None:
    compression, allowed = sink.config.get("compression"), SINK_COMPRESSIONS.get(sink.format or "")
    if allowed is None or compression in allowed:  # an unknown format is E309's (or the schema's) to report
        return None
    takes = " or ".join(f"'{c}'" for c in allowed if c)
    if "compression" in sink.key_spans:
        return codes.diagnostic("E315", sink.key_spans["compression"], compression=compression, origin="",
                                format=sink.format, name=sink.name, fix=f"{sink.format} takes {takes}")
    return codes.diagnostic("E315", sink.key_spans.get("path", sink.span), compression=compression,
                            origin=f" (implied by the '.gz' ending of '{_shown(sink)}')", format=sink.format,
                            name=sink.name, fix=f"{sink.format} takes {takes}: drop the '.gz' and set 'compression'")


def ensure_endless_sinks_rotate(graph: Graph) -> list[Diagnostic]:
    """W303 at a json or parquet file sink without `rotate` that an unbounded source feeds: its one file is
    renamed into place when complete, which for an endless run is never."""
    found = []
    for sink in graph.spec.sinks:
        if sink.type != "file" or sink.format not in ("json", "parquet") or "rotate" in sink.config:
            continue
        if sink.input_name is None:
            continue
        endless = [x for x in graph.upstream_sources(split_input(sink.input_name)[0]) if not x.bounded]
        if endless:
            found.append(codes.diagnostic("W303", sink.key_spans.get("path", sink.span), name=sink.name,
                                          format=sink.format, source=endless[0].name))
    return found


def ensure_options_fit_formats(graph: Graph) -> list[Diagnostic]:
    """W304 at the `options` of a file source or enrich table whose format is not csv: only CSV is read
    by them."""
    spec = graph.spec
    files = [(f"source '{s.name}'", s) for s in spec.sources if s.type == "file"]
    files += [(f"the table of enrich step '{step.name}'", step.config.table)
              for step in spec.steps if isinstance(step.config, Enrich) and step.config.table.type == "file"]
    found = []
    for what, file in files:
        options = file.config.get("options")
        if file.format in (None, "csv") or not options or not hasattr(options, "keys"):
            continue
        keys = ", ".join(f"'{key}'" for key in options)
        found.append(codes.diagnostic("W304", file.key_spans.get("options", file.span), what=what,
                                      format=file.format, keys=keys))
    return found


def ensure_kafka_csv_schemas(graph: Graph) -> list[Diagnostic]:
    """E402 at a Kafka source reading `csv` without a `schema`: its messages are rows without a header,
    so only the schema names their fields (the run failed at its first message, naming no source)."""
    return [codes.diagnostic("E402", s.key_spans.get("format", s.span), key="schema", where=f"source '{s.name}'",
                             help="a kafka source with format csv names the fields of its header-less rows, "
                                  "in order, in `schema`")
            for s in graph.spec.sources if s.type == "kafka" and s.format == "csv" and s.schema is None]
