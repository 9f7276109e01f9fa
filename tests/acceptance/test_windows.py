"""Acceptance tests for SPEC §4 "Aggregation" and windows, written from SPEC.md alone and run through the
`flowc` command. Expected results are worked out by hand in the comments (times in seconds after
2026-01-01T00:00:00Z, which is aligned to the epoch at every minute)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from acceptance_cli import FLOWC, flowc, lines, write_spec

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def run_ok(path: Path, *args: str) -> None:
    done = flowc("run", "--quiet", "--reset", *args, str(path))
    assert done.returncode == 0, done.stderr


def at(seconds: int) -> str:
    return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def secs(text: str) -> int:
    """A written datetime back to seconds after BASE (whatever ISO-8601 spelling the sink chose)."""
    return int((datetime.fromisoformat(text.replace("Z", "+00:00")) - BASE).total_seconds())


def inline(records: list[tuple]) -> str:
    """(k, t seconds, v) triples as inline records: a YAML flow list on one line."""
    return "[" + ", ".join(f"{{k: {k}, t: \"{at(t)}\", v: {v}}}" for k, t, v in records) + "]"


def windows(records: list[dict], *compute: str) -> list[tuple]:
    return [(r["k"], secs(r["window_start"]), secs(r["window_end"]), *(r[c] for c in compute)) for r in records]


# --- tumbling, with out-of-order and late records ---------------------------------------------------

# max_out_of_orderness 10s, so the watermark is the largest time so far minus 10s.
TUMBLING_EVENTS = [
    ("a", 5, 1),     # wm -5
    ("b", 20, 2),    # wm 10
    ("a", 50, 3),    # wm 40
    ("a", 65, 4),    # wm 55
    ("a", 30, 5),    # wm before it 55 < 60: joins [0, 60)
    ("b", 75, 6),    # wm 65: [0, 60) is emitted
    ("a", 58, 7),    # wm before it 65 >= 60: late
    ("a", 119, 8),   # wm 109
    ("b", 121, 9),   # wm 111
    ("a", 60, 10),   # exactly at 60: belongs to [60, 120), still open (111 < 120)
]
TUMBLING_SPEC = f"""
sources:
  s:
    type: inline
    schema: {{k: string, t: datetime, v: int}}
    event_time: {{field: t, max_out_of_orderness: 10s}}
    records: {inline(TUMBLING_EVENTS)}
steps:
  - name: agg
    aggregate:
      by: [k]
      window: {{type: tumbling, size: 1m}}
      compute:
        n: count()
        total: sum(v)
        first_v: first(v)
        last_v: last(v)
        all_v: collect(v)
sinks:
  out: {{type: file, path: out.jsonl, from: agg}}
  late: {{type: file, path: late.jsonl, from: agg.late}}
