"""From a checked `Spec` to the operator graph the runner executes (`Plan`), and its text form.

`build_plan` resolves every `from:` to a node, gives each failing node its effective error policy
(SPEC §6), wires unread `.errors` outputs to the dead-letter sink, and computes the schema of every
node and the typing of every expression (the Polars lowering needs both). Only what some sink reads
is in the plan. The spec must have passed the checks.

The printed form numbers nodes `n0, n1, ...` in topological order::

    n0 := Scan[orders] {order_id: int, status: string}
    n1 := Filter[n0] status == "paid"
    n2 := Sink[n1] report file jsonl out/paid.jsonl
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flowc.compiler import ir
from flowc.compiler import plan_schema as ps
from flowc.compiler import spec as s
from flowc.compiler.checks.dead_letter import effective_policy
from flowc.compiler.checks.names import has_late_output
from flowc.compiler.checks.source_schemas import declared_schema
from flowc.compiler.event_time import event_time_fields
from flowc.compiler.graph import Graph, build_graph, split_input
from flowc.compiler.plan_stateful import StatefulContext, build_stateful, describe
from flowc.compiler.typecheck import check_expression, check_predicate
from flowc.dsl import types as t
from flowc.dsl.ast import Expr
from flowc.dsl.types import Struct, Type


@dataclass(frozen=True, slots=True)
class Plan:
    sinks: tuple[ir.SinkNode, ...]
    nodes: tuple[ir.Node, ...] = field(compare=False)  # every node, inputs first
    schemas: Mapping[ir.Node, Struct | None] = field(compare=False)  # None: unknown (a source not inferred)
    types: Mapping[ir.Node, Mapping[Expr, Type]] = field(compare=False)  # typing of the node's expressions

    def id(self, node: ir.Node) -> str:
        return f"n{self._index()[node]}"

    def readers(self, node: ir.Node) -> tuple[ir.Node, ...]:
        return tuple(n for n in self.nodes if any(i == node for i in ir.inputs(n)))

    def _index(self) -> dict[ir.Node, int]:
        return {node: i for i, node in enumerate(self.nodes)}

    @property
    def scans(self) -> tuple[ir.Scan, ...]:
        return tuple(n for n in self.nodes if isinstance(n, ir.Scan))


def build_plan(spec: s.Spec, schemas: Mapping[str, Struct] | None = None,
               tables: Mapping[str, Struct] | None = None) -> Plan:
    """The plan of `spec`; `schemas` gives the frozen schema of sources that declare none, `tables` the
    schema of `enrich` tables that declare none (by step name)."""
    builder = _Builder(build_graph(spec), dict(schemas or {}), dict(tables or {}))
    for source in spec.sources:
        builder.add_scan(source)
    for step in builder.graph.topological_steps():
        builder.add_step(step)
    sinks = [ir.SinkNode(inputs=(builder.resolve(k.input_name or ""),), sink=k) for k in spec.sinks]
    if spec.settings.dead_letter is not None:
        sinks.append(ir.SinkNode(inputs=builder.unread_side_outputs(), sink=spec.settings.dead_letter))
    roots = tuple(sinks)
    nodes = ir.topological(roots)
    for node in nodes:
        if isinstance(node, ir.Errors | ir.Late | ir.SinkNode):
            builder.schemas.setdefault(node, builder.schema_of(node))
    return Plan(roots, nodes, {n: builder.schemas.get(n) for n in nodes}, {n: builder.types.get(n, {}) for n in nodes})


class _Builder:
    def __init__(self, graph: Graph, source_schemas: dict[str, Struct], tables: dict[str, Struct]) -> None:
        self.graph, self.source_schemas, self.tables = graph, source_schemas, tables
        self.event_times = event_time_fields(graph)
        self.by_name: dict[str, ir.Node] = {}
        self.schemas: dict[ir.Node, Struct | None] = {}
        self.types: dict[ir.Node, dict[Expr, Type]] = {}

    def resolve(self, name: str) -> ir.Node:
        base, port = split_input(name)
        node = self.by_name[base]
        if port == "late":
            return ir.Late(of=node)
        return ir.Errors(of=node) if port == "errors" else node

    def add_scan(self, source: s.Source) -> None:
        node = ir.Scan(source=source, on_error=effective_policy(self.graph, source))
        self.by_name[source.name] = node
        self.schemas[node] = self.source_schemas.get(source.name) or declared_schema(source)

    def add_step(self, step: s.Step) -> None:
        inputs = tuple(self.resolve(n) for n in step.input_names)
        schemas = tuple(self.schema_of(i) for i in inputs)
        if step.operator in s.STATEFUL:
            sources = self.graph.upstream_sources(step.name)
            bound = max((x.event_time.max_out_of_orderness for x in sources if x.event_time), default=0)
            context = StatefulContext(self.event_times, bound, self.tables.get(step.name),
                                      effective_policy(self.graph, step))
            node, types, schema = build_stateful(step, inputs, schemas, context)
        else:
            node, types, schema = _STEPS[type(step.config)](step, inputs, schemas, effective_policy(self.graph, step))
        self.by_name[step.name] = node
        self.schemas[node], self.types[node] = schema, types

    def schema_of(self, node: ir.Node) -> Struct | None:
        if isinstance(node, ir.Errors | ir.Late):
            inner = self.schema_of(ir.inputs(node.of)[0]) if ir.inputs(node.of) else self.schemas.get(node.of)
            return ps.enveloped(inner) if inner is not None else None
        if isinstance(node, ir.SinkNode):
            return self.schema_of(node.inputs[0]) if len(node.inputs) == 1 else None
        return self.schemas.get(node)

    def unread_side_outputs(self) -> tuple[ir.Node, ...]:
        """SPEC §2/§6: the `.errors` of each dead-lettering node and the `.late` of each windowed aggregate
        that nothing reads, in spec order (SPEC §4: unread late records go to the dead-letter sink)."""
        found: list[ir.Node] = []
        for name, node in self.by_name.items():
            if ((isinstance(node, (*ir.FAILING, ir.Aggregate)) or ir.timed(node)) and node.on_error == ir.DEAD_LETTER
                    and not self.graph.is_read(f"{name}.errors")):
                found.append(ir.Errors(of=node))
            if has_late_output(self.graph.nodes.get(name)) and not self.graph.is_read(f"{name}.late"):
                found.append(ir.Late(of=node))
        return tuple(found)


Typings = dict[Expr, Type]


def _typed(expressions: tuple[s.Expression, ...], schema: Struct | None, where: str,
           predicate: bool = False) -> tuple[Typings, tuple[Type, ...]]:
    """The merged typing of `expressions` over `schema`, and each one's type (null when unknown)."""
    typings: Typings = {}
    result: list[Type] = []
    for expression in expressions:
        if schema is None or expression.expr is None:
            result.append(t.NULL)
            continue
        check = check_predicate if predicate else check_expression
        typed = check(expression.expr, schema, where=where)
        typings.update(typed.types)
        result.append(typed.type or t.NULL)
    return typings, tuple(result)


