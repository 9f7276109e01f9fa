"""Names and graph shape: E101-E103, E301-E303, E311, W301 (steps and sources), W302, and the tests section."""

from __future__ import annotations

from spec_helpers import at, codes_of, found

ONE_SOURCE = """\
version: 1
pipeline: p
sources:
  orders: {type: inline, records: [{x: 1}]}
"""


def test_a_clean_pipeline_has_nothing_to_say() -> None:
    assert found(ONE_SOURCE + "steps:\n  - filter: x > 0\nsinks:\n  out: {type: console}\n") == []


def test_unknown_input_with_suggestion() -> None:
    text = ONE_SOURCE + "steps:\n  - {from: ordrs, filter: x > 0}\nsinks:\n  out: {type: console}\n"
    assert found(text) == [(*at(text, "ordrs"), "E101", "unknown input 'ordrs'; did you mean 'orders'?")]


def test_unknown_input_of_a_sink_and_a_union() -> None:
    text = ONE_SOURCE + """\
steps:
  - {name: u, union: [orders, nothing_like_it]}
sinks:
  out: {type: console, from: u}
  other: {type: console, from: zzz}
"""
    assert found(text) == [
        (*at(text, "nothing_like_it"), "E101", "unknown input 'nothing_like_it'"),
        (*at(text, "zzz"), "E101", "unknown input 'zzz'"),
    ]


def test_duplicate_names_across_sources_steps_and_sinks() -> None:
    text = ONE_SOURCE + """\
steps:
  - {name: orders, filter: x > 0}
  - {name: twice, filter: x > 0}
  - {name: twice, filter: x > 0}
sinks:
  twice: {type: console}
"""
    assert [f for f in found(text) if f[2] == "E102"] == [
        (*at(text, "orders", 2), "E102", "duplicate name 'orders' (also used on line 4)"),
        (*at(text, "twice", 2), "E102", "duplicate name 'twice' (also used on line 7)"),
        (*at(text, "twice", 3), "E102", "duplicate name 'twice' (also used on line 7)"),
    ]


def test_a_default_name_can_collide_with_a_given_one() -> None:
    text = ONE_SOURCE + "steps:\n  - {name: filter_2, filter: x > 0}\n  - filter: x > 1\nsinks:\n  o: {type: console}\n"
    assert codes_of(text) == ["E102"]


def test_side_outputs() -> None:
    text = ONE_SOURCE + """\
steps:
  - {name: f, filter: x > 0}
sinks:
  a: {type: console, from: f.errors}
  b: {type: console, from: f.oops}
  c: {type: console, from: f.late}
  d: {type: console, from: orders.errors}
  e: {type: console, from: orders.late}
"""
    assert found(text) == [
        (*at(text, "f.oops"), "E103", "unknown side output 'f.oops'; side outputs are '.errors' and '.late'"),
        (*at(text, "f.late"), "E311", "'f.late' does not exist: only a windowed aggregate has a '.late' output, and 'f' is not one"),
        (*at(text, "orders.late"), "E311", "'orders.late' does not exist: only a windowed aggregate has a '.late' output, and 'orders' is not one"),
    ]


def test_from_cannot_be_inferred_with_two_sources() -> None:
    text = ONE_SOURCE + """\
  more: {type: inline, records: [{x: 1}]}
steps:
  - filter: x > 0
sinks:
  out: {type: console}
  direct: {type: console, from: more}
"""
    assert found(text) == [(*at(text, "filter:"), "E302", "cannot tell which input 'filter_1' reads; add 'from:'")]


def test_sink_without_steps_and_two_sources() -> None:
    text = ONE_SOURCE + "  more: {type: inline, records: [{x: 1}]}\nsinks:\n  out: {type: console}\n"
    assert found(text) == [(*at(text, "out"), "E302", "cannot tell which input 'out' reads; add 'from:'")]


def test_cycles_name_their_path_once() -> None:
    text = ONE_SOURCE + """\
steps:
  - {name: a, from: c, filter: x > 0}
  - {name: b, from: a, filter: x > 0}
  - {name: c, from: b, filter: x > 0}
  - {name: self, from: self, filter: x > 0}
sinks:
  out: {type: console, from: orders}
"""
    cycles = [f for f in found(text) if f[2] == "E301"]
    assert cycles == [
        (*at(text, "c, filter"), "E301", "cycle in the pipeline graph: a -> b -> c -> a"),
        (*at(text, "self", 2), "E301", "cycle in the pipeline graph: self -> self"),
    ]