"""


@pytest.mark.parametrize("batch_size", ["1", "100000"])
def test_tumbling_window_results_late_records_and_order(tmp_path, batch_size):
    path = write_spec(tmp_path, TUMBLING_SPEC)
    run_ok(path, "--set", f"settings.batch_size={batch_size}")
    out = lines(tmp_path / "out.jsonl")
    assert [list(r) for r in out] == [["k", "window_start", "window_end", "n", "total", "first_v", "last_v",
                                       "all_v"]] * 5
    assert windows(out, "n", "total", "first_v", "last_v", "all_v") == [
        ("a", 0, 60, 3, 9, 1, 5, [1, 3, 5]),
        ("b", 0, 60, 1, 2, 2, 2, [2]),
        ("a", 60, 120, 3, 22, 4, 10, [4, 8, 10]),
        ("b", 60, 120, 1, 6, 6, 6, [6]),
        ("b", 120, 180, 1, 9, 9, 9, [9]),
    ]
    late = lines(tmp_path / "late.jsonl")
    assert [(r["k"], secs(r["t"]), r["v"]) for r in late] == [("a", 58, 7)]


def test_allowed_lateness_window_time_and_late_to_dead_letter(tmp_path):
    # window.time with max_out_of_orderness 0s beside it; allowed_lateness 30s: [0, 60) is emitted when
    # the watermark reaches 90.
    events = [("x", 10, 1), ("x", 70, 2), ("x", 20, 3), ("x", 95, 4), ("x", 30, 5), ("x", 100, 6)]
    path = write_spec(tmp_path, f"""
    settings:
      dead_letter: {{type: file, path: dead.jsonl}}
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        records: {inline(events)}
    steps:
      - aggregate:
          by: [k]
          window: {{type: tumbling, size: 1m, time: t, max_out_of_orderness: 0s, allowed_lateness: 30s}}
          compute: {{n: count(), vs: collect(v)}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    run_ok(path, "--set", "settings.batch_size=1")
    assert windows(lines(tmp_path / "out.jsonl"), "n", "vs") == [("x", 0, 60, 2, [1, 3]), ("x", 60, 120, 3, [2, 4, 6])]
    [dead] = lines(tmp_path / "dead.jsonl")
    assert dead["v"] == 5 and dead["_error"]["code"] == "late" and dead["_error"]["step"] == "aggregate_1"


# --- sliding -------------------------------------------------------------------------------------------

def test_sliding_window_joins_open_windows_and_is_late_only_when_all_emitted(tmp_path):
    # size 2m every 1m, max_out_of_orderness 0s. A record at t is in [m-60, m+60) and [m, m+120), m = t//60*60.
    events = [
        ("g", 30, 1),    # [-60, 60), [0, 120); wm 30
        ("g", 90, 2),    # [0, 120), [60, 180); wm 90: [-60, 60) emitted
        ("g", 50, 3),    # [-60, 60) emitted, [0, 120) open: joins [0, 120) only, not late
        ("g", 200, 4),   # [120, 240), [180, 300); wm 200: [0, 120), [60, 180) emitted
        ("g", 100, 5),   # both its windows emitted: late
        ("g", 170, 6),   # [60, 180) emitted, [120, 240) open: joins it
    ]
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline(events)}
    steps:
      - name: agg
        aggregate:
          by: [k]
          window: {{type: sliding, size: 2m, every: 1m}}
          compute: {{vs: collect(v), total: sum(v)}}
    sinks:
      out: {{type: file, path: out.jsonl, from: agg}}
      late: {{type: file, path: late.jsonl, from: agg.late}}
    """)
    run_ok(path, "--set", "settings.batch_size=2")
    assert windows(lines(tmp_path / "out.jsonl"), "vs", "total") == [
        ("g", -60, 60, [1], 1),
        ("g", 0, 120, [1, 2, 3], 6),
        ("g", 60, 180, [2], 2),
        ("g", 120, 240, [4, 6], 10),
        ("g", 180, 300, [4], 4),
    ]
    assert [r["v"] for r in lines(tmp_path / "late.jsonl")] == [5]


@pytest.mark.parametrize("window", ["{type: sliding, size: 90s, every: 1m}",
                                    "{type: sliding, size: 1001m, every: 1m}"])
def test_sliding_window_size_rules_are_compile_errors(tmp_path, window):
    path = write_spec(tmp_path, f"""
    sources:
      s: {{type: inline, schema: {{t: datetime}}, records: [], event_time: {{field: t, max_out_of_orderness: 0s}}}}
    steps:
      - aggregate: {{window: {window}, compute: {{n: count()}}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    done = flowc("validate", str(path))
    assert done.returncode == 1, done.stdout


# --- session -------------------------------------------------------------------------------------------

def test_session_windows_merge_end_at_last_plus_gap_and_late_rules(tmp_path):
    # gap 30s, max_out_of_orderness 60s (wm = max - 60).
    events = [
        ("u", 10, 11),   # u: [10, 40); wm -50
        ("s", 0, 1),     # A [0, 30)
        ("s", 20, 2),    # A [0, 50)
        ("s", 100, 3),   # B [100, 130); wm 40
        ("s", 75, 4),    # 75 + 30 > 100: joins B -> [75, 130)
        ("s", 150, 5),   # 150 >= 130: C [150, 180); wm 90: u and A emitted
        ("s", 125, 6),   # within B (< 130) and C (125 + 30 > 150): merges them -> [75, 180)
        ("s", 40, 7),    # wm 90 >= 40 + 30: late
        ("s", 300, 8),   # D [300, 330); wm 240: [75, 180) emitted
        ("s", 260, 9),   # 260 + 30 > 240 and touches no session: E [260, 290)
        ("s", 170, 10),  # wm 240 >= 200: late
    ]
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 1m}}
        records: {inline(events)}
    steps:
      - name: sessions
        aggregate:
          by: [k]
          window: {{type: session, gap: 30s}}
          compute: {{vs: collect(v), n: count()}}
    sinks:
      out: {{type: file, path: out.jsonl, from: sessions}}
      late: {{type: file, path: late.jsonl, from: sessions.late}}
    """)
    run_ok(path, "--set", "settings.batch_size=1")
    assert windows(lines(tmp_path / "out.jsonl"), "vs", "n") == [
        ("u", 10, 40, [11], 1),
        ("s", 0, 50, [1, 2], 2),
        ("s", 75, 180, [3, 4, 5, 6], 4),
        ("s", 260, 290, [9], 1),
        ("s", 300, 330, [8], 1),
    ]
    assert [r["v"] for r in lines(tmp_path / "late.jsonl")] == [7, 10]


def test_session_record_joining_an_emitted_session_is_late(tmp_path):
    # gap 30s, wm = max: S [0, 30); 35 starts S2 [35, 65) and emits S; 20 is not late by the watermark
    # rule (35 < 20 + 30) but would join the emitted S: late.
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline([("w", 0, 1), ("w", 35, 2), ("w", 20, 3)])}
    steps:
      - name: sessions
        aggregate: {{by: [k], window: {{type: session, gap: 30s}}, compute: {{vs: collect(v)}}}}
    sinks:
      out: {{type: file, path: out.jsonl, from: sessions}}
      late: {{type: file, path: late.jsonl, from: sessions.late}}
    """)
    run_ok(path)
    assert windows(lines(tmp_path / "out.jsonl"), "vs") == [("w", 0, 30, [1]), ("w", 35, 65, [2])]
    assert [r["v"] for r in lines(tmp_path / "late.jsonl")] == [3]


