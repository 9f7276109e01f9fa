"""Apply a rule's replacements to a plan and compute the new plan's schemas and typings.

A rule answers with `{old node: new node}`. The new node's inputs may be old nodes (rebuilt here with
their own rewritten inputs) or fresh ones. Every reader of a replaced node, `Errors` side outputs
included, then reads the replacement, so a fused node takes over the `.errors` of the nodes it absorbed.

Schemas and typings are computed again from the sources down, as `build_plan` does; nodes no rule
touches the inside of (stateful steps, `union`, `sql`, side outputs) keep the schema their step had.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from flowc.compiler import ir
from flowc.compiler import plan_schema as ps
from flowc.compiler.plan import Plan
from flowc.compiler.typecheck import check_expression, check_predicate
from flowc.dsl import types as t
from flowc.dsl.ast import Expr
from flowc.dsl.types import Struct, Type

Replacements = Mapping[ir.Node, ir.Node]


def replace(plan: Plan, replacements: Replacements) -> Plan:
    """`plan` with every node in `replacements` replaced (inputs first, shared subgraphs once)."""
    built: dict[ir.Node, ir.Node] = {}

    def rebuild(node: ir.Node) -> ir.Node:
        if node in built:
            return built[node]
        return _with_inputs(node, tuple(rebuild(i) for i in ir.inputs(node)))

    for node in plan.nodes:  # topological: a replacement's old inputs are rebuilt before it
        new = replacements.get(node, node)
        built[node] = _with_inputs(new, tuple(rebuild(i) for i in ir.inputs(new)))
    return retyped(tuple(built[s] for s in plan.sinks), plan)


def _with_inputs(node: ir.Node, new: tuple[ir.Node, ...]) -> ir.Node:
    old = ir.inputs(node)
    if all(a is b for a, b in zip(old, new, strict=True)):
        return node
    if isinstance(node, ir.Union | ir.SinkNode):
        return dataclasses.replace(node, inputs=new)
    if isinstance(node, ir.Errors | ir.Late):
        return dataclasses.replace(node, of=new[0])
    return dataclasses.replace(node, input=new[0])


def retyped(sinks: tuple[ir.SinkNode, ...], before: Plan) -> Plan:
    """The plan of `sinks` with every node's schema and typing computed (barriers keep `before`'s)."""
    nodes = ir.topological(sinks)
    kept = {(type(n), n.step): n for n in before.nodes}
    schemas: dict[ir.Node, Struct | None] = {}
    types: dict[ir.Node, Mapping[Expr, Type]] = {}
    for node in nodes:
        if isinstance(node, ir.Errors):  # the envelope carries the failing node's input record
            of = node.of if isinstance(node.of, ir.Scan) else ir.inputs(node.of)[0]
            schemas[node], types[node] = (ps.enveloped(schemas[of]) if schemas.get(of) else None), {}
            continue
        inputs = tuple(schemas.get(i) for i in ir.inputs(node))
        schemas[node], types[node] = _typed(node, inputs, before, kept.get((type(node), node.step)))
    return Plan(sinks, nodes, schemas, types)


def _typed(node: ir.Node, inputs: tuple, before: Plan, same: ir.Node | None) -> tuple[Struct | None, Mapping]:
    schema = inputs[0] if inputs else None
    if isinstance(node, ir.Scan):
        full = before.schemas.get(same) if same is not None else None
        if full is None or node.columns is None:
            return full, {}
        return Struct(tuple((n, ft) for n, ft in full.fields if n in node.columns)), {}
    if isinstance(node, ir.SinkNode):
        return (schema if len(inputs) == 1 else None), {}
    if schema is None or not isinstance(node, ir.Filter | ir.Map | ir.Select | ir.Drop | ir.Rename | ir.Explode
                                         | ir.Validate):
        return (before.schemas.get(same) if same is not None else None), (before.types.get(same, {}) if same else {})
    return _stateless(node, schema)


def _stateless(node: ir.Node, schema: Struct) -> tuple[Struct, Mapping]:
    if isinstance(node, ir.Filter):
        return schema, _check(node.predicate.expr, schema, "filter", True)
    if isinstance(node, ir.Validate):
        typings: dict = {}
        for rule in node.rules:
            typings.update(_check(rule.predicate.expr, schema, "validate", True))
        return schema, typings
    if isinstance(node, ir.Map | ir.Select) and node.assignments:
        typings, targets = {}, {}
        for a in node.assignments:
            typed = check_expression(a.value.expr, schema, where="map")
            typings.update(typed.types)
            targets[a.target] = typed.type or t.NULL
        base = schema if isinstance(node, ir.Map) else Struct(())
        return ps.assigned(base, targets), typings
    if isinstance(node, ir.Select):
        return ps.selected(schema, node.fields), {}
    if isinstance(node, ir.Drop):
        return ps.dropped(schema, node.fields), {}
    if isinstance(node, ir.Rename):
        return ps.renamed(schema, node.pairs), {}
    return ps.exploded(schema, node.field, node.as_, node.index), {}


def _check(expr: Expr | None, schema: Struct, where: str, predicate: bool) -> Mapping:
    if expr is None:
        return {}
    return (check_predicate if predicate else check_expression)(expr, schema, where=where).types
