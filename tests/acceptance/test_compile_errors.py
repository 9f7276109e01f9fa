"""Black-box acceptance tests, written from SPEC.md alone: what `flowc validate` must reject before
running (§1 the file, §2 the graph, §3 sources, §6 the dead-letter sink, §7 sinks, §8 tests), each a
`file:line:col: error[E...]` whose position is the first character of the offending key or value and
whose message names the thing. Every bad spec goes into one folder checked by one `flowc validate`."""

from __future__ import annotations

import json
import textwrap

import pytest
from compile_errors_harness import Case, check_case, flowc, unmark, validate_folder

SRC = """\
    version: 1
    pipeline: p
    sources:
      orders:
        type: inline
        schema: {id: int, ts: datetime, status: string, amount: float}
        records: []
"""
SINK = """\
    sinks:
      out: {type: file, path: out.jsonl}
"""

CASES: dict[str, Case] = {
    # §1: top-level keys
    "unknown_top_key": Case(SRC + SINK + "    «colour: red\n", ("colour",)),
    "version_two": Case("""
        version: «2
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("version",)),
    "version_string": Case("""
        version: «one
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("version",)),
    "version_quoted": Case("""
        version: «"1"
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("version", "string")),
    # a quoted reference is read again (SPEC §1), a text that is no number stays text, and the message
    # quotes the reference as written
    "quoted_reference_read_again_is_text": Case("""
        version: 1
        pipeline: p
        settings: {batch_size: «'${FLOWC_ACCEPT_UNSET_F:-five}'}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_size", "got '${FLOWC_ACCEPT_UNSET_F:-five}'")),
    "pipeline_uppercase": Case("""
        version: 1
        pipeline: «Orders
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("pipeline",)),
    "pipeline_digit_first": Case("""
        version: 1
        pipeline: «1orders
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("pipeline",)),
    "pipeline_space": Case("""
        version: 1
        pipeline: «my pipeline
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("pipeline",)),
    "sources_empty": Case("""
        version: 1
        pipeline: p
        sources: «{}
        sinks: {o: {type: console}}
    """, ("sources",)),
    "sinks_empty": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: «{}
    """, ("sinks",)),
    # §1: YAML 1.2 core schema: `yes`/`no`/`off` are strings, so where a bool is needed they are wrong
    "watch_yes": Case("""
        version: 1
        pipeline: p
        sources:
          s: {type: file, path: "in/*.jsonl", watch: «yes}
        sinks: {o: {type: console}}
    """, ("watch",)),
    "header_off": Case("""
        version: 1
        pipeline: p
        sources:
          s:
            type: file
            path: in.csv
            options: {header: «off}
        sinks: {o: {type: console}}
    """, ("header",)),
    # §1: environment variables
    "unset_variable_whole": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o:
            type: file
            path: «${FLOWC_ACCEPT_UNSET_A}
    """, ("FLOWC_ACCEPT_UNSET_A",)),
    "unset_variable_in_text": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o:
            type: file
            path: out/«${FLOWC_ACCEPT_UNSET_B}.jsonl
    """, ("FLOWC_ACCEPT_UNSET_B",)),
    "default_reread_as_yaml": Case("""
        version: 1
        pipeline: p
        settings:
          batch_size: «${FLOWC_ACCEPT_UNSET_C:-many}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_size",)),
    # §1: durations and sizes, settings
    "duration_words": Case("""
        version: 1
        pipeline: p
        settings: {batch_timeout: «5 minutes}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_timeout",)),
    "duration_unit": Case("""
        version: 1
        pipeline: p
        settings: {batch_timeout: «3w}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_timeout",)),
    "batch_size_zero": Case("""
        version: 1
        pipeline: p
        settings: {batch_size: «0}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_size",)),
    "batch_size_text": Case("""
        version: 1
        pipeline: p
        settings: {batch_size: «lots}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_size",)),
    # a YAML float is no count: `2.0` passed validation and then failed the run
    "batch_size_float": Case("""
        version: 1
        pipeline: p
        settings: {batch_size: «1e5}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batch_size",)),
    "rotate_float_records": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o: {type: file, path: out.jsonl, rotate: {max_records: «2.0}}
    """, ("max_records",)),
    "on_error_unknown": Case("""
        version: 1
        pipeline: p
        settings: {on_error: «ignore}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("on_error",)),
    "settings_unknown_key": Case("""
        version: 1
        pipeline: p
        settings: {«batchsize: 10}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("batchsize",)),
    "rotate_bad_size": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o: {type: file, path: out.jsonl, rotate: {max_bytes: «12XB}}
    """, ("max_bytes",)),
    "rotate_negative_records": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o: {type: file, path: out.jsonl, rotate: {max_records: «-5}}
    """, ("max_records",)),
    "rotate_unknown_key": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o: {type: file, path: out.jsonl, rotate: {«max_files: 3}}
    """, ("max_files",)),
    "retry_bad_backoff": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o: {type: file, path: out.jsonl, retry: {max_attempts: 3, backoff: «soon}}
    """, ("backoff",)),
    # §2: the graph
    "from_unknown": Case(SRC + """\
    steps:
      - filter: amount > 1
        from: «ordrs
""" + SINK, ("ordrs",)),
    "sink_from_unknown": Case(SRC + """\
    sinks:
      out: {type: file, path: out.jsonl, from: «nowhere}
""", ("nowhere",)),
    "cycle": Case(SRC + """\
    steps:
      - name: a
        from: «b
        filter: amount > 1
      - name: b
        from: a
        filter: amount > 2
""" + SINK, ("cycle",)),
    "two_sources_no_from": Case("""
        version: 1
        pipeline: p
        sources:
          a: {type: inline, records: []}
          b: {type: inline, records: []}
        steps:
          - «filter: x > 1
        sinks: {o: {type: console, from: filter_1}}
    """, ("from",)),
    "two_sources_sink_without_from": Case("""
        version: 1
        pipeline: p
        sources:
          a: {type: inline, records: []}
          b: {type: inline, records: []}
        sinks:
          «o: {type: console}
    """, ("from",)),
    "duplicate_step_name": Case(SRC + """\
    steps:
      - name: keep
        filter: amount > 1
      - name: «keep
        filter: amount > 2
""" + SINK, ("keep",)),
    "step_named_like_source": Case(SRC + """\
    steps:
      - name: «orders
        filter: amount > 1
""" + SINK, ("orders",)),
    "late_of_filter": Case(SRC + """\
    steps:
      - name: big
        filter: amount > 1
    sinks:
      out: {type: file, path: out.jsonl}
      late: {type: file, path: late.jsonl, from: «big.late}
""", ("big.late",)),
    "late_of_unwindowed_aggregate": Case(SRC + """\
    steps:
      - name: totals
        aggregate: {by: [status], compute: {n: count()}}
    sinks:
      out: {type: file, path: out.jsonl}
      late: {type: file, path: late.jsonl, from: «totals.late}
""", ("totals.late",)),
    "late_of_source": Case(SRC + """\
    sinks:
      out: {type: file, path: out.jsonl}
      late: {type: file, path: late.jsonl, from: «orders.late}
""", ("orders.late",)),
    "unknown_side_output": Case(SRC + """\
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: «orders.rejects}
""", ("orders.rejects",)),
    "dangling_step": Case(SRC + """\
    steps:
      - name: «unused
        from: orders
        filter: amount > 1
      - name: used
        from: orders
        filter: amount > 2
""" + SINK, ("unused",), severity="warning"),
    # §3: sources
    "source_unknown_type": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: «ftp, path: x.csv}}
        sinks: {o: {type: console}}
    """, ("ftp",)),
    "source_unknown_key": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: file, path: x.csv, «fromat: csv}}
        sinks: {o: {type: console}}
    """, ("fromat",)),
    "file_source_format_unknown": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: file, path: x.csv, format: «xml}}
        sinks: {o: {type: console}}
    """, ("format",)),
    "file_source_format_untellable": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: file, path: «data/*.dat}}
        sinks: {o: {type: console}}
    """, ("format",)),
    "file_sink_format_untellable": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: «out.data}}
    """, ("format",)),
    "schema_type_unknown": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: [], schema: {id: int, amount: «flaot}}}
        sinks: {o: {type: console}}
    """, ("flaot",)),
    "event_time_unknown_field": Case("""
        version: 1
        pipeline: p
        sources:
          s:
            type: inline
            records: []
            schema: {id: int, ts: datetime}
            event_time: {field: «tss}
        sinks: {o: {type: console}}
    """, ("tss",)),
    "event_time_not_a_time": Case("""
        version: 1
        pipeline: p
        sources:
          s:
            type: inline
            records: []
            schema: {id: int, ts: datetime}
            event_time: {field: «id}
        sinks: {o: {type: console}}
    """, ("id",)),
    "max_out_of_orderness_bad": Case("""
        version: 1
        pipeline: p
        sources:
          s:
            type: inline
            records: []
            schema: {id: int, ts: datetime}
            event_time: {field: ts, max_out_of_orderness: «thirty}
        sinks: {o: {type: console}}
    """, ("max_out_of_orderness",)),
    "kafka_start_unknown": Case("""
        version: 1
        pipeline: p
        sources:
          k: {type: kafka, topic: t, bootstrap_servers: "localhost:9092", start: «middle, format: json,
              schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("start",)),
    "kafka_format_parquet": Case("""
        version: 1
        pipeline: p
        sources:
          k: {type: kafka, topic: t, bootstrap_servers: "localhost:9092", format: «parquet, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("format",)),
    "http_pagination_type": Case("""
        version: 1
        pipeline: p
        sources:
          h: {type: http, url: "http://localhost:1/x", pagination: {type: «offset}, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("offset",)),
    "http_rate_limit_bad": Case("""
        version: 1
        pipeline: p
        sources:
          h: {type: http, url: "http://localhost:1/x", rate_limit: «fast, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("rate_limit",)),
    "http_interval_bad": Case("""
        version: 1
        pipeline: p
        sources:
          h: {type: http, url: "http://localhost:1/x", interval: «often, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("interval",)),
    "http_url_not_http": Case("""
        version: 1
        pipeline: p
        sources:
          h: {type: http, url: «ftp://example.com/x, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("url",)),
    "http_cursor_field_unknown": Case("""
        version: 1
        pipeline: p
        sources:
          h:
            type: http
            url: "http://localhost:1/x"
            schema: {id: int, updated_at: string}
            interval: 30s
            cursor_field: «updated
            cursor_param: since
        sinks: {o: {type: console}}
    """, ("updated", "updated_at")),
    "inline_records_not_list": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: «lots}}
        sinks: {o: {type: console}}
    """, ("records",)),
    "generate_unknown_field": Case("""
        version: 1
        pipeline: p
        sources:
          g: {type: generate, count: 10, fields: {x: «_m * 2}}
        sinks: {o: {type: console}}
    """, ("_m", "_n")),
    # §6: the dead-letter sink
    "dead_letter_sink_missing": Case("""
        version: 1
        pipeline: p
        settings: {on_error: «dead_letter}
        sources: {s: {type: inline, records: [], schema: {a: string}}}
        steps:
          - map: {n: to_int(a)}
        sinks: {o: {type: console}}
    """, ("dead_letter",)),
    "dead_letter_sink_missing_step_policy": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: [], schema: {a: string}}}
        steps:
          - map: {n: to_int(a)}
            on_error: «dead_letter
        sinks: {o: {type: console}}
    """, ("dead_letter",)),
    "step_on_error_unknown": Case(SRC + """\
    steps:
      - filter: amount > 1
        on_error: «retry
""" + SINK, ("on_error",)),
    # §7: sinks
    "sink_unknown_type": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: «s3, path: x}}
    """, ("s3",)),
    "sink_unknown_key": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: out.jsonl, «rotation: {max_records: 10}}}
    """, ("rotation",)),
    "file_sink_format_text": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: out.jsonl, format: «xml}}
    """, ("format",)),
    "file_sink_zstd_jsonl": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: out.jsonl, compression: «zstd}}
    """, ("zstd",)),
    "file_sink_compression_unknown": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: out.jsonl, compression: «brotli}}
    """, ("brotli",)),
    "kafka_sink_key_unknown_field": Case(SRC + """\
    sinks:
      k: {type: kafka, topic: t, bootstrap_servers: "localhost:9092", key: «idd}
""", ("idd",)),
    "kafka_sink_header_unknown_field": Case(SRC + """\
    sinks:
      k: {type: kafka, topic: t, bootstrap_servers: "localhost:9092", headers: {h: «statuss}}
""", ("statuss",)),
    "kafka_sink_format_parquet": Case(SRC + """\
    sinks:
      k: {type: kafka, topic: t, bootstrap_servers: "localhost:9092", format: «parquet}
""", ("format",)),
    "console_format_unknown": Case(SRC + """\
    sinks:
      c: {type: console, format: «xml}
""", ("format",)),
    "console_limit_text": Case(SRC + """\
    sinks:
      c: {type: console, limit: «ten}
""", ("limit",)),
    # §8: tests name sources and sinks that exist
    "test_unknown_source": Case(SRC + SINK + """\
    tests:
      - name: t
        inputs:
          «ordres: [{id: 1}]
        expect:
          out: []
""", ("ordres",)),
    "test_unknown_sink": Case(SRC + SINK + """\
    tests:
      - name: t
        inputs:
          orders: [{id: 1}]
        expect:
          «report: []
""", ("report",)),
    # required keys per source and sink type: named, at the source's or sink's name
    "file_source_without_path": Case("""
        version: 1
        pipeline: p
        sources:
          «s: {type: file, format: csv}
        sinks: {o: {type: console}}
    """, ("path",)),
    "source_without_type": Case("""
        version: 1
        pipeline: p
        sources:
          «s: {path: in.csv}
        sinks: {o: {type: console}}
    """, ("type",)),
    "kafka_source_without_topic": Case("""
        version: 1
        pipeline: p
        sources:
          «k: {type: kafka, bootstrap_servers: "localhost:9092", format: json, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("topic",)),
    "kafka_source_without_servers": Case("""
        version: 1
        pipeline: p
        sources:
          «k: {type: kafka, topic: t, format: json, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("bootstrap_servers",)),
    "kafka_source_topic_and_topics": Case("""
        version: 1
        pipeline: p
        sources:
          k: {type: kafka, topic: t, «topics: [u], bootstrap_servers: "localhost:9092", format: json,
              schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("topic", "topics")),
    "http_source_without_url": Case("""
        version: 1
        pipeline: p
        sources:
          «h: {type: http, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("url",)),
    "http_method_unknown": Case("""
        version: 1
        pipeline: p
        sources:
          h: {type: http, url: "http://localhost:1/x", method: «FETCH, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("method",)),
    "inline_source_without_records": Case("""
        version: 1
        pipeline: p
        sources:
          «s: {type: inline, schema: {id: int}}
        sinks: {o: {type: console}}
    """, ("records",)),
    "file_sink_without_path": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          «o: {type: file, format: jsonl}
    """, ("path",)),
    "sink_without_type": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          «o: {path: out.jsonl}
    """, ("type",)),
    "kafka_sink_without_topic": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          «k: {type: kafka, bootstrap_servers: "localhost:9092"}
    """, ("topic",)),
    "kafka_sink_without_servers": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          «k: {type: kafka, topic: t}
    """, ("bootstrap_servers",)),
    "dead_letter_sink_without_path": Case("""
        version: 1
        pipeline: p
        settings:
          on_error: dead_letter
          «dead_letter: {type: file}
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console}}
    """, ("path",)),
    "console_limit_negative": Case(SRC + """\
    sinks:
      c: {type: console, limit: «-1}
""", ("limit",)),
    "errors_of_unknown_step": Case(SRC + """\
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: «nope.errors}
""", ("nope",)),
    "malformed_variable": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o:
            type: file
            path: out/«${}.jsonl
    """, ("${",)),
    "duplicate_yaml_key": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          o: {type: console}
          «o: {type: console, format: json}
    """, ("o",)),
    "test_expects_errors_of_unknown_step": Case(SRC + SINK + """\
    tests:
      - name: t
        inputs:
          orders: [{id: 1}]
        expect:
          «nope.errors: []
""", ("nope",)),
    "file_sink_gz_only": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: «out.gz}}
    """, ("format",)),
    "file_sink_txt": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: file, path: «out.txt}}
    """, ("format",)),
    "console_sink_rotate": Case("""
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks: {o: {type: console, «rotate: {max_records: 3}}}
    """, ("rotate",)),
    "test_expects_late_of_a_filter": Case(SRC + """\
    steps:
      - name: f
        filter: amount > 1
""" + SINK + """\
    tests:
      - name: t
        inputs: {orders: []}
        expect:
          «f.late: []
""", ("f.late",)),
}

# Each required key, left out: the message names the missing key (its position is the mapping that lacks it)
MISSING: dict[str, Case] = {
    "missing_version": Case("«pipeline: p\nsources: {s: {type: inline, records: []}}\nsinks: {o: {type: console}}\n",
                            ("version",)),
    "missing_pipeline": Case("«version: 1\nsources: {s: {type: inline, records: []}}\nsinks: {o: {type: console}}\n",
                             ("pipeline",)),
    "missing_sources": Case("«version: 1\npipeline: p\nsinks: {o: {type: console}}\n", ("sources",)),
    "missing_sinks": Case("«version: 1\npipeline: p\nsources: {s: {type: inline, records: []}}\n", ("sinks",)),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compile") / "specs"
    folder.mkdir()
    return validate_folder(folder, {**CASES, **MISSING})


def test_folder_of_bad_specs_exits_1(results):
    assert results["done"].returncode == 1, results["done"].stdout + results["done"].stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_rejected_at_the_offending_token(results, name):
    check_case(results, name, CASES[name])


@pytest.mark.parametrize("name", sorted(MISSING))
def test_missing_required_key_is_named(results, name):
    found = results["found"].get(name, [])
    assert any(f.severity == "error" and all(w in f.message for w in MISSING[name].words) for f in found), found


# Specs SPEC says are fine: the negative of the rules above
CLEAN: dict[str, str] = {
    "dollar_dollar": SRC + "    description: costs $${FLOWC_ACCEPT_UNSET_D} each\n" + SINK,
    "default_used": SRC + "    settings:\n      batch_size: ${FLOWC_ACCEPT_UNSET_E:-5000}\n" + SINK,
    "yaml12_strings": """\
        version: 1
        pipeline: p
        sources:
          s: {type: inline, schema: {country: string, on: string}, records: [{country: NO, on: yes}]}
        steps:
          - filter: country == "NO" and on == "yes"
        sinks: {o: {type: console}}
    """,
    "errors_read_needs_no_dead_letter_sink": """\
        version: 1
        pipeline: p
        settings: {on_error: dead_letter}
        sources: {s: {type: inline, records: [], schema: {a: string}}}
        steps:
          - name: conv
            map: {n: to_int(a)}
        sinks:
          o: {type: console}
          bad: {type: console, from: conv.errors}
          bad_source: {type: console, from: s.errors}
    """,
    "skip_needs_no_dead_letter_sink": """\
        version: 1
        pipeline: p
        settings: {on_error: skip}
        sources: {s: {type: inline, records: [], schema: {a: string}}}
        steps:
          - map: {n: to_int(a)}
        sinks: {o: {type: console}}
    """,
    "formats_from_extensions": """\
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: []}}
        sinks:
          a: {type: file, path: out/a.csv}
          b: {type: file, path: out/b.jsonl.gz}
          c: {type: file, path: out/c.json}
          d: {type: file, path: out/d.parquet, compression: zstd, rotate: {max_bytes: 100MB, max_records: 10}}
    """,
    "empty_steps_and_tests_sections": """\
        version: 1
        pipeline: p
        sources: {s: {type: inline, records: [{a: 1}]}}
        steps:
        sinks: {o: {type: console}}
        tests:
    """,
    "bounded_and_batch_time_need_no_event_time": """\
        version: 1
        pipeline: order-analytics_2
        sources:
          s: {type: inline, schema: {user: string, ts: datetime, amount: float}, records: []}
        steps:
          - dedupe: {key: [user], within: 1h}
          - name: totals
            aggregate: {by: [user], compute: {n: count(), total: sum(amount)}}
        sinks: {o: {type: console}}
    """,
    "window_time_without_source_event_time": """\
        version: 1
        pipeline: p
        sources:
          s: {type: inline, schema: {user: string, ts: datetime}, records: []}
        steps:
          - name: w
            aggregate:
              by: [user]
              window: {type: sliding, size: 10m, every: 1m, time: ts, max_out_of_orderness: 5s}
              compute: {n: count()}
        sinks:
          o: {type: console}
          late: {type: console, from: w.late}
    """,
    "yaml12_true_spellings_and_on_key": """\
        version: 1
        pipeline: p
        sources:
          s:
            type: file
            path: "in/*.csv"
            watch: TRUE
            options: {header: True}
            schema: {id: int, ts: datetime, tags: list<string>}
            event_time: {field: ts}
        steps:
          - explode: {field: tags, as: tag, keep_empty: true}
          - enrich: {table: {type: file, path: countries.csv}, on: id, how: inner}
        sinks: {o: {type: console}}
    """,
}


def test_specs_spec_allows_validate_clean(tmp_path):
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "countries.csv").write_text("id,name\n1,Germany\n", encoding="utf-8")
    for name, text in CLEAN.items():
        (folder / f"{name}.flow.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    done = flowc("validate", str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_refuses_a_bad_spec_with_the_diagnostic(tmp_path):
    text, (line, col) = unmark(CASES["from_unknown"].yaml)
    (tmp_path / "p.flow.yaml").write_text(text, encoding="utf-8")
    done = flowc("run", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert f"p.flow.yaml:{line}:{col}: error[E" in done.stdout + done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_run_names_an_unset_variable(tmp_path):
    text, (line, col) = unmark(CASES["unset_variable_in_text"].yaml)
    (tmp_path / "p.flow.yaml").write_text(text, encoding="utf-8")
    done = flowc("run", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert f"p.flow.yaml:{line}:{col}: error[E" in done.stdout + done.stderr
    assert "FLOWC_ACCEPT_UNSET_B" in done.stdout + done.stderr


def test_validate_json_and_github_formats(tmp_path):
    text, (line, col) = unmark(CASES["on_error_unknown"].yaml)
    (tmp_path / "p.flow.yaml").write_text(text, encoding="utf-8")
    as_json = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert as_json.returncode == 1
    [problem] = [p for p in json.loads(as_json.stdout) if p["severity"] == "error"]
    assert (problem["line"], problem["col"]) == (line, col)
    assert problem["code"].startswith("E") and "on_error" in problem["message"]
    github = flowc("validate", "--format", "github", "p.flow.yaml", cwd=tmp_path)
    assert github.returncode == 1
    assert f"::error file=p.flow.yaml,line={line},col={col}" in github.stdout


KAFKA_STATEFUL = """\
    version: 1
    pipeline: p
    sources:
      k:
        type: kafka
        topic: t
        bootstrap_servers: "localhost:9092"
        format: json
        schema: {user: string, ts: datetime}
        event_time: {field: ts}
    steps:
      - name: once
        dedupe: {key: [user], within: 1h}
    sinks: {o: {type: console}}
"""


def test_stateful_step_on_kafka_warns_and_strict_fails(tmp_path):
    (tmp_path / "p.flow.yaml").write_text(textwrap.dedent(KAFKA_STATEFUL), encoding="utf-8")
    plain = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    warnings = [line for line in plain.stdout.splitlines() if ": warning[" in line]
    assert warnings and any("once" in w or "partition" in w for w in warnings), plain.stdout
    strict = flowc("validate", "--strict", "p.flow.yaml", cwd=tmp_path)
    assert strict.returncode == 1, strict.stdout + strict.stderr