# --- every aggregation function, without a window ---------------------------------------------------

def test_every_aggregation_function_over_a_bounded_input(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s:
        type: inline
        schema: {g: string, x: int, y: string}
        records:
          - {g: a, x: 3, y: b}
          - {g: a, x: null, y: null}
          - {g: a, x: 1, y: a}
          - {g: a, x: 3, y: b}
          - {g: b, x: null, y: null}
          - {g: c, x: 2, y: a}
          - {g: c, x: 5, y: B}
          - {g: c, x: 7, y: "é"}
          - {g: c, x: 1, y: Z}
    steps:
      - aggregate:
          by: [g]
          compute:
            n: count()
            nx: count(x)
            ny: count_distinct(y)
            total: sum(x)
            mean: avg(x)
            lo: min(x)
            hi: max(x)
            lo_y: min(y)
            hi_y: max(y)
            first_x: first(x)
            last_x: last(x)
            xs: collect(x)
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path, "--set", "settings.batch_size=2")
    got = {r["g"]: r for r in lines(tmp_path / "out.jsonl")}
    assert list(got["a"]) == ["g", "n", "nx", "ny", "total", "mean", "lo", "hi", "lo_y", "hi_y", "first_x",
                              "last_x", "xs"]
    a, b, c = got["a"], got["b"], got["c"]
    assert (a["n"], a["nx"], a["ny"], a["total"], a["lo"], a["hi"]) == (4, 3, 2, 7, 1, 3)
    assert a["mean"] == pytest.approx(7 / 3) and isinstance(a["total"], int)
    assert (a["lo_y"], a["hi_y"], a["first_x"], a["last_x"], a["xs"]) == ("a", "b", 3, 3, [3, None, 1, 3])
    assert b == {"g": "b", "n": 1, "nx": 0, "ny": 0, "total": None, "mean": None, "lo": None, "hi": None,
                 "lo_y": None, "hi_y": None, "first_x": None, "last_x": None, "xs": [None]}
    assert (c["lo_y"], c["hi_y"], c["mean"], c["first_x"], c["last_x"]) == ("B", "é", 3.75, 2, 1)


