"""Acceptance tests for SPEC §2 (the graph) and §4 (steps), written from SPEC.md alone and run through
the `flowc` command. Several sinks share one run where they can: a `flowc run` costs about half a second."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from acceptance_cli import flowc, lines, write_spec


def run_ok(folder: Path, body: str, files: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = flowc("run", "--quiet", str(write_spec(folder, body, files)))
    assert done.returncode == 0, done.stderr
    return done


def ordered(records: list[dict]) -> list[list]:
    """Field order made visible: a dict compares equal whatever its key order."""
    return [list(r.items()) for r in records]


# --- §4 filter, map, select, drop, rename -------------------------------------------------------------

def test_filter_keeps_true_drops_false_and_null(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1, ok: true}, {n: 2, ok: false}, {n: 3, ok: null}, {n: 4, ok: true}]}
    steps:
      - filter: ok
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 4]


def test_map_reads_input_record_overwrites_in_place_and_sets_nested(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{a: 1, b: 2, user: {name: x, tier: 1}}]}
    steps:
      - map:
          a: b
          b: a
          c: a + b
          user.tier: '"gold"'
          meta.source: '"inline"'
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    [rec] = lines(tmp_path / "out.jsonl")
    assert rec["a"] == 2 and rec["b"] == 1 and rec["c"] == 3  # each reads the input, not each other
    assert rec["user"] == {"name": "x", "tier": "gold"}
    assert rec["meta"] == {"source": "inline"}
    assert list(rec)[:3] == ["a", "b", "user"]  # overwritten fields keep their place; new ones follow


def test_select_list_and_mapping_drop_rename(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{a: 1, b: 2, c: 3}]}
    steps:
      - name: picked
        select: [c, a]
      - name: computed
        from: s
        select: {total: a + b + c, a: a}
      - name: dropped
        from: s
        drop: [b]
      - name: renamed
        from: s
        rename: {b: bee}
    sinks:
      picked_out: {type: file, path: picked.jsonl, from: picked}
      computed_out: {type: file, path: computed.jsonl, from: computed}
      dropped_out: {type: file, path: dropped.jsonl, from: dropped}
      renamed_out: {type: file, path: renamed.jsonl, from: renamed}
    """)
    assert ordered(lines(tmp_path / "picked.jsonl")) == [[("c", 3), ("a", 1)]]
    assert ordered(lines(tmp_path / "computed.jsonl")) == [[("total", 6), ("a", 1)]]
    assert ordered(lines(tmp_path / "dropped.jsonl")) == [[("a", 1), ("c", 3)]]
    assert lines(tmp_path / "renamed.jsonl") == [{"a": 1, "bee": 2, "c": 3}]


def test_drop_of_unknown_field_is_a_compile_error_when_schema_known(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{a: 1}]}
    steps:
      - drop: [nope]
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = flowc("validate", str(path))
    assert done.returncode == 1
    assert "nope" in done.stdout + done.stderr
    assert flowc("run", str(path)).returncode == 1
    assert not (tmp_path / "out.jsonl").exists()


# --- §4 explode -----------------------------------------------------------------------------------------

EXPLODE_INPUT = """
    sources:
      s:
        type: inline
        records:
          - {id: 1, items: [a, b, null]}
          - {id: 2, items: []}
          - {id: 3, items: null}
          - {id: 4, items: [c]}
"""


def test_explode_short_form_as_index_and_keep_empty(tmp_path):
    run_ok(tmp_path, EXPLODE_INPUT + """
    steps:
      - name: short
        explode: items
      - name: kept
        from: s
        explode: {field: items, as: item, index: item_no, keep_empty: true}
      - name: dropped
        from: s
        explode: {field: items, as: item, index: i, keep_empty: false}
    sinks:
      short_out: {type: file, path: short.jsonl, from: short}
      kept_out: {type: file, path: kept.jsonl, from: kept}
      dropped_out: {type: file, path: dropped.jsonl, from: dropped}
    """)
    assert ordered(lines(tmp_path / "short.jsonl")) == [
        [("id", 1), ("items", "a")], [("id", 1), ("items", "b")], [("id", 1), ("items", None)],
        [("id", 4), ("items", "c")],
    ]
    kept = lines(tmp_path / "kept.jsonl")
    assert list(kept[0]) == ["id", "item", "item_no"]  # `as` replaces the list field; `index` is added
    assert [(r["id"], r["item"], r["item_no"]) for r in kept] == [
        (1, "a", 0), (1, "b", 1), (1, None, 2), (2, None, None), (3, None, None), (4, "c", 0)]
    assert [(r["id"], r["item"], r["i"]) for r in lines(tmp_path / "dropped.jsonl")] == [
        (1, "a", 0), (1, "b", 1), (1, None, 2), (4, "c", 0)]


