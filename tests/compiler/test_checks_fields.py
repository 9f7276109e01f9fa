"""Schemas through the graph, and every expression and field list checked against them."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import at, codes_of, document, found, graph_of

from flowc.compiler.checks import data_sample
from flowc.compiler.checks.fields import propagate_schemas
from flowc.compiler.checks.source_schemas import records_schema
from flowc.compiler.validate import validate_document
from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct

HEAD = """\
version: 1
pipeline: p
sources:
  orders:
    type: file
    path: data/orders.csv
    schema: {id: int, ts: datetime, status: string, amount: float, qty: int, user: {tier: string}, items: list<int>}
    event_time: {field: ts}
"""


@pytest.fixture(autouse=True)
def _compiler_own_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pin the compiler's own sampler; a `flowc validate` run earlier in the same process
    installs the run's sampler (tested in tests/cli), and would otherwise decide the messages."""
    monkeypatch.setattr(data_sample, "RUN_SAMPLER", [])


def _steps(*steps: str, sink: str = "") -> str:
    return HEAD + "steps:\n" + "".join(f"  - {s}\n" for s in steps) + "sinks:\n  out: {type: console" + sink + "}\n"


def _schema(text: str, name: str) -> Struct | None:
    return propagate_schemas(graph_of(text))[0][name]


def test_unknown_field_in_a_filter_points_at_it_with_a_suggestion() -> None:
    text = _steps("filter: amout > 10")
    assert found(text) == [(*at(text, "amout"), "E104", "unknown field 'amout' in filter; did you mean 'amount'?")]
    doc = document(text)
    assert validate_document(doc)[0].help == "fields available here: id, ts, status, amount, qty, user, items"


def test_type_errors_from_the_checker() -> None:
    text = _steps("filter: status > 3", "map: {x: upper(amount)}", "filter: amount")
    assert codes_of(text) == ["E220", "E222", "E224"]


def test_map_adds_overwrites_and_sets_nested_fields() -> None:
    text = _steps("{name: m, map: {total: amount * qty, status: len(status), user.vip: 'true', new.deep: 1}}")
    schema = _schema(text, "m")
    assert schema is not None
    assert schema.field("total") == t.FLOAT and schema.field("status") == t.INT
    assert schema.field("user") == Struct((("tier", t.STRING), ("vip", t.BOOL)))
    assert schema.field("new") == Struct((("deep", t.INT),))


def test_map_expressions_read_the_input_not_each_other() -> None:
    text = _steps("map: {a: 1, b: a + 1}")
    assert found(text) == [(*at(text, "a + 1"), "E104", "unknown field 'a' in map")]


def test_map_cannot_set_inside_a_non_struct() -> None:
    text = _steps("map: {status.x: 1}")
    assert found(text) == [(*at(text, "status.x"), "E310", "cannot set 'status.x': 'status' is string, not a struct")]


def test_field_lists_are_checked() -> None:
    text = _steps(
        "{from: orders, select: [id, idd]}",
        "{from: orders, drop: [qtty]}",
        "{from: orders, rename: {stat: s}}",
        "{from: orders, dedupe: {key: [usr], within: 1m}}",
        "{from: orders, explode: itms}",
        "{from: orders, aggregate: {by: [stauts], compute: {n: count()}}}",
        "{from: orders, enrich: {table: {type: file, path: t.csv}, on: {left: uid, right: id}, fields: [n]}}",
        sink=", from: orders",
    )
    e104 = [f[3] for f in found(text) if f[2] == "E104"]
    assert e104 == [
        "unknown field 'idd' in select; did you mean 'id'?",
        "unknown field 'qtty' in drop; did you mean 'qty'?",
        "unknown field 'stat' in rename; did you mean 'status'?",
        "unknown field 'usr' in dedupe key; did you mean 'user'?",
        "unknown field 'itms' in explode; did you mean 'items'?",
        "unknown field 'stauts' in aggregate 'by'; did you mean 'status'?",
        "unknown field 'uid' in enrich 'on'; did you mean 'id'?",
    ]


def test_select_drop_rename_explode_shape_the_schema() -> None:
    text = _steps("{name: sel, select: [id, items]}", "{name: ren, rename: {id: key}}",
                  "{name: ex, explode: {field: items, as: item, index: i}}", "{name: dr, drop: [i]}")
    assert _schema(text, "sel") == Struct((("id", t.INT), ("items", ListOf(t.INT))))
    assert _schema(text, "ren") == Struct((("key", t.INT), ("items", ListOf(t.INT))))
    assert _schema(text, "ex") == Struct((("key", t.INT), ("item", t.INT), ("i", t.INT)))
    assert _schema(text, "dr") == Struct((("key", t.INT), ("item", t.INT)))


def test_later_steps_see_the_shaped_schema() -> None:
    text = _steps("select: [id]", "filter: amount > 1")
    assert [f[3] for f in found(text)] == ["unknown field 'amount' in filter"]


