"""Black-box acceptance tests, written from SPEC.md alone: what `flowc validate` must reject in steps
(§4 operators, windows, aggregation functions, sql, enrich, dedupe, explode, union; §5 fields and
types), at the first character of the offending key or value (inside an expression: the offending
token), with a message naming the thing. Every bad spec goes into one folder, one `flowc validate`."""

from __future__ import annotations

import pytest
from compile_errors_harness import Case, check_case, flowc, parse, validate_folder

HEAD = """\
    version: 1
    pipeline: p
    sources:
      orders:
        type: inline
        schema: {id: int, ts: datetime, status: string, amount: float, qty: int, tags: list<string>}
        event_time: {field: ts}
        records: []
      plain:
        type: inline
        schema: {id: int, ts: datetime, status: string, amount: float}
        records: []
    steps:
"""
SINK = """\
    sinks:
      out: {type: file, path: out.jsonl}
"""


def steps(text: str) -> str:
    """HEAD, the steps (written at four spaces, like HEAD), SINK."""
    return HEAD + text + SINK


UNBOUNDED = """\
    version: 1
    pipeline: p
    sources:
      k:
        type: kafka
        topic: t
        bootstrap_servers: "localhost:9092"
        format: json
        schema: {user: string, ts: datetime, amount: float}
        event_time: {field: ts}
    steps:
"""

