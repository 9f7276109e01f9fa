"""Normalisation: YAML in, the typed `Spec` out, with SPEC's defaults filled in."""

from __future__ import annotations

import os

import pytest
from spec_helpers import document, spec_of

from flowc.compiler import spec as s
from flowc.compiler.normalize import normalize_spec
from flowc.dsl import ast
from flowc.dsl import types as t

ORDERS = """\
version: 1
pipeline: orders
sources:
  orders:
    type: file
    path: data/orders.csv.gz
    schema: {id: int, ts: datetime, user: {tier: string}, items: list<int>}
    event_time: {field: ts, max_out_of_orderness: 30s}
steps:
  - filter: id > 1
  - map: {total: id * 2, user.tier: '"gold"'}
  - name: per_minute
    aggregate:
      by: [user]
      window: {type: sliding, size: 10m, every: 1m, allowed_lateness: 5s}
      compute: {n: count(), s: sum(total)}
sinks:
  out: {type: file, path: out/x.jsonl, retry: {max_attempts: 3, backoff: 1s}}
  errs: {type: console, from: filter_1.errors}
"""


def test_defaults_of_settings() -> None:
    spec = spec_of(ORDERS, file="specs/orders.flow.yaml")
    settings = spec.settings
    assert (settings.batch_size, settings.batch_timeout, settings.on_error, settings.infer_rows) == (
        100_000, 1_000_000, "fail", 1000)
    assert settings.state_dir == os.path.join("specs", ".flow", "orders")
    assert settings.dead_letter is None


def test_settings_as_written() -> None:
    spec = spec_of(ORDERS.replace("sources:", """\
settings:
  batch_size: 5
  batch_timeout: 250ms
  state_dir: st
  on_error: dead_letter
  infer_rows: 10
  dead_letter: {type: file, path: dead.jsonl}
sources:"""))
    settings = spec.settings
    assert (settings.batch_size, settings.batch_timeout, settings.state_dir, settings.infer_rows) == (
        5, 250_000, "st", 10)
    assert settings.dead_letter is not None
    assert (settings.dead_letter.type, settings.dead_letter.format, settings.dead_letter.input_name) == (
        "file", "jsonl", None)


def test_step_names_default_to_operator_and_position() -> None:
    spec = spec_of(ORDERS)
    assert [step.name for step in spec.steps] == ["filter_1", "map_2", "per_minute"]
    assert [step.name_given for step in spec.steps] == [False, False, True]


def test_from_is_inferred_from_the_step_before_and_the_only_source() -> None:
    spec = spec_of(ORDERS)
    assert [step.input_names for step in spec.steps] == [("orders",), ("filter_1",), ("map_2",)]
    assert {sink.name: sink.input_name for sink in spec.sinks} == {"out": "per_minute", "errs": "filter_1.errors"}


def test_from_cannot_be_inferred_with_two_sources() -> None:
    spec = spec_of("""\
        version: 1
        pipeline: p
        sources:
          a: {type: inline, records: [{x: 1}]}
          b: {type: inline, records: [{x: 1}]}
        steps:
          - filter: x > 0
        sinks:
          out: {type: console}
          direct: {type: console, from: a}
        """)
    assert spec.steps[0].input_names == ()
    assert spec.sinks[0].input_name == "filter_1"


def test_sink_reads_the_only_source_when_there_are_no_steps() -> None:
    spec = spec_of(HEADER_ONLY)
    assert spec.steps == () and spec.sinks[0].input_name == "a"


HEADER_ONLY = """\
version: 1
pipeline: p
sources:
  a: {type: inline, records: [{x: 1}]}
sinks:
  out: {type: console}
"""


def test_sources_are_typed() -> None:
    source = spec_of(ORDERS).sources[0]
    assert source.format == "csv" and source.bounded
    assert source.schema == t.Struct((("id", t.INT), ("ts", t.DATETIME), ("user", t.Struct((("tier", t.STRING),))),
                                      ("items", t.ListOf(t.INT))))
    assert source.event_time == s.EventTime(s.Name("ts"), 30_000_000)
    assert source.config["path"] == "data/orders.csv.gz"


@pytest.mark.parametrize(("source", "bounded"), [
    ("{type: file, path: a.csv}", True),
    ("{type: file, path: a.csv, watch: true}", False),
    ("{type: kafka, topic: t, bootstrap_servers: 'h:1'}", False),
    ("{type: http, url: 'http://x'}", True),
    ("{type: http, url: 'http://x', interval: 1m}", False),
    ("{type: generate, count: 3, fields: {x: _n}}", True),
    ("{type: generate, fields: {x: _n}}", False),
    ("{type: inline, records: []}", True),
])
def test_boundedness_of_sources(source: str, bounded: bool) -> None:
    spec = spec_of(f"version: 1\npipeline: p\nsources:\n  a: {source}\nsinks:\n  o: {{type: console}}\n")
    assert spec.sources[0].bounded is bounded