def test_explode_needs_a_list_and_rename_must_not_collide() -> None:
    text = _steps("{from: orders, explode: status}", "{from: orders, rename: {id: qty}}", sink=", from: orders")
    assert [(f[2], f[3]) for f in found(text) if f[2] != "W301"] == [
        ("E313", "'status' is string; explode needs a list field"),
        ("E310", "rename gives two fields the name 'qty'"),
    ]


def test_aggregate_output_and_compute_typing() -> None:
    text = _steps("""{name: agg, aggregate: {by: [status], window: {type: tumbling, size: 1m},
      compute: {n: count(), s: sum(amount * qty), a: avg(qty), m: max(status), l: collect(id), c: count(id)}}}""")
    assert _schema(text, "agg") == Struct((
        ("status", t.STRING), ("window_start", t.DATETIME), ("window_end", t.DATETIME), ("n", t.INT),
        ("s", t.FLOAT), ("a", t.FLOAT), ("m", t.STRING), ("l", ListOf(t.INT)), ("c", t.INT)))


@pytest.mark.parametrize(("compute", "code", "message"), [
    ("sum(status)", "E222", "bad argument to 'sum': argument 1 ('status') must be int, float or duration, got string"),
    ("count(1, 2)", "E221", "'count' takes 0 to 1 arguments, got 2"),
    ("sum(amount) + 1", "E106", "compute entry 'v' must be one aggregate call (avg, collect, count, "
                                "count_distinct, first, last, max, min, sum)"),
    ("upper(status)", "E106", "compute entry 'v' must be one aggregate call (avg, collect, count, "
                              "count_distinct, first, last, max, min, sum)"),
    ("summ(amount)", "E105", "unknown function 'summ'; did you mean 'sum'?"),
    ("sum(max(amount))", "E106", "aggregates do not nest: 'max' inside an argument of aggregate 'v'"),
    ("sum(amout)", "E104", "unknown field 'amout' in aggregate 'v'; did you mean 'amount'?"),
])
def test_compute_entries(compute: str, code: str, message: str) -> None:
    text = _steps(f"aggregate: {{compute: {{v: '{compute}'}}}}")
    assert [(f[2], f[3]) for f in found(text)] == [(code, message)]


def test_aggregates_outside_compute() -> None:
    text = _steps("filter: sum(amount) > 1")
    assert found(text) == [(*at(text, "sum"), "E106", "aggregate 'sum' is only allowed in an aggregate's 'compute'")]


def test_window_time_and_event_time_fields() -> None:
    text = _steps("aggregate: {window: {type: tumbling, size: 1m, time: qty}, compute: {n: count()}}")
    assert [(f[2], f[3]) for f in found(text)] == [("E312", "window time 'qty' is int; event time must be a datetime")]
    text = HEAD.replace("{field: ts}", "{field: amount}") + "sinks:\n  out: {type: console}\n"
    assert [(f[2], f[3]) for f in found(text)] == [
        ("E312", "event_time field 'amount' is float; event time must be a datetime")]
    text = HEAD.replace("{field: ts}", "{field: tss}") + "sinks:\n  out: {type: console}\n"
    assert [(f[2], f[3]) for f in found(text)] == [("E104", "unknown field 'tss' in event_time; did you mean 'ts'?")]


UNION = """\
version: 1
pipeline: p
sources:
  a: {type: inline, records: [{x: 1, y: "s", z: 1}]}
  b: {type: inline, records: [{x: 1.5, y: 2}]}
steps:
  - {name: u, union: [a, b]}
sinks:
  out: {type: console}
"""


def test_union_widens_and_reports_conflicts() -> None:
    assert found(UNION) == [(*at(UNION, "union: [a, b]"), "E306",
                             "union 'u' cannot align field 'y': it is string in 'a' and int in 'b'")]
    schema = _schema(UNION, "u")
    assert schema is not None and schema.field("x") == t.FLOAT and schema.field("z") == t.INT


def test_sources_without_schema_get_one_note_and_no_field_checks() -> None:
    text = """\
        version: 1
        pipeline: p
        sources:
          f: {type: file, path: does/not/exist.csv}
          k: {type: kafka, topic: t, bootstrap_servers: 'h:1'}
        steps:
          - {from: f, filter: anything > 1}
          - {from: k, filter: nosuchfn(x)}
        sinks:
          o1: {type: console, from: filter_1}
          o2: {type: console, from: filter_2}
        """
    assert [(f[2], f[3]) for f in found(text)] == [
        ("N301", "fields of source 'f' are not checked: it declares no schema; declare one or run with --with-data"),
        ("N301", "fields of source 'k' are not checked: it declares no schema; declare one or run with --with-data"),
        ("E105", "unknown function 'nosuchfn'"),
    ]


def test_kafka_sources_add_their_metadata_fields() -> None:
    text = """\
        version: 1
        pipeline: p
        sources:
          k: {type: kafka, topic: t, bootstrap_servers: 'h:1', schema: {x: int}}
        sinks:
          o: {type: kafka, topic: t2, bootstrap_servers: 'h:1', key: _key, headers: {p: to_string(_partition), q: y}}
        """
    assert [f[3] for f in found(text)] == ["unknown field 'y' in header 'q' of sink 'o'"]
    assert [n for n, _ in _schema(text, "k").fields] == ["x", "_key", "_topic", "_partition", "_offset", "_timestamp"]