def test_first_and_last_keep_nulls(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, schema: {g: string, x: int}, records: [{g: a, x: null}, {g: a, x: 1}, {g: a, x: null}]}
    steps:
      - aggregate: {by: [g], compute: {f: first(x), l: last(x), lo: min(x)}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert lines(tmp_path / "out.jsonl") == [{"g": "a", "f": None, "l": None, "lo": 1}]


def test_null_event_time_is_a_record_error_of_the_source(tmp_path):
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records:
          - {{k: a, t: "{at(1)}", v: 1}}
          - {{k: a, t: null, v: 2}}
          - {{k: a, t: "not a time", v: 3}}
          - {{k: a, t: "{at(2)}", v: 4}}
    steps:
      - aggregate: {{by: [k], window: {{type: tumbling, size: 1m}}, compute: {{vs: collect(v)}}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
      bad: {{type: file, path: bad.jsonl, from: s.errors}}
    """)
    run_ok(path)
    assert windows(lines(tmp_path / "out.jsonl"), "vs") == [("a", 0, 60, [1, 4])]
    assert [r["v"] for r in lines(tmp_path / "bad.jsonl")] == [2, 3]


# --- the SPEC's own example, and watermarks over a union ---------------------------------------------

ORDERS_SPEC = """
settings:
  batch_size: 3
  state_dir: .flow/order-analytics
  on_error: dead_letter
  dead_letter: {type: file, path: out/dead.jsonl}

sources:
  orders:
    type: file
    path: data/orders/*.csv
    format: csv
    schema: {order_id: int, ts: datetime, status: string, amount: float, qty: int, country: string}
    event_time: {field: ts, max_out_of_orderness: 30s}

steps:
  - filter: status in ("paid", "shipped") and amount > 10
  - map:
      total: amount * qty
      country: upper(coalesce(country, "zz"))
  - name: per_minute
    aggregate:
      by: [country]
      window: {type: tumbling, size: 1m}
      compute:
        orders: count()
        revenue: sum(total)
        avg_basket: avg(total)

sinks:
  report:
    type: file
    path: out/revenue.jsonl
    format: jsonl
"""

ORDERS_1 = """order_id,ts,status,amount,qty,country
1,2026-01-01T00:00:05Z,paid,20,2,de
2,2026-01-01T00:00:10Z,cancelled,50,1,de
3,2026-01-01T00:00:20Z,shipped,15.5,2,zz
4,2026-01-01T00:00:40Z,paid,5,3,fr
"""
ORDERS_2 = """order_id,ts,status,amount,qty,country
5,2026-01-01T00:01:10Z,paid,11,1,fr
6,2026-01-01T00:00:50Z,paid,12,1,de
7,yesterday,paid,12,1,de
8,2026-01-01T00:02:00Z,paid,100,1,de
9,2026-01-01T00:00:30Z,paid,30,1,de
"""


def test_the_spec_example_pipeline(tmp_path):
    # 2 cancelled and 4 too small are filtered; 6 is out of order but within 30s (wm 40 < 60); 7's ts
    # does not parse (a source record error); after 8 the watermark is 90, so 9 (window end 60) is late.
    (tmp_path / "data/orders").mkdir(parents=True)
    (tmp_path / "data/orders/2026-01-01a.csv").write_text(ORDERS_1)
    (tmp_path / "data/orders/2026-01-01b.csv").write_text(ORDERS_2)
    (tmp_path / "orders.flow.yaml").write_text("version: 1\npipeline: order-analytics\n" + ORDERS_SPEC)
    run_ok(tmp_path / "orders.flow.yaml")
    report = lines(tmp_path / "out/revenue.jsonl")
    assert [list(r) for r in report] == [["country", "window_start", "window_end", "orders", "revenue",
                                          "avg_basket"]] * 4
    assert [(r["country"], secs(r["window_start"]), secs(r["window_end"]), r["orders"], r["revenue"],
             r["avg_basket"]) for r in report] == [
        ("DE", 0, 60, 2, 52.0, 26.0),
        ("ZZ", 0, 60, 1, 31.0, 31.0),
        ("FR", 60, 120, 1, 11.0, 11.0),
        ("DE", 120, 180, 1, 100.0, 100.0),
    ]
    dead = lines(tmp_path / "out/dead.jsonl")
    assert sorted((d["order_id"] if isinstance(d.get("order_id"), int) else d["_error"]["code"]) for d in dead
                  if d["_error"]["code"] == "late") == [9]
    assert len(dead) == 2 and "yesterday" in json.dumps(dead)
    assert (tmp_path / ".flow/order-analytics/events.log").exists()


def test_a_union_step_watermark_is_the_minimum_of_its_inputs(tmp_path):
    # a races ahead to 200s while b is still at 5s and 30s: whatever the interleaving, b's records are
    # not late, because the union's watermark is the minimum over its inputs.
    path = write_spec(tmp_path, f"""
    sources:
      a:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline([("x", 0, 1), ("x", 200, 2)])}
      b:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline([("x", 5, 3), ("x", 30, 4)])}
    steps:
      - union: [a, b]
      - name: agg
        aggregate: {{by: [k], window: {{type: tumbling, size: 1m}}, compute: {{n: count(), total: sum(v)}}}}
    sinks:
      out: {{type: file, path: out.jsonl, from: agg}}
      late: {{type: file, path: late.jsonl, from: agg.late}}
    """)
    run_ok(path, "--set", "settings.batch_size=1")
    assert windows(lines(tmp_path / "out.jsonl"), "n", "total") == [("x", 0, 60, 3, 8), ("x", 180, 240, 1, 2)]
    assert lines(tmp_path / "late.jsonl") == []


def test_aggregate_arguments_are_expressions_and_no_by_gives_window_fields_first(tmp_path):
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline([("A", 1, 2), ("a", 2, 3), ("b", 3, 4), ("B", 90, 5)])}
    steps:
      - aggregate:
          window: {{type: tumbling, size: 1h}}
          compute:
            weighted: sum(v * 10)
            keys: count_distinct(lower(k))
            big: count(if(v > 2, v, null))
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    run_ok(path)
    [rec] = lines(tmp_path / "out.jsonl")
    assert list(rec) == ["window_start", "window_end", "weighted", "keys", "big"]
    assert (secs(rec["window_start"]), secs(rec["window_end"])) == (0, 3600)
    assert (rec["weighted"], rec["keys"], rec["big"]) == (140, 2, 3)


def test_window_state_survives_a_stop_and_resume(tmp_path):
    # Run 1 reads 5s and 70s: [0, 60) is emitted, [60, 120) holds 70s when SIGINT stops the run. Run 2
    # resumes with 50s (late: the watermark is 70), 80s and 130s, which emits [60, 120) with 70s and 80s.
    path = write_spec(tmp_path, """
    settings: {batch_timeout: 50ms}
    sources:
      s:
        type: file
        path: in/*.jsonl
        watch: true
        schema: {t: datetime, v: int}
        event_time: {field: t, max_out_of_orderness: 0s}
    steps:
      - name: agg
        aggregate: {window: {type: tumbling, size: 1m}, compute: {vs: collect(v)}}
    sinks:
      out: {type: file, path: out.jsonl, from: agg}
      late: {type: file, path: late.jsonl, from: agg.late}
    """)
    (tmp_path / "in").mkdir()
    out = tmp_path / "out.jsonl"

    def run_until(count: int, new_file: str, records: list[tuple[int, int]]) -> None:
        (tmp_path / "in/next.tmp").write_text("".join(json.dumps({"t": at(t), "v": v}) + "\n" for t, v in records))
        (tmp_path / "in/next.tmp").rename(tmp_path / "in" / new_file)
        proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while not (out.exists() and len(out.read_text().splitlines()) >= count):
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr and proc.stderr.read()
                time.sleep(0.05)
            time.sleep(0.3)  # the run has checkpointed the batch it wrote
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    run_until(1, "a.jsonl", [(5, 1), (70, 2)])
    run_until(2, "b.jsonl", [(50, 3), (80, 4), (130, 5)])
    assert [(secs(r["window_start"]), r["vs"]) for r in lines(out)] == [(0, [1]), (60, [2, 4])]
    assert [r["v"] for r in lines(tmp_path / "late.jsonl")] == [3]


def test_session_allowed_lateness_keeps_a_session_open(tmp_path):
    # gap 10s, allowed_lateness 30s, wm = max: S [0, 10) is emitted when the watermark reaches 40.
    # 50s: wm 50 emits S. 5s: wm 50 >= 5 + 10 + 30: late. Before that, 8s at wm 35 (< 8 + 40) joins S.
    events = [("k", 0, 1), ("k", 35, 2), ("k", 8, 3), ("k", 50, 4), ("k", 5, 5)]
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline(events)}
    steps:
      - name: sessions
        aggregate: {{by: [k], window: {{type: session, gap: 10s, allowed_lateness: 30s}}, compute: {{vs: collect(v)}}}}
    sinks:
      out: {{type: file, path: out.jsonl, from: sessions}}
      late: {{type: file, path: late.jsonl, from: sessions.late}}
    """)
    run_ok(path, "--set", "settings.batch_size=1")
    assert windows(lines(tmp_path / "out.jsonl"), "vs") == [("k", 0, 18, [1, 3]), ("k", 35, 45, [2]),
                                                              ("k", 50, 60, [4])]
    assert [r["v"] for r in lines(tmp_path / "late.jsonl")] == [5]


def test_day_windows_are_aligned_to_the_epoch_in_utc(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s:
        type: inline
        schema: {t: datetime, v: int}
        event_time: {field: t, max_out_of_orderness: 0s}
        records: [{t: "2026-03-04T23:59:59+02:00", v: 1}, {t: "2026-03-05T13:00:00Z", v: 2}]
    steps:
      - aggregate: {window: {type: tumbling, size: 1d}, compute: {total: sum(v)}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    got = [(r["window_start"][:19], r["window_end"][:19], r["total"]) for r in lines(tmp_path / "out.jsonl")]
    assert got == [("2026-03-04T00:00:00", "2026-03-05T00:00:00", 1), ("2026-03-05T00:00:00", "2026-03-06T00:00:00", 2)]


def test_late_records_without_a_reader_or_dead_letter_are_dropped_and_counted(tmp_path):
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, v: int}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: {inline([("a", 5, 1), ("a", 125, 2), ("a", 6, 3)])}
    steps:
      - aggregate: {{by: [k], window: {{type: tumbling, size: 1m}}, compute: {{vs: collect(v)}}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    done = flowc("run", "--reset", str(path))
    assert done.returncode == 0, done.stderr
    assert windows(lines(tmp_path / "out.jsonl"), "vs") == [("a", 0, 60, [1]), ("a", 120, 180, [2])]
    assert "late=1" in done.stderr.splitlines()[-1]


@pytest.mark.parametrize("batch_size", ["1"])
def test_every_aggregation_function_in_a_window_across_batches(tmp_path, batch_size):
    # One tumbling window [0, 60) per key, its records spread over batches: partial results must merge.
    rows = [("a", 1, 3, "b"), ("a", 2, None, None), ("b", 3, None, None), ("a", 4, 1, "a"), ("a", 5, 3, "b"),
            ("b", 6, 2, "é"), ("a", 7, None, "c"), ("b", 8, 2, "B")]
    records = ", ".join(f'{{k: {k}, t: "{at(t)}", x: {"null" if x is None else x}, y: {"null" if y is None else y}}}'
                        for k, t, x, y in rows)
    path = write_spec(tmp_path, f"""
    sources:
      s:
        type: inline
        schema: {{k: string, t: datetime, x: int, y: string}}
        event_time: {{field: t, max_out_of_orderness: 0s}}
        records: [{records}]
    steps:
      - aggregate:
          by: [k]
          window: {{type: tumbling, size: 1m}}
          compute:
            n: count()
            nx: count(x)
            ny: count_distinct(y)
            total: sum(x)
            mean: avg(x)
            lo: min(y)
            hi: max(x)
            first_x: first(x)
            last_x: last(x)
            xs: collect(x)
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    run_ok(path, "--set", f"settings.batch_size={batch_size}")
    got = [{k: v for k, v in r.items() if k not in ("window_start", "window_end")} for r in lines(tmp_path / "out.jsonl")]
    assert got == [
        {"k": "a", "n": 5, "nx": 3, "ny": 3, "total": 7, "mean": 7 / 3, "lo": "a", "hi": 3, "first_x": 3,
         "last_x": None, "xs": [3, None, 1, 3, None]},
        {"k": "b", "n": 3, "nx": 2, "ny": 2, "total": 4, "mean": 2.0, "lo": "B", "hi": 2, "first_x": None,
         "last_x": 2, "xs": [None, 2, 2]},
    ]


def test_window_time_may_be_a_field_a_map_computes(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{ts: "2026-01-01T00:00:10Z", v: 1}, {ts: "2026-01-01T00:01:10Z", v: 2}]}
    steps:
      - map: {at: parse_timestamp(ts)}
      - aggregate:
          window: {type: tumbling, size: 1m, time: at, max_out_of_orderness: 5s}
          compute: {vs: collect(v)}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert [(secs(r["window_start"]), r["vs"]) for r in lines(tmp_path / "out.jsonl")] == [(0, [1]), (60, [2])]


def test_a_window_without_event_time_is_a_compile_error(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{v: 1}]}
    steps:
      - aggregate: {window: {type: tumbling, size: 1m}, compute: {n: count()}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = flowc("validate", str(path))
    assert done.returncode == 1, done.stdout


def test_windowed_results_order_by_values_code_points_nulls_last(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s:
        type: inline
        schema: {k: string, j: int, t: datetime}
        event_time: {field: t, max_out_of_orderness: 0s}
        records:
          - {k: b, j: 2, t: "2026-01-01T00:00:01Z"}
          - {k: null, j: 1, t: "2026-01-01T00:00:02Z"}
          - {k: a, j: 3, t: "2026-01-01T00:00:03Z"}
          - {k: B, j: null, t: "2026-01-01T00:00:04Z"}
          - {k: a, j: 1, t: "2026-01-01T00:00:05Z"}
          - {k: a, j: null, t: "2026-01-01T00:00:06Z"}
    steps:
      - aggregate: {by: [k, j], window: {type: tumbling, size: 1m}, compute: {n: count()}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert [(r["k"], r["j"]) for r in lines(tmp_path / "out.jsonl")] == [
        ("B", None), ("a", 1), ("a", 3), ("a", None), ("b", 2), (None, 1)]
