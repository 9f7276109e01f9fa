"""The schemas a run knows (inferred from data, or recalled from its event log) given to the field
checks: they take precedence over what validation can tell, and inferred schemas read the event-time
field as a datetime, as the run does (SPEC §3)."""

from __future__ import annotations

from spec_helpers import at, graph_of, spec_of

from flowc.compiler.checks.fields import ensure_fields, propagate_schemas
from flowc.compiler.checks.source_schemas import with_event_time
from flowc.dsl import types as t
from flowc.dsl.types import Struct

FILE_SOURCE = """\
version: 1
pipeline: p
sources:
  s: {type: file, path: e.jsonl, event_time: {field: ts}}
steps:
  - map: {t2: parse_timestamp(ts), w: upper(v)}
sinks:
  out: {type: console}
"""

INFERRED = Struct((("ts", t.DATETIME), ("v", t.INT)))


def _found(text: str, **kwargs) -> list[tuple[int, int, str]]:
    return [(d.span.line, d.span.col, d.code) for d in ensure_fields(graph_of(text), **kwargs)]


def test_without_a_known_schema_the_fields_go_unchecked_with_a_note() -> None:
    assert [code for *_, code in _found(FILE_SOURCE)] == ["N301"]


def test_a_known_schema_is_checked_against_and_replaces_the_note() -> None:
    found = _found(FILE_SOURCE, known={"s": INFERRED})
    assert found == [(*at(FILE_SOURCE, "parse_timestamp"), "E222"), (*at(FILE_SOURCE, "upper"), "E222")]
    typed = FILE_SOURCE.replace("parse_timestamp(ts), w: upper(v)", "ts + 1h, w: v * 2")
    schemas, found = propagate_schemas(graph_of(typed), known={"s": INFERRED})
    assert found == []
    assert schemas["map_1"] == Struct((("ts", t.DATETIME), ("v", t.INT), ("t2", t.DATETIME), ("w", t.INT)))


def test_a_known_schema_takes_precedence_over_the_declared_one() -> None:
    declared = FILE_SOURCE.replace("event_time:", "schema: {ts: string, v: string}, event_time:")
    assert _found(declared) == []  # a declared event time keeps its declared type
    assert [code for *_, code in _found(declared, known={"s": INFERRED})] == ["E222", "E222"]


def test_an_inline_event_time_that_is_not_iso_text_is_still_a_datetime() -> None:
    inline = FILE_SOURCE.replace("{type: file, path: e.jsonl, event_time: {field: ts}}",
                                 "{type: inline, event_time: {field: ts}, records: [{ts: 'soon', v: 'a'}]}")
    schemas, found = propagate_schemas(graph_of(inline))
    assert schemas["s"] == Struct((("ts", t.DATETIME), ("v", t.STRING)))
    assert [d.code for d in found] == ["E222"]  # parse_timestamp of a datetime; upper(v) is fine


def test_known_enrich_tables_are_checked_like_sampled_ones() -> None:
    text = """\
version: 1
pipeline: p
sources:
  s: {type: file, path: d.csv, schema: {k: string}}
steps:
  - enrich: {table: {type: file, path: t.csv}, on: {left: k, right: code}, fields: [name]}
sinks:
  out: {type: console}
"""
    assert _found(text) == []
    table = Struct((("code", t.INT), ("name", t.STRING)))
    assert _found(text, tables={"enrich_1": table}) == [(*at(text, "k, right"), "E314")]
    no_name = {"enrich_1": Struct((("code", t.INT),))}
    assert [code for *_, code in _found(text, tables=no_name)] == ["E104", "E314"]


def test_with_event_time_types_only_an_undeclared_text_event_time() -> None:
    source = spec_of(FILE_SOURCE).sources[0]
    assert with_event_time(Struct((("ts", t.STRING), ("v", t.STRING))), source) == \
        Struct((("ts", t.DATETIME), ("v", t.STRING)))
    assert with_event_time(Struct((("ts", t.NULL),)), source) == Struct((("ts", t.DATETIME),))
    assert with_event_time(Struct((("ts", t.INT),)), source) == Struct((("ts", t.INT),))  # E312's to report
    declared = spec_of(FILE_SOURCE.replace("event_time:", "schema: {ts: string}, event_time:")).sources[0]
    assert with_event_time(Struct((("ts", t.STRING),)), declared) == Struct((("ts", t.STRING),))