# --- §4 validate, §2 side outputs and default names ------------------------------------------------

def test_validate_rejects_records_naming_failed_rules_to_errors_output(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1, s: ok}, {n: -1, s: ok}, {n: -2, s: null}, {n: 5, s: ok}]}
    steps:
      - validate:
          positive: n > 0
          has_s: s is not null
    sinks:
      good: {type: file, path: good.jsonl}
      bad: {type: file, path: bad.jsonl, from: validate_1.errors}
    """)
    assert [r["n"] for r in lines(tmp_path / "good.jsonl")] == [1, 5]
    bad = lines(tmp_path / "bad.jsonl")
    assert [r["n"] for r in bad] == [-1, -2]
    assert bad[0]["_error"]["step"] == "validate_1"
    assert "positive" in bad[0]["_error"]["message"] and "has_s" not in bad[0]["_error"]["message"]
    assert "positive" in bad[1]["_error"]["message"] and "has_s" in bad[1]["_error"]["message"]
    assert set(bad[0]["_source"]) >= {"name", "position"} and bad[0]["_source"]["name"] == "s"


def test_validate_null_rule_is_not_true_so_rejected(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1}, {n: null}]}
    steps:
      - validate: {positive: n > 0}
    sinks:
      good: {type: file, path: good.jsonl}
      bad: {type: file, path: bad.jsonl, from: validate_1.errors}
    """)
    assert [r["n"] for r in lines(tmp_path / "good.jsonl")] == [1]
    assert [r["n"] for r in lines(tmp_path / "bad.jsonl")] == [None]


def test_unread_side_output_goes_to_dead_letter_sink(tmp_path):
    run_ok(tmp_path, """
    settings:
      on_error: dead_letter
      dead_letter: {type: file, path: dead.jsonl}
    sources:
      s: {type: inline, records: [{n: 1}, {n: -1}]}
    steps:
      - validate: {positive: n > 0}
    sinks:
      good: {type: file, path: good.jsonl}
    """)
    assert [r["n"] for r in lines(tmp_path / "good.jsonl")] == [1]
    [dead] = lines(tmp_path / "dead.jsonl")
    assert dead["n"] == -1 and dead["_error"]["step"] == "validate_1"


# --- §2 the graph ----------------------------------------------------------------------------------

def test_fan_out_every_reader_sees_every_record_and_default_from_chain(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}]}
    steps:
      - filter: n > 1
      - map: {m: n * 10}
      - name: other
        from: s
        map: {m: n}
    sinks:
      a: {type: file, path: a.jsonl, from: other}
      b: {type: file, path: b.jsonl, from: map_2}
      c: {type: file, path: c.jsonl, from: map_2}
      d: {type: file, path: d.jsonl, from: s}
    """)
    assert lines(tmp_path / "a.jsonl") == [{"n": 1, "m": 1}, {"n": 2, "m": 2}, {"n": 3, "m": 3}]
    assert lines(tmp_path / "b.jsonl") == [{"n": 2, "m": 20}, {"n": 3, "m": 30}]
    assert lines(tmp_path / "c.jsonl") == lines(tmp_path / "b.jsonl")
    assert lines(tmp_path / "d.jsonl") == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_sink_without_from_reads_last_step_and_no_steps_is_pass_through(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1}, {n: 2}]}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert lines(tmp_path / "out.jsonl") == [{"n": 1}, {"n": 2}]


def _validate(tmp_path: Path, body: str, *flags: str) -> subprocess.CompletedProcess:
    return flowc("validate", *flags, str(write_spec(tmp_path, body)))


def test_graph_errors(tmp_path):
    unknown = _validate(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1}]}
    sinks:
      out: {type: file, path: out.jsonl, from: nowhere}
    """)
    assert unknown.returncode == 1 and "nowhere" in unknown.stdout + unknown.stderr
    two_sources = _validate(tmp_path, """
    sources:
      a: {type: inline, records: [{n: 1}]}
      b: {type: inline, records: [{n: 2}]}
    steps:
      - filter: n > 0
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert two_sources.returncode == 1
    cycle = _validate(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1}]}
    steps:
      - {name: x, from: y, filter: n > 0}
      - {name: y, from: x, filter: n > 0}
    sinks:
      out: {type: file, path: out.jsonl, from: y}
    """)
    assert cycle.returncode == 1