def test_operators_are_typed_with_parsed_expressions() -> None:
    spec = spec_of(ORDERS)
    filter_, map_, aggregate = (step.config for step in spec.steps)
    assert isinstance(filter_, s.Filter)
    assert filter_.predicate.expr == ast.Binary(op=">", left=ast.Field(name="id"), right=ast.IntLit(value=1))
    assert isinstance(map_, s.Map)
    assert [a.target for a in map_.assignments] == [("total",), ("user", "tier")]
    assert map_.assignments[1].value.expr == ast.StringLit(value="gold")
    assert isinstance(aggregate, s.Aggregate)
    assert aggregate.window == s.Window("sliding", size=600_000_000, every=60_000_000, allowed_lateness=5_000_000)
    assert [(c.name, c.function, c.args) for c in aggregate.compute] == [
        ("n", "count", ()), ("s", "sum", (ast.Field(name="total"),))]


def test_every_operator_normalises() -> None:
    spec = spec_of("""\
        version: 1
        pipeline: p
        sources:
          a: {type: inline, records: [{x: 1, l: [1]}]}
        steps:
          - select: [x, l]
          - select: {y: x + 1}
          - drop: [y]
          - rename: {x: z}
          - explode: {field: l, as: e, index: i, keep_empty: true}
          - explode: l
          - validate: {positive: x > 0}
          - enrich: {table: {type: file, path: t.csv}, on: {left: x, right: k}, fields: [name], how: inner}
          - enrich: {table: {type: file, path: t.parquet}, on: x}
          - dedupe: {key: [x], within: 1h}
          - union: [a, select_1]
          - sql: SELECT x FROM input
        sinks:
          o: {type: kafka, topic: t, bootstrap_servers: 'h:1', key: x, headers: {h: '"v"'}}
        """)
    configs = [step.config for step in spec.steps]
    assert configs[0] == s.Select(fields=(s.Name("x"), s.Name("l")))
    assert configs[1].assignments[0].target == ("y",)
    assert configs[2] == s.Drop((s.Name("y"),))
    assert configs[3] == s.Rename(((s.Name("x"), s.Name("z")),))
    assert configs[4] == s.Explode(s.Name("l"), "e", "i", True)
    assert configs[5] == s.Explode(s.Name("l"))
    assert configs[6].rules[0].name == "positive"
    assert (configs[7].left_on, configs[7].right_on, configs[7].how, configs[7].table.format) == (
        s.Name("x"), s.Name("k"), "inner", "csv")
    assert (configs[8].left_on, configs[8].right_on, configs[8].table.format) == (s.Name("x"), s.Name("x"), "parquet")
    assert configs[9] == s.Dedupe((s.Name("x"),), 3_600_000_000)
    assert spec.steps[10].input_names == ("a", "select_1")
    assert configs[11] == s.Sql("SELECT x FROM input")
    sink = spec.sinks[0]
    assert sink.key is not None and sink.key.expr == ast.Field(name="x")
    assert sink.headers[0][1].expr == ast.StringLit(value="v")
    assert sink.format == "json"


def test_sink_retry_defaults_and_overrides() -> None:
    out, errs = spec_of(ORDERS).sinks
    assert out.retry == s.Retry(3, 1_000_000, 30_000_000)
    assert errs.retry == s.Retry() and errs.format == "table"


def test_non_string_scalars_are_constants() -> None:
    spec = spec_of(HEADER_ONLY.replace("sinks:", "steps:\n  - map: {a: 5, b: true, c: null, d: 2.5}\nsinks:"))
    values = [a.value.expr for a in spec.steps[0].config.assignments]
    assert values == [ast.IntLit(value=5), ast.BoolLit(value=True), ast.NullLit(), ast.FloatLit(value=2.5)]


def test_syntax_errors_are_reported_inside_the_scalar_and_leave_no_expression() -> None:
    doc = document(HEADER_ONLY.replace("sinks:", "steps:\n  - filter: x > > 1\nsinks:"))
    spec, problems = normalize_spec(doc)
    assert spec is not None and spec.steps[0].config.predicate.expr is None
    assert len(problems) == 1
    assert problems[0].code.startswith("E2")
    assert (problems[0].span.line, problems[0].span.col) == (6, 17)


def test_tests_section() -> None:
    spec = spec_of(HEADER_ONLY + """\
tests:
  - name: one
    inputs: {a: [{x: 1}]}
    expect: {out: [{x: 1}]}
    ordered: true
""")
    test = spec.tests[0]
    assert (test.name, test.ordered) == ("one", True)
    assert test.inputs == (s.RecordSet("a", (s.Config({"x": 1}),)),)
    assert test.expect[0].name == "out"


def test_spec_equality_ignores_spans_and_specs_hash() -> None:
    a = spec_of(ORDERS)
    b = spec_of("# a comment moves every line\n" + ORDERS)
    assert a == b and hash(a) == hash(b)
    assert a.steps[0].span != b.steps[0].span


def test_config_is_frozen() -> None:
    config = s.Config({"a": [1, {"b": 2}]})
    assert config["a"] == (1, s.Config({"b": 2}))
    with pytest.raises(TypeError):
        config["a"] = 1  # type: ignore[index]
    assert s.thaw(config) == {"a": [1, {"b": 2}]}


def test_a_document_that_is_not_a_mapping_gives_no_spec() -> None:
    from flowc.dsl.source import Document

    assert normalize_spec(Document("x", "", [1, 2])) == (None, [])
