"""Acceptance audit of SPEC §2 (the graph), §6 (errors in data) and §8 (tests in the spec), through the
`flowc` command on real files: the combinations and edges the other acceptance files leave out."""

from __future__ import annotations

import json
from pathlib import Path

from acceptance_cli import flowc, lines, write_spec


def events(folder: Path) -> list[dict]:
    return lines(folder / ".flow/p/events.log")


def positions(folder: Path) -> dict:
    """The sink positions of the last checkpoint."""
    return [e for e in events(folder) if e["type"] == "checkpoint_saved"][-1]["data"]["sinks"]


# --- §2 / §6: the dead-letter sink is a sink of its own -------------------------------------------------

def test_a_sink_named_dead_letter_beside_the_dead_letter_sink_is_a_duplicate_name(tmp_path):
    # Both would be the sink 'dead_letter' in the counts and the checkpoint: the user's sink lost its
    # position there (so a resume or --reset would not know its file), and 'written' merged the two.
    path = write_spec(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: inline, records: [{v: "1"}, {v: "x"}]}
        steps:
          - map: {n: to_int(v)}
        sinks:
          out: {type: file, path: out.jsonl}
          dead_letter: {type: file, path: mine.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}:11:3: error[E102]: duplicate name 'dead_letter' (also used on line 4)" in checked.stdout
    ran = flowc("run", str(path))
    assert ran.returncode == 1 and not (tmp_path / "mine.jsonl").exists()


def test_a_sink_named_dead_letter_without_a_dead_letter_sink_is_an_ordinary_sink(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: inline, records: [{v: 1}]}
        sinks:
          dead_letter: {type: file, path: mine.jsonl}
        """)
    ran = flowc("run", str(path))
    assert ran.returncode == 0, ran.stderr
    assert lines(tmp_path / "mine.jsonl") == [{"v": 1}]
    assert positions(tmp_path)["dead_letter"]["records"] == 1


def test_from_in_the_dead_letter_sink_is_an_unknown_key_not_silently_ignored(tmp_path):
    # The dead-letter sink reads every side output nothing else reads; a `from:` there was dropped
    # without a word, so a user who meant it to read one output got something else.
    path = write_spec(tmp_path, """
        settings:
          on_error: skip
          dead_letter: {type: file, path: dead.jsonl, from: s}
        sources:
          s: {type: inline, records: [{v: 1}]}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}:6:47: error[E401]: unknown key 'from' in settings.dead_letter" in checked.stdout


# --- §6: `_source` of records that passed a row-wise `sql` step -------------------------------------------

SQL_THEN_VALIDATE = """
    settings: {batch_size: 2, on_error: %s, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: in.csv, schema: {id: int, tag: string}}
    steps:
      - sql: SELECT id * 2 AS d, upper(tag) AS tag FROM input WHERE id > 1 AND EXTRACT(YEAR FROM DATE '2026-01-01') > 2000
      - name: check
        validate: {small: d < 7}
    sinks:
      out: {type: file, path: out.jsonl}
    """


def test_a_record_that_passed_a_sql_step_keeps_its_source_position(tmp_path):
    # The position of a record error after a `sql` step was null (a row-wise query keeps each record
    # it does not filter out, so its position is known), and `fail` could not say where the record was.
    path = write_spec(tmp_path, SQL_THEN_VALIDATE % "dead_letter",
                      {"in.csv": "id,tag\n1,a\n2,b\n3,c\n4,d\n5,e\n"})
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "out.jsonl") == [{"d": 4, "tag": "B"}, {"d": 6, "tag": "C"}]
    dead = lines(tmp_path / "dead.jsonl")
    assert [(r["d"], r["_error"]["step"], r["_source"]) for r in dead] == [
        (8, "check", {"name": "s", "position": "in.csv:5"}), (10, "check", {"name": "s", "position": "in.csv:6"})]
    path = write_spec(tmp_path, SQL_THEN_VALIDATE % "fail")
    failed = flowc("run", str(path), "--reset")
    assert failed.returncode == 1
    assert "step 'check' failed on the record at s in.csv:5: validate: failed rules: small" in failed.stderr


# --- §2: a union reads the inputs it lists ----------------------------------------------------------------

