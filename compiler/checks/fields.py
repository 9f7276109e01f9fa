"""Fields and expressions (SPEC §3-§5): schemas propagated through the graph, and every expression and
field list checked against the schema that reaches it.

Schemas flow in topological order from the sources (`source_schemas`) through each step
(`step_schemas`). Where a schema is unknown, fields go unchecked: one N301 note per source says so.
A run knows every source's schema once it has inferred (or recalled) them: given as `known`, they take
precedence over declared and sampled ones, so the expressions are checked against what the run reads.
Side outputs carry their step's input records with the `_error` / `_source` envelope (SPEC §6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from flowc.compiler.checks.data_sample import TEXT_SCHEMA, sample_schema
from flowc.compiler.checks.enrich_table import with_sampled_table
from flowc.compiler.checks.scope import Scope
from flowc.compiler.checks.source_schemas import (
    ANY,
    GENERATE_SCHEMA,
    declared_schema,
    records_schema,
    with_event_time,
)
from flowc.compiler.checks.step_schemas import output_schema
from flowc.compiler.event_time import event_time_fields, input_event_time
from flowc.compiler.graph import Graph
from flowc.compiler.plan_schema import enveloped
from flowc.compiler.spec import Aggregate, Dedupe, Enrich, Name, Sink, Source, Step
from flowc.dsl import codes
from flowc.dsl import types as t
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.types import Struct, common_supertype

NO_SCHEMA = "it declares no schema; declare one or run with --with-data"
# An inline source of no records tells no field: its fields are unknown, not absent (SPEC §8: tests fill it)
NO_RECORDS = "it has no records and declares no schema; declare one"
EVENT_TIME_TYPES = (t.DATETIME, t.DATE, t.STRING, t.NULL)  # text is parsed as ISO-8601 by the source


def ensure_fields(graph: Graph, *, with_data: bool = False, known: Mapping[str, Struct] | None = None,
                  tables: Mapping[str, Struct] | None = None) -> list[Diagnostic]:
    return list(propagate_schemas(graph, with_data=with_data, known=known, tables=tables)[1])


def propagate_schemas(graph: Graph, *, with_data: bool = False, known: Mapping[str, Struct] | None = None,
                      tables: Mapping[str, Struct] | None = None,
                      ) -> tuple[dict[str, Struct | None], list[Diagnostic]]:
    """The schema of every input name (sources, steps, side outputs; None when unknown) and the
    diagnostics of every expression and field list. `known` holds the schemas a run froze (by source
    name), `tables` the schemas it read for `enrich` tables that declare none (by step name)."""
    found: list[Diagnostic] = []
    schemas: dict[str, Struct | None] = {}
    known, tables = known or {}, tables or {}
    for source in graph.spec.sources:
        if graph.nodes.get(source.name) is source:
            schemas[source.name] = source_schema(graph, source, with_data, found, known.get(source.name))
            schemas[f"{source.name}.errors"] = None  # raw text that did not parse
    times = event_time_fields(graph)
    for step in graph.topological_steps():
        if graph.nodes.get(step.name) is not step:
            continue  # a duplicate name (E102): readers see the first definition
        inputs = [schemas.get(name) for name in step.input_names]
        check_inherited_event_time(step, inputs, times, found)
        if step.operator == "union":
            schemas[step.name] = union_schema(step, inputs, found)
        else:
            if step.name in tables:
                step = with_table_schema(step, tables[step.name])
            else:  # an enrich table's fields, when its file can be read: the key's type and `fields` are
                # checked at validation (issue 5: "key mismatch in types reported at compile time")
                step = with_sampled_table(step, graph.spec.file, graph.spec.settings.infer_rows)
            schemas[step.name] = output_schema(step, Scope(inputs[0] if inputs else None, found))
        side = enveloped(inputs[0]) if len(inputs) == 1 and inputs[0] is not None else None
        schemas[f"{step.name}.errors"] = schemas[f"{step.name}.late"] = side
    for sink in graph.spec.sinks:
        check_sink(sink, schemas.get(sink.input_name or ""), found)
    return schemas, found


def source_schema(graph: Graph, source: Source, with_data: bool, found: list[Diagnostic],
                  known: Struct | None = None) -> Struct | None:
    """The schema `source` delivers: `known` when given, else as far as validation can tell. Inferred
    schemas (inline records, sampled files) read the event-time field as a datetime, as the run does."""
    schema = declared_schema(source)
    if known is not None:
        schema = known
    elif source.type == "generate":
        scope = Scope(GENERATE_SCHEMA, found)
        generated = Struct(tuple((name, scope.value(e, f"generate field '{name}'") or ANY)
                                 for name, e in source.fields))
        schema = schema or generated
    elif schema is None and source.type == "inline" and not source.records:  # a placeholder `flowc test` fills
        found.append(codes.diagnostic("N301", source.span, name=source.name, reason=NO_RECORDS))
    elif schema is None and source.type == "inline":
        schema = with_event_time(records_schema(source.records), source)
    elif schema is None and source.type == "file" and source.format == "text":
        schema = TEXT_SCHEMA
    elif schema is None and with_data:
        schema, reason = sample_schema(source, graph.spec.file, graph.spec.settings.infer_rows)
        if schema is None:
            found.append(codes.diagnostic("N301", source.span, name=source.name, reason=reason))
        else:
            schema = with_event_time(schema, source)
    elif schema is None:
        found.append(codes.diagnostic("N301", source.span, name=source.name, reason=NO_SCHEMA))
    if schema is not None and source.event_time is not None:
        check_event_time_field(Scope(schema, found), source)
    if schema is not None and source.type == "http":
        check_cursor_fields(Scope(schema, found), source)
    return schema


def check_cursor_fields(scope: Scope, source: Source) -> None:
    """An http source's `cursor_field` and `id_field` name fields of its records (SPEC §3)."""
    for key in ("cursor_field", "id_field"):
        value = source.config.get(key)
        if isinstance(value, str):
            scope.field(Name(value, source.key_spans.get(key)), key)