CASES: dict[str, Case] = {
    # a step is one operator key plus optional name, from, on_error
    "step_without_operator": Case(steps("""\
      - «name: lonely
        from: orders
"""), ("lonely",)),
    "step_with_two_operators": Case(steps("""\
      - from: orders
        filter: amount > 1
        «map: {x: amount}
"""), ("filter", "map")),
    "step_unknown_operator": Case(steps("""\
      - from: orders
        «fliter: amount > 1
"""), ("fliter", "filter")),
    "step_unknown_key": Case(steps("""\
      - from: orders
        filter: amount > 1
        «onerror: skip
"""), ("onerror",)),
    # §5 fields and types
    "filter_unknown_field": Case(steps("""\
      - from: orders
        filter: «amont > 1
"""), ("amont", "amount")),
    "filter_type_error": Case(steps("""\
      - from: orders
        filter: «status > 3
"""), ("status",)),
    "filter_not_boolean": Case(steps("""\
      - from: orders
        filter: «amount + 1
"""), ("filter",)),
    "map_unknown_field_in_expression": Case(steps("""\
      - from: orders
        map: {total: amount * «qtty}
"""), ("qtty", "qty")),
    "select_unknown_field": Case(steps("""\
      - from: orders
        select: [id, «stauts]
"""), ("stauts", "status")),
    "drop_missing_field": Case(steps("""\
      - from: orders
        drop: [id, «colour]
"""), ("colour",)),
    "rename_missing_field": Case(steps("""\
      - from: orders
        rename: {«colour: color}
"""), ("colour",)),
    "validate_rule_not_boolean": Case(steps("""\
      - from: orders
        validate: {positive: «amount * 2}
"""), ("positive",)),
    "explode_not_a_list": Case(steps("""\
      - from: orders
        explode: «status
"""), ("status",)),
    "explode_unknown_field": Case(steps("""\
      - from: orders
        explode: {field: «tagz, as: tag}
"""), ("tagz",)),
    "explode_keep_empty_no": Case(steps("""\
      - from: orders
        explode: {field: tags, keep_empty: «no}
"""), ("keep_empty",)),
    # aggregation
    "aggregate_unbounded_no_window": Case(UNBOUNDED + """\
      - «aggregate: {by: [user], compute: {n: count()}}
""" + SINK, ("window",)),
    "window_without_event_time": Case(steps("""\
      - from: plain
        aggregate:
          by: [status]
          «window: {type: tumbling, size: 1m}
          compute: {n: count()}
"""), ("event time",)),
    "window_time_not_datetime": Case(steps("""\
      - from: plain
        aggregate:
          window: {type: tumbling, size: 1m, time: «amount}
          compute: {n: count()}
"""), ("amount",)),
    "window_time_unknown_field": Case(steps("""\
      - from: plain
        aggregate:
          window: {type: tumbling, size: 1m, time: «tss}
          compute: {n: count()}
"""), ("tss",)),
    "window_unknown_type": Case(steps("""\
      - from: orders
        aggregate:
          window: {type: «hopping, size: 1m}
          compute: {n: count()}
"""), ("hopping",)),
    "tumbling_bad_size": Case(steps("""\
      - from: orders
        aggregate:
          window: {type: tumbling, size: «1 minute}
          compute: {n: count()}
"""), ("size",)),
    "sliding_not_multiple": Case(steps("""\
      - from: orders
        aggregate:
          window: {type: sliding, size: «10m, every: 3m}
          compute: {n: count()}
"""), ("every",)),
    "sliding_too_many": Case(steps("""\
      - from: orders
        aggregate:
          window: {type: sliding, size: 1d, every: «1s}
          compute: {n: count()}
"""), ("1000",)),
    "session_without_gap": Case(steps("""\
      - from: orders
        aggregate:
          by: [status]
          «window: {type: session}
          compute: {n: count()}
"""), ("gap",)),
    "allowed_lateness_bad": Case(steps("""\
      - from: orders
        aggregate:
          window: {type: tumbling, size: 1m, allowed_lateness: «late}
          compute: {n: count()}
"""), ("allowed_lateness",)),
    "aggregate_by_unknown": Case(steps("""\
      - from: orders
        aggregate:
          by: [«country]
          compute: {n: count()}
"""), ("country",)),
    "agg_unknown_function": Case(steps("""\
      - from: orders
        aggregate:
          compute: {m: «median(amount)}
"""), ("median",)),
    "agg_count_two_args": Case(steps("""\
      - from: orders
        aggregate:
          compute:
            n: «count(id, qty)
"""), ("count",)),
    "agg_sum_of_string": Case(steps("""\
      - from: orders
        aggregate:
          compute: {s: sum(«status)}
"""), ("sum", "status")),
    "agg_avg_no_argument": Case(steps("""\
      - from: orders
        aggregate:
          compute: {a: «avg()}
"""), ("avg",)),
    "agg_count_distinct_no_argument": Case(steps("""\
      - from: orders
        aggregate:
          compute: {a: «count_distinct()}
"""), ("count_distinct",)),
    "agg_not_an_aggregate": Case(steps("""\
      - from: orders
        aggregate:
          compute: {a: «amount * 2}
"""), ("a",)),
    "agg_unknown_field_in_argument": Case(steps("""\
      - from: orders
        aggregate:
          compute: {s: sum(«amont)}
"""), ("amont", "amount")),
    # sql: only row-wise queries
    "sql_group_by": Case(steps("""\
      - from: orders
        sql: SELECT status FROM input «GROUP BY status
"""), ("GROUP BY",)),
    "sql_order_by": Case(steps("""\
      - from: orders
        sql: SELECT id FROM input «ORDER BY id
"""), ("ORDER BY",)),
    "sql_limit": Case(steps("""\
      - from: orders
        sql: SELECT id FROM input «LIMIT 10
"""), ("LIMIT",)),
    "sql_distinct": Case(steps("""\
      - from: orders
        sql: SELECT «DISTINCT status FROM input
"""), ("DISTINCT",)),
    "sql_aggregate": Case(steps("""\
      - from: orders
        sql: SELECT «sum(amount) AS s FROM input
"""), ("sum",)),
    "sql_window_function": Case(steps("""\
      - from: orders
        sql: SELECT id, «row_number() OVER (PARTITION BY status) AS r FROM input
"""), ("window",)),
    "sql_join": Case(steps("""\
      - from: orders
        sql: SELECT a.id FROM input a «JOIN input b ON a.id = b.id
"""), ("JOIN",)),
    "sql_unknown_column": Case(steps("""\
      - from: orders
        sql: SELECT id, «amont FROM input
"""), ("amont", "amount")),
    # enrich, dedupe, union
    "enrich_how_unknown": Case(steps("""\
      - from: orders
        enrich: {table: {type: file, path: countries.csv}, on: id, how: «outer}
"""), ("how",)),
    "enrich_on_unknown": Case(steps("""\
      - from: orders
        enrich: {table: {type: file, path: countries.csv}, on: «country}
"""), ("country",)),
    "enrich_table_without_path": Case(steps("""\
      - from: orders
        enrich: {«table: {type: file}, on: id}
"""), ("path",)),
    "enrich_fields_not_in_table": Case(steps("""\
      - from: orders
        enrich: {table: {type: file, path: countries.csv}, on: id, fields: [«population]}
"""), ("population",)),
    "dedupe_key_unknown": Case(steps("""\
      - from: orders
        dedupe: {key: [«user], within: 1h}
"""), ("user",)),
    "dedupe_within_bad": Case(steps("""\
      - from: orders
        dedupe: {key: [id], within: «an hour}
"""), ("within",)),
    "union_unknown_input": Case(steps("""\
      - union: [orders, «plian]
"""), ("plian",)),
    "union_incompatible": Case("""\
    version: 1
    pipeline: p
    sources:
      a: {type: inline, schema: {id: int, v: list<int>}, records: []}
      b: {type: inline, schema: {id: int, v: bool}, records: []}
    steps:
      - «union: [a, b]
""" + SINK, ("v",)),
    # more of §4 and §5
    "unbounded_file_no_window": Case("""\
    version: 1
    pipeline: p
    sources:
      f: {type: file, path: "in/*.jsonl", watch: true, schema: {user: string, ts: datetime}}
    steps:
      - «aggregate: {by: [user], compute: {n: count()}}
""" + SINK, ("window",)),
    "sliding_without_every": Case(steps("""\
      - from: orders
        aggregate:
          «window: {type: sliding, size: 10m}
          compute: {n: count()}
"""), ("every",)),
    "tumbling_with_gap": Case(steps("""\
      - from: orders
        aggregate:
          window: {type: tumbling, size: 1m, «gap: 5m}
          compute: {n: count()}
"""), ("gap",)),
    "window_time_bad_out_of_orderness": Case(steps("""\
      - from: plain
        aggregate:
          window: {type: tumbling, size: 1m, time: ts, max_out_of_orderness: «a bit}
          compute: {n: count()}
"""), ("max_out_of_orderness",)),
    "agg_nested": Case(steps("""\
      - from: orders
        aggregate:
          compute: {s: sum(«count())}
"""), ("count",)),
    "agg_collect_no_argument": Case(steps("""\
      - from: orders
        aggregate:
          compute: {c: «collect()}
"""), ("collect",)),
    "agg_count_unknown_field": Case(steps("""\
      - from: orders
        aggregate:
          compute: {c: count(«stat)}
"""), ("stat", "status")),
    "unknown_function": Case(steps("""\
      - from: orders
        map: {s: «uper(status)}
"""), ("uper", "upper")),
    "function_arity": Case(steps("""\
      - from: orders
        map: {s: «lower()}
"""), ("lower",)),
    "invalid_regex": Case(steps("""\
      - from: orders
        filter: 'matches(status, «"(unclosed")'
"""), ("regular expression",)),
    "validate_unknown_field": Case(steps("""\
      - from: orders
        validate: {positive: «amout > 0}
"""), ("amout", "amount")),
    "select_mapping_unknown_field": Case(steps("""\
      - from: orders
        select: {total: amount * «qy}
"""), ("qy", "qty")),
    "enrich_right_not_in_table": Case(steps("""\
      - from: orders
        enrich: {table: {type: file, path: countries.csv}, on: {left: id, right: «code}}
"""), ("code",)),
    "dedupe_without_key": Case(steps("""\
      - from: orders
        «dedupe: {within: 1h}
"""), ("key",)),
    "enrich_key_types_differ": Case(steps("""\
      - from: orders
        enrich:
          table: {type: file, path: countries.csv, schema: {code: string, name: string}}
          on: {left: «id, right: code}
"""), ("id", "code")),
    # the same rules in block style: lists, block scalars, nested mappings on their own lines
    "block_drop_missing_field": Case(steps("""\
      - from: orders
        drop:
          - id
          - «colour
"""), ("colour",)),
    "block_folded_filter_unknown_field": Case(steps("""\
      - from: orders
        filter: >
          status == "paid"
          and «amont > 1
"""), ("amont", "amount")),
    "block_literal_sql_group_by": Case(steps("""\
      - from: orders
        sql: |
          SELECT status
          FROM input
          «GROUP BY status
"""), ("GROUP BY",)),
    "block_window_bad_size": Case(steps("""\
      - from: orders
        aggregate:
          by:
            - status
          window:
            type: tumbling
            size: «ten minutes
          compute:
            n: count()
"""), ("size",)),
    "block_compute_arity": Case(steps("""\
      - from: orders
        aggregate:
          by: [status]
          window:
            type: tumbling
            size: 1m
          compute:
            n: count()
            total: «sum(amount, qty)
"""), ("sum",)),
    "block_quoted_expression_type_error": Case(steps("""\
      - from: orders
        map:
          label: "«status + 1"
"""), ("status",)),
    "block_validate_second_rule": Case(steps("""\
      - from: orders
        validate:
          positive: amount > 0
          known_status: «stauts in ("paid", "open")
"""), ("stauts", "status")),
    "block_window_without_event_time": Case(steps("""\
      - from: plain
        aggregate:
          by: [status]
          «window:
            type: tumbling
            size: 1m
          compute:
            n: count()
"""), ("event time",)),
    "block_union_incompatible": Case("""\
    version: 1
    pipeline: p
    sources:
      a: {type: inline, schema: {id: int, v: list<int>}, records: []}
      b: {type: inline, schema: {id: int, v: bool}, records: []}
    steps:
      - name: both
        «union:
          - a
          - b
""" + SINK, ("v",)),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compile_steps") / "specs"
    folder.mkdir()
    (folder / "countries.csv").write_text("id,name\n1,Germany\n2,France\n", encoding="utf-8")
    return validate_folder(folder, CASES)


def test_folder_of_bad_specs_exits_1(results):
    assert results["done"].returncode == 1, results["done"].stdout + results["done"].stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_rejected_at_the_offending_token(results, name):
    check_case(results, name, CASES[name])


EVERY_PROBLEM = """\
version: 1
pipeline: p
sources:
  orders:
    type: inline
    schema: {id: int, ts: datetime, status: string, amount: float}
    event_time: {field: ts, max_out_of_orderness: soon}
    records: []
steps:
  - filter: amont > 1
  - name: agg
    aggregate:
      window: {type: tumbling, size: 1 minute}
      compute: {n: count()}
  - map: {x: uper(status)}
    from: nowhere
sinks:
  out: {type: file, path: out.jsonl, compression: brotli}
"""


def test_bad_durations_do_not_hide_the_other_problems(tmp_path):
    """SPEC §10: every problem, not the first; a bad duration in a source or step is one of them."""
    (tmp_path / "p.flow.yaml").write_text(EVERY_PROBLEM, encoding="utf-8")
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    found = {(f.line, f.col, f.code) for f in parse(done.stdout)["p"] if f.severity == "error"}
    assert found == {(7, 51, "E405"), (10, 13, "E104"), (13, 38, "E405"), (15, 14, "E105"), (16, 11, "E101"),
                     (18, 51, "E404")}, done.stdout