def test_dangling_step_is_a_warning_and_an_error_with_strict(tmp_path):
    body = """
    sources:
      s: {type: inline, records: [{n: 1}]}
    steps:
      - {name: used, filter: n > 0}
      - {name: dangling, from: s, filter: n > 5}
    sinks:
      out: {type: file, path: out.jsonl, from: used}
    """
    loose = _validate(tmp_path, body)
    assert loose.returncode == 0 and "dangling" in loose.stdout + loose.stderr
    strict = _validate(tmp_path, body, "--strict")
    assert strict.returncode == 1 and "dangling" in strict.stdout + strict.stderr


# --- §4 union ----------------------------------------------------------------------------------------

def test_union_aligns_fields_by_name_and_widens_int_to_float(tmp_path):
    run_ok(tmp_path, """
    sources:
      a: {type: inline, records: [{k: 1, x: 1}]}
      b: {type: inline, records: [{k: 2, y: z, x: 2.5}]}
    steps:
      - union: [a, b]
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    got = sorted(lines(tmp_path / "out.jsonl"), key=lambda r: r["k"])
    assert got == [{"k": 1, "x": 1.0, "y": None}, {"k": 2, "x": 2.5, "y": "z"}]
    assert isinstance(got[0]["x"], float)


def test_union_of_incompatible_types_is_a_compile_error(tmp_path):
    done = _validate(tmp_path, """
    sources:
      a: {type: inline, records: [{x: 1}]}
      b: {type: inline, records: [{x: [1, 2]}]}
    steps:
      - union: [a, b]
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert done.returncode == 1


# --- §4 sql ------------------------------------------------------------------------------------------

def test_sql_row_wise_query(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1, c: a}, {n: 2, c: b}, {n: 3, c: c}]}
    steps:
      - sql: SELECT n * 2 AS twice, c FROM input WHERE n >= 2
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert ordered(lines(tmp_path / "out.jsonl")) == [[("twice", 4), ("c", "b")], [("twice", 6), ("c", "c")]]


def test_sql_batch_dependent_constructs_are_compile_errors(tmp_path):
    queries = ("SELECT c, count(*) AS k FROM input GROUP BY c", "SELECT n FROM input ORDER BY n",
               "SELECT n FROM input LIMIT 1", "SELECT DISTINCT c FROM input",
               "SELECT sum(n) AS t FROM input", "SELECT n, row_number() OVER (ORDER BY n) AS r FROM input")
    for i, query in enumerate(queries):  # one file each, validated together (SPEC §10: files or folders)
        (tmp_path / f"q{i}.flow.yaml").write_text("version: 1\npipeline: p\n" + textwrap.dedent(f"""
        sources:
          s: {{type: inline, records: [{{n: 1, c: a}}]}}
        steps:
          - sql: {query}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """))
    done = flowc("validate", *(str(tmp_path / f"q{i}.flow.yaml") for i in range(len(queries))))
    assert done.returncode == 1
    failed = {line.split(":")[0] for line in done.stdout.splitlines() if "error[" in line}
    assert failed == {str(tmp_path / f"q{i}.flow.yaml") for i in range(len(queries))}, done.stdout


# --- §4 enrich ---------------------------------------------------------------------------------------

TABLE = "code,name,tier\nde,Germany,1\nfr,France,2\n"


def test_enrich_left_and_inner_with_overwrite_and_on_key(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{id: 1, code: de, name: old}, {id: 2, code: xx, name: old}, {id: 3, code: fr, name: old}]}
    steps:
      - name: left
        enrich: {table: {type: file, path: t.csv, format: csv}, on: code, fields: [name, tier], how: left}
      - name: inner
        from: s
        enrich: {table: {type: file, path: t.csv, format: csv}, on: code, fields: [name], how: inner}
    sinks:
      left_out: {type: file, path: left.jsonl, from: left}
      inner_out: {type: file, path: inner.jsonl, from: inner}
    """, {"t.csv": TABLE})
    assert lines(tmp_path / "left.jsonl") == [
        {"id": 1, "code": "de", "name": "Germany", "tier": 1},
        {"id": 2, "code": "xx", "name": None, "tier": None},
        {"id": 3, "code": "fr", "name": "France", "tier": 2},
    ]
    assert lines(tmp_path / "inner.jsonl") == [
        {"id": 1, "code": "de", "name": "Germany"}, {"id": 3, "code": "fr", "name": "France"}]


def test_enrich_on_left_right_mapping(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{id: 1, country: fr}]}
    steps:
      - enrich: {table: {type: file, path: t.csv, format: csv}, on: {left: country, right: code}, fields: [name]}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"t.csv": TABLE})
    assert lines(tmp_path / "out.jsonl") == [{"id": 1, "country": "fr", "name": "France"}]


def test_enrich_duplicate_table_keys_fail_the_run(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{id: 1, code: de}]}
    steps:
      - enrich: {table: {type: file, path: t.csv, format: csv}, on: code, fields: [name]}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"t.csv": TABLE + "de,Deutschland,3\n"})
    done = flowc("run", str(path))
    assert done.returncode == 1
    assert "de" in done.stderr and "duplicate" in done.stderr.lower()


# --- §4 dedupe ---------------------------------------------------------------------------------------

def test_dedupe_within_event_time_span_restarting_on_kept(tmp_path):
    # key a: 0s kept; 30s dropped (< 60s from 0); 60s kept (not < 60s); 90s dropped; 125s kept
    # (65s from 60); 70s arrives out of order, 10s from the kept 60s: dropped.
    # key b: 10s kept; 69s dropped (59s from 10s).
    run_ok(tmp_path, """
    sources:
      s:
        type: inline
        records:
          - {k: a, t: "2026-01-01T00:00:00Z", n: 1}
          - {k: b, t: "2026-01-01T00:00:10Z", n: 2}
          - {k: a, t: "2026-01-01T00:00:30Z", n: 3}
          - {k: a, t: "2026-01-01T00:01:00Z", n: 4}
          - {k: a, t: "2026-01-01T00:01:30Z", n: 5}
          - {k: b, t: "2026-01-01T00:01:09Z", n: 6}
          - {k: a, t: "2026-01-01T00:02:05Z", n: 7}
          - {k: a, t: "2026-01-01T00:01:10Z", n: 8}
        schema: {k: string, t: datetime, n: int}
        event_time: {field: t, max_out_of_orderness: 2m}
    steps:
      - dedupe: {key: [k], within: 1m}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4, 7]


