"""Acceptance audit of step semantics and stateful steps (SPEC §2, §4, §6, §8), written from SPEC.md
alone and run through the `flowc` command: combinations and edges the other acceptance files leave
out. Expected results are worked out by hand in the comments (times in seconds after
2026-01-01T00:00:00Z, which is aligned to the epoch at every minute)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acceptance_cli import flowc, lines, write_spec

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def run_ok(path: Path, *args: str) -> subprocess.CompletedProcess:
    done = flowc("run", "--reset", *args, str(path))
    assert done.returncode == 0, done.stderr
    return done


def at(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def secs(text: str) -> int:
    return int((datetime.fromisoformat(text.replace("Z", "+00:00")) - BASE).total_seconds())


# --- §4 sql: every way of limiting or aggregating rows is a compile error ---------------------------

def _sql_spec(folder: Path, name: str, query: str) -> Path:
    return write_spec(folder, f"""
    sources:
      s: {{type: inline, records: [{{n: 1, c: a}}, {{n: 2, c: b}}]}}
    steps:
      - sql: "{query}"
    sinks:
      out: {{type: file, path: out.jsonl}}
    """, name=name)


def test_sql_fetch_first_and_polars_only_aggregates_are_compile_errors(tmp_path):
    # FETCH FIRST is standard SQL's LIMIT; quantile_cont, listagg and friends are Polars SQL
    # aggregates: each would give one row per batch; row_number() without OVER numbers the rows of
    # the batch: each result would change with the batch size.
    queries = ["SELECT n FROM input FETCH FIRST 1 ROWS ONLY", "SELECT quantile_cont(n, 0.5) AS q FROM input",
               "SELECT quantile_disc(n, 0.5) AS q FROM input", "SELECT listagg(c, ',') AS q FROM input",
               "SELECT covar(n, n) AS q FROM input", "SELECT var(n) AS q FROM input",
               "SELECT total(n) AS q FROM input", "SELECT n, row_number() AS r FROM input",
               "SELECT n, rank() AS r FROM input"]
    paths = [_sql_spec(tmp_path, f"q{i}.flow.yaml", q) for i, q in enumerate(queries)]
    done = flowc("validate", *map(str, paths))
    assert done.returncode == 1
    failed = {line.split(":")[0] for line in done.stdout.splitlines() if "error[E307]" in line}
    assert failed == set(map(str, paths)), done.stdout
    # a row-wise query with a function call and a constant column is fine, one row per input record
    ok = _sql_spec(tmp_path, "ok.flow.yaml", "SELECT upper(c) AS u, 1 AS one FROM input WHERE n > 1")
    run_ok(ok, "--set", "settings.batch_size=1")
    assert lines(tmp_path / "out.jsonl") == [{"u": "B", "one": 1}]


# --- §6 a record error in an aggregate argument is a record error of the aggregate ------------------

def _agg_errors_spec(folder: Path, window: str, sinks: str) -> Path:
    # tumbling 1m or session 30s, wm = max: 5 "1"; 10 "x" fails; 70 "2"; 20 "y" is late (wm 70 >= 60:
    # its argument is never evaluated); 80 "z" fails; 130 "3".
    return write_spec(folder, f"""
    settings: {{on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
    sources:
      s:
        type: inline
        schema: {{t: datetime, s: string}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: [{{t: "{at(5)}", s: "1"}}, {{t: "{at(10)}", s: x}}, {{t: "{at(70)}", s: "2"}},
                  {{t: "{at(20)}", s: y}}, {{t: "{at(80)}", s: z}}, {{t: "{at(130)}", s: "3"}}]
    steps:
      - name: agg
        aggregate: {{window: {window}, compute: {{total: sum(to_int(s)), n: count()}}}}
      - name: whole
        from: s
        aggregate: {{compute: {{total: sum(to_int(s)), n: count()}}}}
    sinks:
      out: {{type: file, path: out.jsonl, from: agg}}
      all: {{type: file, path: all.jsonl, from: whole}}
    {sinks}
    """)


def test_a_failing_aggregate_argument_is_a_record_error_not_a_failed_run(tmp_path):
    path = _agg_errors_spec(tmp_path, "{type: tumbling, size: 1m}",
                            "  bad: {type: file, path: bad.jsonl, from: agg.errors}")
    for batch_size in ("1", "100000"):
        done = run_ok(path, "--set", f"settings.batch_size={batch_size}")
        assert [(secs(r["window_start"]), r["total"], r["n"]) for r in lines(tmp_path / "out.jsonl")] == [
            (0, 1, 1), (60, 2, 1), (120, 3, 1)]
        bad = lines(tmp_path / "bad.jsonl")
        assert [(r["s"], r["_error"]["step"], r["_error"]["code"], r["_source"]["position"]) for r in bad] == [
            ("x", "agg", "conversion", "records[1]"), ("z", "agg", "conversion", "records[4]")]
        # the aggregate without a window reads every record (none is late there): y fails too
        assert lines(tmp_path / "all.jsonl") == [{"total": 6, "n": 3}]
        dead = lines(tmp_path / "dead.jsonl")
        assert sorted((r["s"], r["_error"]["step"], r["_error"]["code"]) for r in dead) == [
            ("x", "whole", "conversion"), ("y", "agg", "late"), ("y", "whole", "conversion"),
            ("z", "whole", "conversion")]
        assert "dead-lettered=5" in done.stderr.splitlines()[-1] and "late=1" in done.stderr.splitlines()[-1]


def test_a_failing_session_argument_under_skip_and_fail(tmp_path):
    # sessions of gap 30s: x fails, so it does not extend [5, 35); z fails, so [70, 100) holds 70 alone
    path = _agg_errors_spec(tmp_path, "{type: session, gap: 30s}", "")
    text = path.read_text()
    path.write_text(text.replace("on_error: dead_letter,", "on_error: skip,"))
    done = run_ok(path, "--set", "settings.batch_size=2")
    assert [(secs(r["window_start"]), secs(r["window_end"]), r["total"], r["n"])
            for r in lines(tmp_path / "out.jsonl")] == [(5, 35, 1, 1), (70, 100, 2, 1), (130, 160, 3, 1)]
    assert "skipped=5" in done.stderr.splitlines()[-1]
    path.write_text(text.replace("on_error: dead_letter,", "on_error: fail,"))
    failed = flowc("run", "--reset", str(path))
    assert failed.returncode == 1
    assert "agg" in failed.stderr and "records[1]" in failed.stderr and "'x'" in failed.stderr


# --- §3/§9 a frozen inferred schema with lists of structs survives a resume ----------------------------

def test_a_resumed_run_keeps_inferred_lists_of_structs_and_always_empty_lists(tmp_path):
    # No schema: `items` is inferred as list<{sku: string, qty: int}> and `tags` (always empty) as a list
    # of null. The schema is recorded in the event log and read back on resume: neither field may be lost.
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.jsonl}
    steps:
      - explode: {field: items, as: item, index: pos}
      - map: {sku: item.sku, qty: item.qty * 10}
      - explode: {field: tags, as: tag, keep_empty: true}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.jsonl": '{"id": 1, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}], "tags": []}\n'
                      '{"id": 2, "items": [{"sku": "c", "qty": 3}], "tags": []}\n'})
    first = flowc("run", "--reset", "--limit", "1", str(path))
    assert first.returncode == 0, first.stderr
    plan = flowc("plan", str(path))
    assert plan.returncode == 0 and "items: list<{sku: string, qty: int}>" in plan.stdout, plan.stdout + plan.stderr
    resumed = flowc("run", str(path))
    assert resumed.returncode == 0, resumed.stderr
    assert [(r["id"], r["pos"], r["sku"], r["qty"], r["tag"]) for r in lines(tmp_path / "out.jsonl")] == [
        (1, 0, "a", 10, None), (1, 1, "b", 20, None), (2, 0, "c", 30, None)]


# --- §4/§5 event time that a step turned into something else is a compile error, not a failed run -----

def _event_time_spec(folder: Path, name: str, step: str, stateful: str) -> Path:
    return write_spec(folder, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: [{{k: a, t: "{at(5)}", v: 1}}, {{k: a, t: "{at(125)}", v: 2}}, {{k: a, t: "{at(7)}", v: 3}}]
    steps:
      - {step}
      - {stateful}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """, name=name)


WINDOWED = "aggregate: {by: [k], window: {type: tumbling, size: 1m}, compute: {vs: collect(v)}}"


def test_event_time_overwritten_or_lost_before_a_window_is_reported_by_validate(tmp_path):
    cases = {  # file -> (step before the stateful one, the stateful one, code expected)
        "map.flow.yaml": ("map: {t: v}", WINDOWED, "E312"),
        "select.flow.yaml": ("select: {k: k, v: v, t: '\"soon\"'}", WINDOWED, "E312"),
        "sql.flow.yaml": ("sql: SELECT k, v, t AS ts FROM input", WINDOWED, "E305"),
        "sql_int.flow.yaml": ("sql: SELECT k, v AS t FROM input", WINDOWED, "E312"),
        "sql_exclude.flow.yaml": ("sql: SELECT * EXCLUDE (t) FROM input", WINDOWED, "E305"),
        "dedupe.flow.yaml": ("map: {t: v}", "dedupe: {key: [k], within: 1m}", "E312"),
    }
    paths = {name: _event_time_spec(tmp_path, name, step, stateful) for name, (step, stateful, _) in cases.items()}
    # a source that declares its event time as text delivers text: a window cannot cut it
    declared = paths["map.flow.yaml"].read_text().replace("t: datetime", "t: string").replace("map: {t: v}", "filter: v > 0")
    paths["declared.flow.yaml"] = tmp_path / "declared.flow.yaml"
    paths["declared.flow.yaml"].write_text(declared)
    cases["declared.flow.yaml"] = ("", "", "E312")
    done = flowc("validate", *map(str, paths.values()))
    assert done.returncode == 1
    for name, (_, _, code) in cases.items():
        assert any(line.startswith(str(paths[name])) and f"error[{code}]" in line
                   for line in done.stdout.splitlines()), (name, done.stdout)
    assert "event-time field 't' is int" in done.stdout and "event-time field 't' is string" in done.stdout


def test_event_time_through_sql_keeps_windows_and_a_dropped_one_makes_dedupe_use_batch_time(tmp_path):
    # SELECT * keeps t: windows as from the source (7 is late: the watermark is 125). A sql step without
    # t leaves the dedupe no event time, so it dedupes on batch time: one batch, so only the first a.
    for query in ("SELECT * FROM input WHERE v > 0", "SELECT * RENAME (t AS ts) FROM input"):  # ts carries it
        kept = _event_time_spec(tmp_path, "kept.flow.yaml", f"sql: {query}", WINDOWED)
        run_ok(kept, "--set", "settings.batch_size=1")
        assert [(secs(r["window_start"]), r["vs"]) for r in lines(tmp_path / "out.jsonl")] == [(0, [1]), (120, [2])]
    dropped = _event_time_spec(tmp_path, "dropped.flow.yaml", "sql: SELECT k, v FROM input",
                               "dedupe: {key: [k], within: 1h}")
    run_ok(dropped)
    assert lines(tmp_path / "out.jsonl") == [{"k": "a", "v": 1}]
