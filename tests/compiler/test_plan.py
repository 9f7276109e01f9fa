"""The operator graph built from specs: resolution of inputs, policies, dead-letter wiring, schemas."""

from __future__ import annotations

import textwrap

from flowc.compiler import ir
from flowc.compiler.normalize import normalize_spec
from flowc.compiler.plan import build_plan, format_plan, unsupported
from flowc.dsl import types as t
from flowc.dsl.loader import load_text
from flowc.dsl.types import ListOf, Struct


def spec_of(body: str):
    doc, problems = load_text(HEAD + textwrap.dedent(body), "p.flow.yaml")
    assert doc is not None and not problems, problems
    spec, problems = normalize_spec(doc)
    assert not problems, problems
    return spec


HEAD = """
version: 1
pipeline: p
"""

ORDERS = Struct((("id", t.INT), ("status", t.STRING), ("amount", t.FLOAT),
                 ("items", ListOf(t.STRING)), ("user", Struct((("name", t.STRING),)))))


def test_linear_plan_prints_in_topological_order_with_schemas():
    spec = spec_of("""
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      orders: {type: file, path: o.csv, schema: {id: int, status: string, amount: float}}
    steps:
      - filter: amount > 10
      - map: {total: amount * 2, user.tier: id + 1}
      - drop: [status]
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    plan = build_plan(spec)
    assert format_plan(plan) == textwrap.dedent("""\
        n0 := Scan[orders] {id: int, status: string, amount: float} on_error=dead_letter
        n1 := Filter[n0] filter_1 amount > 10 on_error=dead_letter
        n2 := Map[n1] map_2 total = amount * 2, user.tier = id + 1 on_error=dead_letter
        n3 := Drop[n2] drop_3 status
        n4 := Sink[n3] out file jsonl out.jsonl
        n5 := Errors[n0]
        n6 := Errors[n1]
        n7 := Errors[n2]
        n8 := Sink[n5, n6, n7] dead_letter file jsonl dead.jsonl
        """)
    drop = plan.nodes[3]
    assert str(plan.schemas[drop]) == "{id: int, amount: float, total: float, user: {tier: int}}"
    errors = plan.nodes[6]
    assert isinstance(errors, ir.Errors) and errors.of == plan.nodes[1]
    assert [n for n, _ in plan.schemas[errors].fields][-2:] == ["_error", "_source"]


def test_fan_out_shares_one_node_and_errors_output_makes_dead_letter_the_policy():
    spec = spec_of("""
    sources:
      orders: {type: inline, records: [{id: 1}]}
    steps:
      - name: checked
        validate: {positive: id > 0}
    sinks:
      a: {type: console}
      b: {type: console, from: checked}
      bad: {type: console, from: checked.errors}
    """)
    plan = build_plan(spec, {"orders": Struct((("id", t.INT),))})
    checked = next(n for n in plan.nodes if isinstance(n, ir.Validate))
    assert checked.on_error == ir.DEAD_LETTER  # reading checked.errors makes it so (SPEC §6)
    assert len(plan.readers(checked)) == 3
    assert [s.inputs[0] for s in plan.sinks] == [checked, checked, ir.Errors(of=checked)]


def test_explode_rename_select_union_schemas():
    spec = spec_of("""
    sources:
      a: {type: inline, records: [{id: 1}]}
      b: {type: inline, records: [{id: 1.5, extra: x}]}
    steps:
      - {name: e, from: a, explode: {field: items, as: item, index: i}}
      - {name: r, rename: {item: thing}}
      - {name: s, select: {n: id, who.name: user.name}}
      - {name: u, union: [s, b]}
    sinks:
      out: {type: console}
    """)
    plan = build_plan(spec, {"a": ORDERS, "b": Struct((("id", t.FLOAT), ("extra", t.STRING)))})
    by_step = {getattr(n, "step", None): n for n in plan.nodes}
    assert str(plan.schemas[by_step["e"]]) == \
        "{id: int, status: string, amount: float, item: string, user: {name: string}, i: int}"
    assert [n for n, _ in plan.schemas[by_step["r"]].fields][3] == "thing"
    assert str(plan.schemas[by_step["s"]]) == "{n: int, who: {name: string}}"
    assert str(plan.schemas[by_step["u"]]) == "{n: int, who: {name: string}, id: float, extra: string}"


def test_sql_schema_comes_from_polars_on_an_empty_frame():
    spec = spec_of("""
    sources:
      a: {type: inline, records: [{id: 1}]}
    steps:
      - sql: SELECT id * 2 AS twice, status FROM input WHERE amount > 1
    sinks:
      out: {type: console}
    """)
    plan = build_plan(spec, {"a": ORDERS})
    sql = next(n for n in plan.nodes if isinstance(n, ir.Sql))
    assert str(plan.schemas[sql]) == "{twice: int, status: string}"


def test_unread_steps_are_not_in_the_plan_and_ids_are_deterministic():
    text = """
    sources:
      a: {type: inline, records: [{id: 1}]}
    steps:
      - {name: used, filter: id > 0}
      - {name: unused, from: a, filter: id > 1}
    sinks:
      out: {type: console, from: used}
    """
    plans = [format_plan(build_plan(spec_of(text), {"a": Struct((("id", t.INT),))})) for _ in range(2)]
    assert plans[0] == plans[1]
    assert "unused" not in plans[0]


def test_unsupported_lists_what_the_runner_cannot_run_yet():
    spec = spec_of("""
    sources:
      k: {type: kafka, topic: t, bootstrap_servers: "x:9092", format: json}
      w: {type: file, path: "*.txt", format: text}
    steps:
      - {from: k, name: agg, aggregate: {by: [a], compute: {n: count()}}}
      - {from: w, name: d, dedupe: {key: [line]}}
    sinks:
      out: {type: kafka, from: agg, topic: o, bootstrap_servers: "x:9092"}
      o2: {type: console, from: d}
    """)
    assert unsupported(spec) == [
        "step 'agg' (aggregate)", "step 'd' (dedupe)", "source 'k' (kafka, unbounded)", "source 'w' (format text)",
        "sink 'out' (kafka)",
    ]
