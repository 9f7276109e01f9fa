"""The operator graph built from specs: resolution of inputs, policies, dead-letter wiring, schemas."""

from __future__ import annotations

import textwrap

from flowc.compiler import ir
from flowc.compiler.normalize import normalize_spec
from flowc.compiler.plan import build_plan, format_plan
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


WINDOWED = """
settings: {dead_letter: {type: file, path: dead.jsonl}}
sources:
  orders:
    type: file
    path: o.csv
    schema: {id: int, ts: datetime, country: string, amount: float}
    event_time: {field: ts, max_out_of_orderness: 30s}
steps:
  - rename: {ts: at}
  - name: per_minute
    aggregate:
      by: [country]
      window: {type: tumbling, size: 1m, allowed_lateness: 5s}
      compute: {n: count(), revenue: sum(amount * 2), names: collect(country)}
  - {name: d, from: orders, dedupe: {key: [id], within: 1h}}
sinks:
  out: {type: file, path: out.jsonl, from: per_minute}
  dd: {type: file, path: d.jsonl, from: d}
"""


def test_windowed_aggregate_gets_event_time_output_schema_and_unread_late_to_dead_letter():
    plan = build_plan(spec_of(WINDOWED))
    (agg,) = [n for n in plan.nodes if isinstance(n, ir.Aggregate)]
    assert (agg.by, agg.event_time, agg.max_out_of_orderness) == (("country",), "at", 30_000_000)
    assert plan.schemas[agg] == Struct((("country", t.STRING), ("window_start", t.DATETIME),
                                        ("window_end", t.DATETIME), ("n", t.INT), ("revenue", t.FLOAT),
                                        ("names", ListOf(t.STRING))))
    assert set(plan.types[agg].values()) >= {t.FLOAT, t.STRING}  # compute arguments are typed for the engine
    dead = plan.sinks[-1]
    assert dead.sink.name == "dead_letter" and dead.inputs == (ir.Late(of=agg),)
    late_schema = plan.schemas[ir.Late(of=agg)]
    assert [n for n, _ in late_schema.fields] == ["id", "at", "country", "amount", "_error", "_source"]
    (dedupe,) = [n for n in plan.nodes if isinstance(n, ir.Dedupe)]
    assert (dedupe.key, dedupe.within, dedupe.event_time, dedupe.max_out_of_orderness) == (
        ("id",), 3_600_000_000, "ts", 30_000_000)
    text = format_plan(plan)
    assert ("Aggregate[n1] per_minute by country window tumbling size 1m allowed_lateness 5s time at ooo 30s "
            "compute n = count(), revenue = sum(amount * 2), names = collect(country) {country: string") in text
    assert "Dedupe[n0] d key id within 1h time ts\n" in text
    assert "Late[n2]\n" in text


def test_late_read_by_a_sink_is_not_dead_lettered_and_window_time_brings_its_own_bound():
    spec = spec_of("""
    sources:
      s: {type: inline, records: [{k: a, t: "2026-01-01T00:00:00Z"}]}
    steps:
      - {name: agg, aggregate: {window: {type: session, gap: 1m, time: t, max_out_of_orderness: 2s},
                                compute: {n: count()}}}
    sinks:
      out: {type: console, from: agg}
      late: {type: file, path: late.jsonl, from: agg.late}
    """)
    plan = build_plan(spec, {"s": Struct((("k", t.STRING), ("t", t.DATETIME)))})
    (agg,) = [n for n in plan.nodes if isinstance(n, ir.Aggregate)]
    assert (agg.by, agg.event_time, agg.max_out_of_orderness) == ((), "t", 2_000_000)
    late_sink = next(k for k in plan.sinks if k.sink.name == "late")
    assert late_sink.inputs == (ir.Late(of=agg),)
    assert [n for n, _ in plan.schemas[late_sink].fields] == ["k", "t", "_error", "_source"]
    assert "Aggregate[n0] agg global window session gap 1m time t ooo 2s compute n = count()" in format_plan(plan)


def test_global_aggregate_has_no_event_time_and_enrich_takes_the_table_schema_given():
    spec = spec_of("""
    sources:
      s: {type: inline, records: [{k: 1, name: x}]}
    steps:
      - {name: e, enrich: {table: {type: file, path: t.csv}, on: k, how: inner}}
      - {name: totals, aggregate: {by: [tier], compute: {n: count(), first_name: first(name)}}}
    sinks:
      out: {type: console}
    """)
    table = Struct((("k", t.INT), ("tier", t.STRING), ("name", t.INT)))
    plan = build_plan(spec, {"s": Struct((("k", t.INT), ("name", t.STRING)))}, tables={"e": table})
    enrich = next(n for n in plan.nodes if isinstance(n, ir.Enrich))
    assert (enrich.left_on, enrich.right_on, enrich.fields, enrich.how) == ("k", "k", ("tier", "name"), "inner")
    # `fields` overwrite input fields of the same name in place, new ones are appended
    assert plan.schemas[enrich] == Struct((("k", t.INT), ("name", t.INT), ("tier", t.STRING)))
    agg = next(n for n in plan.nodes if isinstance(n, ir.Aggregate))
    assert (agg.window, agg.event_time) == (None, None)
    assert plan.schemas[agg] == Struct((("tier", t.STRING), ("n", t.INT), ("first_name", t.INT)))
    assert "Enrich[n0] e table file csv t.csv on k = k fields tier, name how inner" in format_plan(plan)