def with_table_schema(step: Step, schema: Struct) -> Step:
    """`step` with its enrich table's schema set to the one a run read (when the table declares none)."""
    config = step.config
    if not isinstance(config, Enrich) or config.table.schema is not None:
        return step
    table = dataclasses.replace(config.table, schema=schema)
    return dataclasses.replace(step, config=dataclasses.replace(config, table=table))


def check_inherited_event_time(step: Step, inputs: list[Struct | None], times: dict[str, str | None],
                               found: list[Diagnostic]) -> None:
    """E312 for a windowed aggregate (without `window.time`) or a dedupe whose input still has the
    source's event-time field, but not as a datetime (`map: {ts: amount}` overwrote it; or the source
    declares it `string` or `date`, which it delivers as declared, and a window cannot cut): a type
    error the schema reveals (SPEC §5), which used to fail the run at its first batch."""
    config = step.config
    windowed = isinstance(config, Aggregate) and config.window is not None and config.window.time is None
    name = input_event_time(times, step)
    if not (windowed or isinstance(config, Dedupe)) or name is None or len(inputs) != 1 or inputs[0] is None:
        return
    got = inputs[0].field(name)
    fits = (t.DATETIME, t.NULL) if windowed else (t.DATETIME, t.DATE, t.NULL)  # a dedupe reads a date as its midnight
    if got is not None and got not in fits:
        span = (config.window.span if isinstance(config, Aggregate) and config.window else None) or step.span
        found.append(codes.diagnostic("E312", span, where="event-time field", name=name, got=got))


def check_event_time_field(scope: Scope, source: Source) -> None:
    assert source.event_time is not None
    name = source.event_time.field
    found = scope.field(name, "event_time")
    if found is not None and found not in EVENT_TIME_TYPES:
        scope.report("E312", name.span, where="event_time field", name=name.name, got=found)


def union_schema(step: Step, inputs: list[Struct | None], found: list[Diagnostic]) -> Struct | None:
    """Fields aligned by name in order of first appearance, each of its inputs' common supertype;
    E306 for a field whose types have none."""
    if not inputs or any(schema is None for schema in inputs):
        return None
    merged: dict[str, tuple[t.Type, str]] = {}
    for name, schema in zip(step.input_names, inputs, strict=True):
        assert schema is not None
        for field, type_ in schema.fields:
            if field not in merged:
                merged[field] = (type_, name)
                continue
            common = common_supertype(merged[field][0], type_)
            if common is None:
                first_type, first_input = merged[field]
                found.append(codes.diagnostic("E306", step.operator_span or step.span, problem=(
                    f"union '{step.name}' cannot align field '{field}': it is {first_type} in "
                    f"'{first_input}' and {type_} in '{name}'")))
                common = ANY
            merged[field] = (common, merged[field][1])
    return Struct(tuple((field, type_) for field, (type_, _) in merged.items()))


def check_sink(sink: Sink, schema: Struct | None, found: list[Diagnostic]) -> None:
    scope = Scope(schema, found)
    if sink.key is not None:
        scope.value(sink.key, f"the key of sink '{sink.name}'")
    for name, expression in sink.headers:
        scope.value(expression, f"header '{name}' of sink '{sink.name}'")