def test_from_beside_union_is_an_error_not_silently_ignored(tmp_path):
    # `from: c` beside `union: [a, b]` was dropped: the user who meant c to be one of the inputs lost its records.
    path = write_spec(tmp_path, """
        sources:
          a: {type: inline, records: [{n: 1}]}
          b: {type: inline, records: [{n: 2}]}
          c: {type: inline, records: [{n: 3}]}
        steps:
          - name: all
            from: c
            union: [a, b]
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}:10:5: error[E412]: step 1 ('all') gives 'union' and 'from'; keep only one" in checked.stdout
    assert flowc("run", str(path)).returncode == 1 and not (tmp_path / "out.jsonl").exists()


# --- §6: policies mixed per step, and the counts conserve -------------------------------------------------

def test_per_step_policies_mix_and_read_equals_written_plus_skipped_plus_dead_lettered(tmp_path):
    path = write_spec(tmp_path, """
        settings: {batch_size: 3, on_error: skip, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: file, path: in.csv, schema: {a: int, b: string}}
        steps:
          - name: conv
            map: {n: to_int(b)}
            on_error: dead_letter
          - name: check
            validate: {pos: n > 0}
        sinks:
          out: {type: file, path: out.jsonl}
        """, {"in.csv": "a,b\n1,1\nq,2\n3,x\n4,-4\n5,5\n6,y\nz,7\n"})
    done = flowc("run", str(path), "--log-format", "json")
    assert done.returncode == 0, done.stderr
    assert [r["a"] for r in lines(tmp_path / "out.jsonl")] == [1, 5]
    dead = lines(tmp_path / "dead.jsonl")  # only conv's errors: the source's and check's are skipped
    assert [(r["b"], r["_error"]["step"], r["_source"]["position"]) for r in dead] == [
        ("x", "conv", "in.csv:4"), ("y", "conv", "in.csv:7")]
    counts = events(tmp_path)[-1]["data"]["counts"]
    assert counts == {"read": 7, "written": {"out": 2, "dead_letter": 2}, "skipped": 3, "dead_lettered": 2, "late": 0}
    assert counts["read"] == counts["written"]["out"] + counts["skipped"] + counts["dead_lettered"]
    per_batch = [e["data"]["counts"] for e in events(tmp_path) if e["type"] == "batch_committed"]
    assert [c["read"] for c in per_batch] == [3, 3, 1]
    for c in per_batch:
        assert c["read"] == c["written"]["out"] + c["skipped"] + c["dead_lettered"]


def test_fan_out_a_failing_branch_stops_every_branch_at_the_previous_batch(tmp_path):
    data = "n\n1\n2\n3\nx\n5\n"
    path = write_spec(tmp_path, """
        settings: {batch_size: 2}
        sources:
          s: {type: file, path: in.csv, schema: {n: string}}
        steps:
          - {name: a, from: s, map: {k: 1}}
          - {name: b, from: s, map: {m: to_int(n)}}
        sinks:
          oa: {type: file, path: oa.jsonl, from: a}
          ob: {type: file, path: ob.jsonl, from: b}
        """, {"in.csv": data})
    failed = flowc("run", str(path))
    assert failed.returncode == 1
    assert "step 'b' failed on the record at s in.csv:5: conversion: cannot convert 'x' to int" in failed.stderr
    assert [r["n"] for r in lines(tmp_path / "oa.jsonl")] == ["1", "2"]  # batch 2 is in neither sink
    assert [r["m"] for r in lines(tmp_path / "ob.jsonl")] == [1, 2]
    (tmp_path / "in.csv").write_text(data.replace("x", "4"))
    resumed = flowc("run", str(path))
    assert resumed.returncode == 0, resumed.stderr
    assert [r["n"] for r in lines(tmp_path / "oa.jsonl")] == ["1", "2", "3", "4", "5"]
    assert [r["m"] for r in lines(tmp_path / "ob.jsonl")] == [1, 2, 3, 4, 5]


def test_a_union_of_a_step_and_its_errors_then_a_rejection_keeps_the_first_position(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: file, path: in.csv, schema: {v: string}}
        steps:
          - name: conv
            map: {n: to_int(v)}
          - name: both
            union: [conv, conv.errors]
          - name: check
            validate: {has_n: n is not null}
        sinks:
          out: {type: file, path: out.jsonl, from: check}
          bad: {type: file, path: bad.jsonl, from: check.errors}
        """, {"in.csv": "v\n1\nx\n3\n"})
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [(r["v"], r["n"], r["_error"]) for r in lines(tmp_path / "out.jsonl")] == [("1", 1, None), ("3", 3, None)]
    [bad] = lines(tmp_path / "bad.jsonl")
    assert list(bad) == ["v", "n", "_error", "_source"]
    assert bad["_error"] == {"step": "check", "code": "validate", "message": "failed rules: has_n"}
    assert bad["_source"] == {"name": "s", "position": "in.csv:3"}