Built = tuple[ir.Node, Typings, Struct | None]


def _filter(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    config: s.Filter = step.config  # type: ignore[assignment]
    types, _ = _typed((config.predicate,), schemas[0], "filter", predicate=True)
    node = ir.Filter(input=inputs[0], predicate=config.predicate, step=step.name, on_error=policy, span=step.span)
    return node, types, schemas[0]


def _map(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    config: s.Map = step.config  # type: ignore[assignment]
    types, results = _typed(tuple(a.value for a in config.assignments), schemas[0], "map")
    schema = None if schemas[0] is None else ps.assigned(
        schemas[0], {a.target: r for a, r in zip(config.assignments, results, strict=True)})
    node = ir.Map(input=inputs[0], assignments=config.assignments, step=step.name, on_error=policy, span=step.span)
    return node, types, schema


def _select(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    config: s.Select = step.config  # type: ignore[assignment]
    names = tuple(f.name for f in config.fields)
    if names:
        schema = None if schemas[0] is None else ps.selected(schemas[0], names)
        return ir.Select(input=inputs[0], fields=names, step=step.name, span=step.span), {}, schema
    types, results = _typed(tuple(a.value for a in config.assignments), schemas[0], "select")
    schema = None if schemas[0] is None else ps.assigned(
        Struct(()), {a.target: r for a, r in zip(config.assignments, results, strict=True)})
    node = ir.Select(input=inputs[0], assignments=config.assignments, step=step.name, on_error=policy,
                     span=step.span)
    return node, types, schema


def _drop(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    names = tuple(f.name for f in step.config.fields)  # type: ignore[union-attr]
    schema = None if schemas[0] is None else ps.dropped(schemas[0], names)
    return ir.Drop(input=inputs[0], fields=names, step=step.name, span=step.span), {}, schema


def _rename(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    pairs = tuple((old.name, new.name) for old, new in step.config.pairs)  # type: ignore[union-attr]
    schema = None if schemas[0] is None else ps.renamed(schemas[0], pairs)
    return ir.Rename(input=inputs[0], pairs=pairs, step=step.name, span=step.span), {}, schema


def _explode(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    c: s.Explode = step.config  # type: ignore[assignment]
    schema = None if schemas[0] is None else ps.exploded(schemas[0], c.field.name, c.as_, c.index)
    node = ir.Explode(input=inputs[0], field=c.field.name, as_=c.as_, index=c.index, keep_empty=c.keep_empty,
                      step=step.name, span=step.span)
    return node, {}, schema


def _validate(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    config: s.Validate = step.config  # type: ignore[assignment]
    types, _ = _typed(tuple(r.predicate for r in config.rules), schemas[0], "validate", predicate=True)
    node = ir.Validate(input=inputs[0], rules=config.rules, step=step.name, on_error=policy, span=step.span)
    return node, types, schemas[0]


def _union(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    schema = None if any(x is None for x in schemas) else ps.united(schemas)
    return ir.Union(inputs=inputs, step=step.name, span=step.span), {}, schema


def _sql(step: s.Step, inputs: tuple, schemas: tuple, policy: str) -> Built:
    query = step.config.query  # type: ignore[union-attr]
    schema = None if schemas[0] is None else ps.queried(schemas[0], query)
    node = ir.Sql(input=inputs[0], query=query, step=step.name, on_error=policy, span=step.span)
    return node, {}, schema


_STEPS = {s.Filter: _filter, s.Map: _map, s.Select: _select, s.Drop: _drop, s.Rename: _rename,
          s.Explode: _explode, s.Validate: _validate, s.Union: _union, s.Sql: _sql}


def format_plan(plan: Plan) -> str:
    """The plan as text, one node per line, `n<i> := Operator[inputs] details`."""
    return "".join(f"{plan.id(n)} := {_describe(plan, n)}\n" for n in plan.nodes)


def _describe(plan: Plan, node: ir.Node) -> str:
    name = type(node).__name__.removesuffix("Node")
    args = ", ".join(plan.id(i) for i in ir.inputs(node))
    head = f"{name}[{args or node.step}]"
    detail = _DETAILS.get(type(node), lambda n: "")(node)
    policy = getattr(node, "on_error", ir.FAIL)
    tail = f" on_error={policy}" if policy != ir.FAIL and isinstance(node, ir.FAILING) else ""
    schema = plan.schemas.get(node)
    shown = f" {schema}" if isinstance(node, ir.Scan | ir.Aggregate | ir.Enrich) and schema is not None else ""
    named = f" {node.step}" if not isinstance(node, ir.Scan | ir.Errors | ir.Late) else ""
    return f"{head}{named}{(' ' + detail) if detail else ''}{shown}{tail}"


def _assignments(assignments: tuple[s.Assignment, ...]) -> str:
    return ", ".join(f"{'.'.join(a.target)} = {a.value.text}" for a in assignments)


def _sink(node: ir.SinkNode) -> str:
    sink = node.sink
    where = sink.config.get("path", "")
    return " ".join(str(x) for x in (sink.type, sink.format, where) if x)


_DETAILS = {
    ir.Filter: lambda n: n.predicate.text,
    ir.Map: lambda n: _assignments(n.assignments),
    ir.Select: lambda n: ", ".join(n.fields) or _assignments(n.assignments),
    ir.Drop: lambda n: ", ".join(n.fields),
    ir.Rename: lambda n: ", ".join(f"{a} -> {b}" for a, b in n.pairs),
    ir.Explode: lambda n: " ".join(x for x in (n.field, n.as_ and f"as {n.as_}", n.index and f"index {n.index}",
                                               n.keep_empty and "keep_empty") if x),
    ir.Validate: lambda n: ", ".join(f"{r.name}: {r.predicate.text}" for r in n.rules),
    ir.Sql: lambda n: " ".join(n.query.split()),
    ir.SinkNode: _sink,
    ir.Aggregate: describe,
    ir.Dedupe: describe,
    ir.Enrich: describe,
}