def test_dangling_steps_warn() -> None:
    text = ONE_SOURCE + """\
steps:
  - {name: used, filter: x > 0}
  - {name: dangling, from: orders, filter: x > 1}
  - {name: feeds_dangling, from: orders, filter: x > 2}
  - {name: end, from: feeds_dangling, filter: x > 3}
  - {name: errors_read, from: orders, filter: x > 4}
sinks:
  out: {type: console, from: used}
  errs: {type: console, from: errors_read.errors}
"""
    assert [f for f in found(text) if f[2] == "W301"] == [
        (*at(text, "dangling"), "W301", "'dangling' is not read by any sink"),
        (*at(text, "feeds_dangling"), "W301", "'feeds_dangling' is not read by any sink"),
        (*at(text, "end"), "W301", "'end' is not read by any sink"),
    ]


def test_unread_sources_warn_unless_an_input_is_in_doubt() -> None:
    text = ONE_SOURCE + """\
  unread: {type: inline, records: [{x: 2}]}
  errors_read: {type: inline, records: [{x: 3}]}
steps:
  - {name: used, from: orders, filter: x > 0}
sinks:
  out: {type: console, from: used}
  errs: {type: console, from: errors_read.errors}
"""
    assert [f for f in found(text) if f[2] == "W301"] == [(*at(text, "unread"), "W301", "'unread' is not read by any sink")]
    # an unknown input (E101), an input that cannot be inferred (E302) or a cycle (E301) may be where the
    # source was meant to be read: its error is the one to fix
    for doubt in ("{name: used, from: ordrs, filter: x > 0}", "{name: used, filter: x > 0}",
                  "{name: used, from: used, filter: x > 0}"):
        in_doubt = text.replace("{name: used, from: orders, filter: x > 0}", doubt)
        assert "W301" not in codes_of(in_doubt) and codes_of(in_doubt), doubt


UNBOUNDED = """\
version: 1
pipeline: p
sources:
  k: {type: kafka, topic: t, bootstrap_servers: 'h:1', schema: {x: int, ts: datetime}, event_time: {field: ts}}
  f: {type: file, path: a.csv, watch: true, schema: {x: int}}
  g: {type: generate, fields: {x: _n}}
  h: {type: http, url: 'http://x', interval: 1m, schema: {x: int}}
  bounded: {type: generate, count: 5, fields: {x: _n}}
steps:
"""


def test_global_aggregates_need_bounded_sources() -> None:
    steps = "".join(f"  - {{name: agg_{s}, from: {s}, aggregate: {{compute: {{n: count()}}}}}}\n"
                    for s in ("k", "f", "g", "h", "bounded"))
    sinks = "sinks:\n" + "".join(f"  o_{s}: {{type: console, from: agg_{s}}}\n" for s in ("k", "f", "g", "h", "bounded"))
    e303 = [f[3] for f in found(UNBOUNDED + steps + sinks) if f[2] == "E303"]
    assert e303 == [f"'agg_{s}' aggregates without a window over the unbounded source '{s}'" for s in "kfgh"]


def test_windowed_aggregate_over_kafka_warns_about_rebalances() -> None:
    text = UNBOUNDED + """\
  - {name: w, from: k, aggregate: {window: {type: tumbling, size: 1m}, compute: {n: count()}}}
  - {name: d, from: k, dedupe: {key: [x], within: 1m}}
  - {name: plain, from: k, filter: x > 0}
sinks:
  a: {type: console, from: w}
  b: {type: console, from: d}
  c: {type: console, from: plain}
"""
    w302 = [(f[:2], f[3].split(":")[0]) for f in found(text) if f[2] == "W302"]
    assert w302 == [(at(text, "w,"), "stateful step 'w' reads a Kafka source"),
                    (at(text, "d,"), "stateful step 'd' reads a Kafka source")]


def test_tests_section_names() -> None:
    text = ONE_SOURCE + """\
steps:
  - {name: agg, aggregate: {window: {type: tumbling, size: 1m, time: x}, compute: {n: count()}}}
sinks:
  out: {type: console}
tests:
  - name: t
    inputs: {ordrs: [], orders: []}
    expect: {out: [], agg.late: [], agg.errors: [], orders.errors: [], ot: [], agg: []}
"""
    assert [f for f in found(text) if f[2] == "E101"] == [
        (*at(text, "ordrs"), "E101", "unknown source 'ordrs'; did you mean 'orders'?"),
        (*at(text, "ot:"), "E101", "unknown sink or side output 'ot'; did you mean 'out'?"),
        (*at(text, "agg: []"), "E101", "unknown sink or side output 'agg'"),
    ]