# --- §6: `_source` is null only for records an aggregate made --------------------------------------------

def test_a_late_record_rejected_in_turn_keeps_its_source(tmp_path):
    # A step reading `<agg>.late` (the aggregate's input records, not records it made) enveloped its own
    # errors with `_source: null`, as if the aggregate had made them.
    path = write_spec(tmp_path, """
        settings: {batch_size: 1}
        sources:
          s:
            type: inline
            event_time: {field: ts, max_out_of_orderness: 0s}
            schema: {ts: datetime, k: string, v: string}
            records:
              - {ts: "2026-01-01T00:00:10Z", k: a, v: "1"}
              - {ts: "2026-01-01T00:02:00Z", k: a, v: "2"}
              - {ts: "2026-01-01T00:00:20Z", k: a, v: "q"}
              - {ts: "2026-01-01T00:00:30Z", k: a, v: "4"}
        steps:
          - name: agg
            aggregate: {by: [k], window: {type: tumbling, size: 1m}, compute: {c: count()}}
          - name: late_conv
            from: agg.late
            map: {n: to_int(v)}
        sinks:
          out: {type: file, path: out.jsonl, from: agg}
          fixed: {type: file, path: fixed.jsonl, from: late_conv}
          rejected: {type: file, path: rejected.jsonl, from: late_conv.errors}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [(r["n"], r["_source"]) for r in lines(tmp_path / "fixed.jsonl")] == [
        (4, {"name": "s", "position": "records[3]"})]
    [rejected] = lines(tmp_path / "rejected.jsonl")
    assert rejected["_error"] == {"step": "late_conv", "code": "conversion", "message": "cannot convert 'q' to int"}
    assert rejected["_source"] == {"name": "s", "position": "records[2]"}


def test_after_a_union_with_an_aggregate_only_the_aggregates_records_have_a_null_source(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: inline, records: [{k: a, v: "1"}, {k: b, v: "x"}]}
        steps:
          - name: agg
            from: s
            aggregate: {by: [k], compute: {v: first(v)}}
          - name: both
            union: [agg, s]
          - name: conv
            map: {n: to_int(v)}
        sinks:
          out: {type: file, path: out.jsonl}
          bad: {type: file, path: bad.jsonl, from: conv.errors}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    bad = lines(tmp_path / "bad.jsonl")
    assert sorted(json.dumps(r["_source"]) for r in bad) == [
        "null", '{"name": "s", "position": "records[1]"}']
    assert all(r["k"] == "b" and r["_error"]["step"] == "conv" for r in bad)


def test_a_late_record_an_aggregate_made_has_a_null_source(tmp_path):
    # The late envelope gave it `{name: s, position: null}`, unlike every other envelope of such a record.
    path = write_spec(tmp_path, """
        sources:
          s:
            type: inline
            schema: {k: string, t: datetime}
            records: [{k: a, t: "2026-01-01T00:05:00Z"}, {k: b, t: "2026-01-01T00:01:00Z"}]
        steps:
          - name: latest
            aggregate: {by: [k], compute: {t: max(t)}}
          - name: per_minute
            aggregate: {window: {type: tumbling, size: 1m, time: t}, compute: {c: count()}}
        sinks:
          out: {type: file, path: out.jsonl}
          late: {type: file, path: late.jsonl, from: per_minute.late}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["c"] for r in lines(tmp_path / "out.jsonl")] == [1]
    [late] = lines(tmp_path / "late.jsonl")
    assert (late["k"], late["_error"]["code"], late["_source"]) == ("b", "late", None)


# --- §8: what `flowc test` prints --------------------------------------------------------------------------

def test_an_expectation_that_does_not_convert_is_shown_as_written_in_yaml(tmp_path):
    # `true` and `{a: 1}` were shown as Python writes them (`True`, `{'a': 1}`).
    path = write_spec(tmp_path, """
        sources:
          s: {type: inline, schema: {i: int, f: float}, records: []}
        sinks:
          out: {type: file, path: out.jsonl}
        tests:
          - name: bool for int
            inputs: {s: [{i: 1, f: 1.0}]}
            expect: {out: [{i: true, f: {a: 1}}]}
        """)
    done = flowc("test", str(path))
    assert done.returncode == 1
    assert "FAIL bool for int\n" in done.stdout
    assert "field 'i': cannot read true as int" in done.stdout
    assert "field 'f': cannot read {a: 1} as float" in done.stdout
    assert done.stdout.rstrip().endswith("1 test in 1 file: 0 passed, 1 failed")