def test_steps_read_side_outputs_select_map_and_union_them(tmp_path):
    run_ok(tmp_path, """
    sources:
      s:
        type: inline
        schema: {t: datetime, v: int}
        event_time: {field: t, max_out_of_orderness: 0s}
        records:
          - {t: "2026-01-01T00:00:05Z", v: 1}
          - {t: "2026-01-01T00:02:05Z", v: 2}
          - {t: "2026-01-01T00:00:06Z", v: 3}
          - {t: "yesterday", v: 4}
    steps:
      - name: agg
        aggregate: {window: {type: tumbling, size: 1m}, compute: {vs: collect(v)}}
      - name: tag_late
        from: agg.late
        select: {v: v, why: _error.code}
      - name: tag_bad
        from: s.errors
        select: {v: v, why: _error.code}
      - name: picked
        from: s.errors
        select: [v]
      - union: [tag_late, tag_bad]
    sinks:
      out: {type: file, path: out.jsonl, from: agg}
      side: {type: file, path: side.jsonl, from: union_5}
      picked_out: {type: file, path: picked.jsonl, from: picked}
    """)
    assert [r["vs"] for r in lines(tmp_path / "out.jsonl")] == [[1], [2]]
    side = sorted(lines(tmp_path / "side.jsonl"), key=lambda r: r["v"])
    assert side == [{"v": 3, "why": "late"}, {"v": 4, "why": "conversion"}]
    assert lines(tmp_path / "picked.jsonl") == [{"v": 4}]


def test_a_step_reading_errors_may_reject_them_in_turn(tmp_path):
    # validate and a failing conversion on the records of `s.errors`: their own errors name the step and
    # keep the original record's source position.
    run_ok(tmp_path, """
    sources:
      s:
        type: inline
        schema: {t: datetime, v: int}
        records: [{t: "2026-01-01T00:00:05Z", v: 1}, {t: bad, v: 4}, {t: worse, v: 5}]
    steps:
      - name: checked
        from: s.errors
        validate: {small: v < 5}
      - name: converted
        from: s.errors
        map: {n: to_int(_error.code)}
    sinks:
      good: {type: file, path: good.jsonl, from: s}
      small: {type: file, path: small.jsonl, from: checked}
      rejected: {type: file, path: rejected.jsonl, from: checked.errors}
      failed: {type: file, path: failed.jsonl, from: converted.errors}
    """)
    assert [r["v"] for r in lines(tmp_path / "good.jsonl")] == [1]
    assert [(r["v"], r["_error"]["step"]) for r in lines(tmp_path / "small.jsonl")] == [(4, "s")]
    [rejected] = lines(tmp_path / "rejected.jsonl")
    assert (rejected["v"], rejected["_error"]["step"]) == (5, "checked") and "small" in rejected["_error"]["message"]
    assert rejected["_source"] == {"name": "s", "position": "records[2]"}
    failed = lines(tmp_path / "failed.jsonl")
    assert [(r["v"], r["_error"]["step"], r["_source"]["position"]) for r in failed] == [
        (4, "converted", "records[1]"), (5, "converted", "records[2]")]
