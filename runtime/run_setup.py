"""Everything a run needs before its first batch: readers, frozen schemas, the plan, the sink writers.

Bounded sources (file, inline, generate) get a `Reader` here. Polled sources (kafka, http, a watched
file: `is_feed`) are opened by the executor, which knows their checkpointed positions; their schema is
the declared one (Kafka's metadata fields added) or the one recorded in the event log.

Validation cannot type-check expressions against a schema it does not know (N301), so once the run
knows its schemas they are checked again (`check_schemas`); a type error raises `SchemaMismatch`,
whose diagnostics the CLI renders as `flowc validate` does, before anything is read or written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from flowc.compiler import ir
from flowc.compiler.checks.fields import ensure_fields
from flowc.compiler.checks.source_schemas import declared_schema, with_event_time
from flowc.compiler.graph import build_graph
from flowc.compiler.plan import Plan, build_plan
from flowc.compiler.spec import Config, Enrich, Source, Spec, thaw
from flowc.dsl.diagnostics import Diagnostic, Severity
from flowc.dsl.types import Struct, Type, type_from_text
from flowc.dsl.units import parse_size
from flowc.runtime.sinks.columns import sink_columns
from flowc.runtime.sinks.file_writer import FileSinkWriter
from flowc.runtime.sources import Reader, is_feed, open_reader
from flowc.runtime.sources.files import FileReader


class SchemaMismatch(Exception):
    """Expressions that do not type-check against the schemas the run inferred or recalled (SPEC §3)."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        super().__init__("; ".join((f"{d.span.file}:{d.span.line}:{d.span.col}: " if d.span else "")
                                   + f"error[{d.code}]: {d.message}" for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class Prepared:
    spec: Spec
    plan: Plan
    readers: Mapping[str, Reader]  # bounded sources
    schemas: Mapping[str, Struct]  # every source's frozen schema (a feed's only when declared or recorded)
    base_dir: str
    spec_hash: str
    console: TextIO | None = field(default=None)
    tables: Mapping[str, Struct] = field(default_factory=dict)  # enrich tables' schemas, by step
    optimize: bool = True  # the plan was rewritten by the optimizer


def recalled_schemas(state_dir: str) -> Mapping[str, Any] | None:
    """The source schemas recorded in the pipeline's event log, read without writing anything (for
    `flowc plan` and `run --dry-run`, which show the schemas a run would use); None without a log."""
    from flowc.runtime.events import LOG_NAME, EventLogCorrupt, read_events
    from flowc.runtime.lifecycle import fold

    path = os.path.join(state_dir, LOG_NAME)
    if not os.path.exists(path):
        return None
    try:
        return fold(read_events(path)[0]).schema
    except EventLogCorrupt:  # `flowc run` reports it; a plan is still worth showing
        return None


def prepare(spec: Spec, spec_text: str, recorded: Mapping[str, Any] | None = None,
            console: TextIO | None = None, optimize: bool = True) -> Prepared:
    """Readers and plan of `spec`. A source without a declared schema keeps the schema `recorded` in the
    event log when there is one (SPEC §3: inferred once, then frozen), else it is inferred now. The plan
    is rewritten by the optimizer (`flowc.compiler.optimize`) unless `optimize` is false."""
    base_dir = os.path.dirname(os.path.abspath(spec.file))
    readers = {s.name: open_reader(s, base_dir) for s in spec.sources if not is_feed(s)}
    schemas = {}
    for source in spec.sources:
        frozen = (recorded or {}).get(source.name) if source.schema is None else None
        if frozen:
            schemas[source.name] = struct_from_json(frozen)
        elif source.name in readers:
            schemas[source.name] = with_event_time(readers[source.name].schema(infer_rows(spec, source)), source)
        elif source.schema is not None:
            schemas[source.name] = declared_schema(source)
    tables = table_schemas(spec, base_dir)
    check_schemas(spec, schemas, tables)
    spec_hash = "sha256:" + hashlib.sha256(spec_text.encode()).hexdigest()
    return Prepared(spec, plan_of(spec, schemas, tables, optimize), readers, schemas, base_dir, spec_hash, console,
                    tables, optimize)


def infer_rows(spec: Spec, source: Source) -> int:
    """How many records a source's schema is inferred from: its own `infer_rows`, else the setting's
    (as `validate --with-data` samples it)."""
    own = source.config.get("infer_rows")
    return own if isinstance(own, int) and not isinstance(own, bool) and own > 0 else spec.settings.infer_rows