def test_generate_fields_are_typed_over_n() -> None:
    text = """\
        version: 1
        pipeline: p
        sources:
          g: {type: generate, count: 3, fields: {id: _n, half: _n / 2, bad: _m}}
        steps:
          - filter: id > 1 and half > 0.5
        sinks:
          o: {type: console}
        """
    assert [f[3] for f in found(text)] == ["unknown field '_m' in generate field 'bad'; did you mean '_n'?"]
    assert _schema(text, "g") == Struct((("id", t.INT), ("half", t.FLOAT), ("bad", t.NULL)))


def test_inline_records_are_typed_from_the_spec() -> None:
    """ISO-8601 text stays text (inference does not guess dates, as in CSV); a field null in every
    record is null (it fits every type); values of no common type leave the field open, or a string
    for the run, which reads inline values as text."""
    records = ({"a": 1, "t": "2026-01-01T00:00:00Z", "d": "2026-01-02", "n": None, "x": 1},
               {"a": 2.5, "s": "x", "l": [1, 2], "m": {"k": True}, "x": "one"})
    expected = (("a", t.FLOAT), ("t", t.STRING), ("d", t.STRING), ("n", t.NULL))
    rest = (("s", t.STRING), ("l", ListOf(t.INT)), ("m", Struct((("k", t.BOOL),))))
    assert records_schema(records) == Struct((*expected, ("x", t.NULL), *rest))
    assert records_schema(records, open_type=t.STRING) == Struct((*expected, ("x", t.STRING), *rest))


def test_text_files_have_a_line() -> None:
    text = "version: 1\npipeline: p\nsources:\n  f: {type: file, path: a.txt}\nsteps:\n  - filter: len(lin) > 0\n" \
           "sinks:\n  o: {type: console}\n"
    assert [f[3] for f in found(text)] == ["unknown field 'lin' in filter; did you mean 'line'?"]


def test_side_outputs_carry_the_error_envelope() -> None:
    text = _steps("{name: f, filter: amount > 1}", "{name: e, from: f.errors, filter: _error.code == \"x\" and id > 0}",
                  sink=", from: e")
    assert found(text) == []


def test_sql_output_schema_comes_from_polars_without_data() -> None:
    text = _steps("{name: q, sql: 'SELECT id, amount * 2 AS double FROM input'}", "filter: doubl > 1")
    assert [f[3] for f in found(text)] == ["unknown field 'doubl' in filter; did you mean 'double'?"]


def test_validation_reads_no_data_file_without_with_data(tmp_path: Path) -> None:
    text = _steps("filter: amount > 1").replace("data/orders.csv", str(tmp_path / "missing.csv"))
    assert found(text) == []


def test_with_data_samples_the_first_rows(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,name,ts\n1,x,2026-01-01T00:00:00Z\n2,y,2026-01-01T00:01:00Z\n")
    (tmp_path / "b.csv").write_text("other\n1\n")  # later in name order: not sampled
    spec = tmp_path / "p.flow.yaml"
    text = ("version: 1\npipeline: p\nsources:\n  f: {type: file, path: '*.csv', event_time: {field: ts}}\n"
            "steps:\n  - filter: nme == 'x'\nsinks:\n  o: {type: console}\n")
    spec.write_text(text)
    assert [f[3] for f in found(text, with_data=True, file=str(spec))] == [
        "unknown field 'nme' in filter; did you mean 'name'?"]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("a.jsonl", None, "no file matches 'a.jsonl'"),
    ("a.parquet", b"not parquet", "reading"),
])
def test_with_data_that_cannot_be_sampled_says_why(tmp_path: Path, name: str, content: bytes | None,
                                                    reason: str) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    spec = tmp_path / "p.flow.yaml"
    text = f"version: 1\npipeline: p\nsources:\n  f: {{type: file, path: {name}}}\nsinks:\n  o: {{type: console}}\n"
    results = found(text, with_data=True, file=str(spec))
    assert [f[2] for f in results] == ["N301"]
    assert results[0][3].startswith(f"fields of source 'f' are not checked: {reason}")


def test_with_data_samples_jsonl_gz_json_and_parquet(tmp_path: Path) -> None:
    import gzip

    import polars as pl

    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as handle:
        handle.write('{"k": 1, "v": "a"}\n{"k": 2, "v": "b"}\n')
    (tmp_path / "b.json").write_text('[{"k": 1.5}]')
    pl.DataFrame({"k": [1], "flag": [True]}).write_parquet(tmp_path / "c.parquet")
    for path, filter_ in (("a.jsonl.gz", "k > 1 and v == 'a'"), ("b.json", "k > 1.0"), ("c.parquet", "flag")):
        text = (f"version: 1\npipeline: p\nsources:\n  f: {{type: file, path: {path}}}\nsteps:\n  - filter: {filter_}\n"
                "sinks:\n  o: {type: console}\n")
        assert found(text, with_data=True, file=str(tmp_path / "p.flow.yaml")) == [], path