def check_schemas(spec: Spec, schemas: Mapping[str, Struct], tables: Mapping[str, Struct]) -> None:
    """Raise `SchemaMismatch` with the errors of `spec`'s expressions and field lists against the
    run's source `schemas` and enrich `tables` (the spec passed validation: these come from the types
    only the data told). Each error notes the inferred schemas, which validation did not see."""
    found = ensure_fields(build_graph(spec), known=schemas, tables=tables)
    errors = sorted(dict.fromkeys(d for d in found if d.severity is Severity.ERROR), key=Diagnostic.sort_key)
    if not errors:
        return
    inferred = [f"'{s.name}' {schemas[s.name]}" for s in spec.sources if s.schema is None and s.name in schemas]
    inferred += [f"the table of '{name}' {table}" for name, table in tables.items()]
    note = "checked against the schemas inferred from the data: " + "; ".join(inferred)
    raise SchemaMismatch(tuple(dataclasses.replace(d, notes=(*d.notes, note)) if inferred else d for d in errors))


def plan_of(spec: Spec, schemas: Mapping[str, Struct], tables: Mapping[str, Struct], optimize: bool) -> Plan:
    """The plan the run executes (also rebuilt once a feed's schema is known from its first batch)."""
    plan = build_plan(spec, schemas, tables)
    if optimize:
        from flowc.compiler.optimize import optimize as optimized

        plan = optimized(plan).plan
    return plan


def table_schemas(spec: Spec, base_dir: str) -> dict[str, Struct]:
    """The schema of each `enrich` table that declares none, read from the file as a source's would be."""
    found = {}
    for step in spec.steps:
        table = step.config.table if isinstance(step.config, Enrich) else None
        if table is not None and table.schema is None and table.type == "file":
            config = Config({**thaw(table.config), "path": table.path})
            as_source = Source(name=f"{step.name}.table", type="file", config=config, schema=None,
                               event_time=None, format=table.format)
            reader = FileReader(as_source, base_dir)
            if not reader.paths:
                raise FileNotFoundError(f"enrich step '{step.name}': no table file matches '{table.path}'")
            found[step.name] = reader.schema(spec.settings.infer_rows)
    return found


def schema_json(schemas: Mapping[str, Struct]) -> dict[str, Any]:
    return {name: _type_json(schema) for name, schema in schemas.items()}


def _type_json(type_: Type) -> Any:
    return {n: _type_json(t) for n, t in type_.fields} if isinstance(type_, Struct) else str(type_)


def struct_from_json(data: Mapping[str, Any]) -> Struct:
    fields = []
    for name, value in data.items():
        parsed = struct_from_json(value) if isinstance(value, Mapping) else type_from_text(value)
        if parsed is not None:
            fields.append((name, parsed))
    return Struct(tuple(fields))


# How to reach a source and how fast to read it, not what its positions mean: a resume may change them
# (SPEC §9 asks for the same sources; a generate source's `rate` or an http source's `interval` changes
# when records come, not which).
_NOT_POSITIONS = ("headers", "options", "rate", "interval", "rate_limit", "retry")


def sources_hash(spec: Spec) -> str:
    """What must not change for a checkpoint to resume: the sources (their spans take no part).

    The hash goes into the event log, so it never covers a value a `${...}` inserted (a short secret
    could be found from it by trying them all): entries are hashed as written, and headers, client
    options and pace (`_NOT_POSITIONS`), which say how to reach a source or how fast to read it rather
    than what its positions mean, are left out."""
    described = [_described(s) for s in spec.sources]
    return "sha256:" + hashlib.sha256(repr(described).encode()).hexdigest()


def source_hashes(spec: Spec) -> dict[str, str]:
    """`sources_hash` per source, so a refused resume can name the source that changed."""
    return {s.name: "sha256:" + hashlib.sha256(repr(_described(s)).encode()).hexdigest() for s in spec.sources}


def _described(s: Source) -> tuple:
    return (s.name, s.type, s.format, s.bounded, repr(s.schema), repr(s.event_time), repr(s.records),
            repr(s.fields), sorted((key, s.written.get(key, repr(value))) for key, value in s.config.items()
                                   if key not in _NOT_POSITIONS))


def open_sinks(plan: Plan, base_dir: str, console: TextIO | None) -> dict[ir.SinkNode, Any]:
    """A writer per sink: the exactly-once file writer, the console printer, or the Kafka producer."""
    writers: dict[ir.SinkNode, Any] = {}
    for node in plan.sinks:
        sink = node.sink
        if sink.type == "console":
            from flowc.runtime.console_sink import ConsoleSink  # rich: imported only by runs that print

            limit = sink.config.get("limit")
            writers[node] = ConsoleSink(sink.name, sink.format or "table", limit, console)
            continue
        if sink.type == "kafka":
            from flowc.runtime.sinks.kafka_sink import KafkaSinkWriter

            writers[node] = KafkaSinkWriter(node, plan)
            continue
        rotate = sink.config.get("rotate")
        if rotate is not None:
            size = rotate.get("max_bytes")
            rotate = {"max_records": rotate.get("max_records"),
                      "max_bytes": parse_size(size) if isinstance(size, str) else size}
        path = os.path.join(base_dir, str(sink.config.get("path", "")))
        writers[node] = FileSinkWriter(path, sink.format or "jsonl", sink.config.get("compression"), rotate,
                                       **sink_columns(plan, node))  # for an empty output, and the dead letter's
    return writers
