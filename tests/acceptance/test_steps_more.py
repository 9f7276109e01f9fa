"""More acceptance tests for SPEC §4 steps (enrich, dedupe, per-step on_error, compile errors), written
from SPEC.md alone and run through the `flowc` command."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from acceptance_cli import FLOWC, flowc, lines, write_spec


def run_ok(path: Path) -> subprocess.CompletedProcess:
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    return done


def test_enrich_on_key_named_on_and_a_jsonl_table(tmp_path):
    # YAML 1.2: `on:` is the key "on", not the boolean true.
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{user_id: 1, n: a}, {user_id: 2, n: b}, {user_id: 3, n: c}]}
    steps:
      - enrich:
          table: {type: file, path: users.jsonl, format: jsonl}
          on: user_id
          fields: [tier, since]
          how: inner
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"users.jsonl": '{"user_id": 1, "tier": "gold", "since": 2020}\n{"user_id": 3, "tier": null, "since": 2024}\n'})
    run_ok(path)
    assert lines(tmp_path / "out.jsonl") == [{"user_id": 1, "n": "a", "tier": "gold", "since": 2020},
                                             {"user_id": 3, "n": "c", "tier": None, "since": 2024}]


def test_enrich_reload_takes_effect_when_the_table_changes(tmp_path):
    path = write_spec(tmp_path, """
    settings: {batch_timeout: 50ms}
    sources:
      s: {type: file, path: in/*.jsonl, watch: true, schema: {id: int, code: string}}
    steps:
      - enrich: {table: {type: file, path: t.csv, format: csv}, on: code, fields: [name], reload: true}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"t.csv": "code,name\nde,Germany\n", "in/1.jsonl": '{"id": 1, "code": "de"}\n'})
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 1)
        (tmp_path / "t.tmp").write_text("code,name\nde,Deutschland\n")
        (tmp_path / "t.tmp").rename(tmp_path / "t.csv")
        time.sleep(1.0)  # the change is seen at a batch boundary: give it a few
        (tmp_path / "in/2.tmp").write_text('{"id": 2, "code": "de"}\n')
        (tmp_path / "in/2.tmp").rename(tmp_path / "in/2.jsonl")
        _wait_for(lambda: len(out.read_text().splitlines()) >= 2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lines(out) == [{"id": 1, "code": "de", "name": "Germany"}, {"id": 2, "code": "de", "name": "Deutschland"}]


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_dedupe_without_event_time_uses_batch_time(tmp_path):
    path = write_spec(tmp_path, """
    settings: {batch_size: 2}
    sources:
      s: {type: inline, records: [{k: 1, n: a}, {k: 2, n: b}, {k: 1, n: c}, {k: 3, n: d}, {k: 2, n: e}]}
    steps:
      - dedupe: {key: [k], within: 1h}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == ["a", "b", "d"]


def test_dedupe_on_several_key_fields_with_nulls(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s:
        type: inline
        records: [{a: 1, b: x, n: 1}, {a: 1, b: y, n: 2}, {a: 1, b: x, n: 3}, {a: null, b: x, n: 4}, {a: null, b: x, n: 5}]
    steps:
      - dedupe: {key: [a, b], within: 1d}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4]


def test_step_on_error_overrides_the_setting(tmp_path):
    path = write_spec(tmp_path, """
    settings: {on_error: fail}
    sources:
      s: {type: inline, records: [{n: 1}, {n: -1}, {n: 2}]}
    steps:
      - validate: {positive: n > 0}
        on_error: skip
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = run_ok(path)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2]
    assert "skipped=1" in done.stderr


def test_default_on_error_fail_stops_the_run_naming_the_step(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1}, {n: -1}, {n: 2}]}
    steps:
      - name: check
        validate: {positive: n > 0}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = flowc("run", str(path))
    assert done.returncode == 1
    assert "check" in done.stderr and "positive" in done.stderr


def test_explode_of_a_field_that_is_not_a_list_is_a_compile_error(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{n: 1, items: [1]}]}
    steps:
      - explode: n
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert flowc("validate", str(path)).returncode == 1


def test_csv_row_with_the_wrong_number_of_fields_is_a_record_error(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: in.csv, schema: {a: int, b: string}}
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: s.errors}
    """, {"in.csv": "a,b\n1,x\n2,y,extra\n3,z\n"})
    run_ok(path)
    assert lines(tmp_path / "out.jsonl") == [{"a": 1, "b": "x"}, {"a": 3, "b": "z"}]
    [bad] = lines(tmp_path / "bad.jsonl")
    assert "2,y,extra" in json.dumps(bad) and "in.csv" in json.dumps(bad)


def test_an_expression_that_can_fail_is_not_moved_across_a_filter(tmp_path):
    # map then filter: the record the filter would drop still fails its conversion first (an error of
    # map_1); filter then map: the record the filter drops is never converted (no error).
    path = write_spec(tmp_path, """
    settings:
      on_error: dead_letter
      dead_letter: {type: file, path: dead.jsonl}
    sources:
      s: {type: inline, records: [{k: 1, s: "10"}, {k: -1, s: abc}, {k: 2, s: "20"}]}
    steps:
      - map: {n: to_int(s)}
      - filter: k > 0
      - name: guarded
        from: s
        filter: k > 0
      - name: converted
        map: {n: to_int(s)}
    sinks:
      first: {type: file, path: first.jsonl, from: filter_2}
      second: {type: file, path: second.jsonl, from: converted}
    """)
    run_ok(path)
    assert [r["n"] for r in lines(tmp_path / "first.jsonl")] == [10, 20]
    assert [r["n"] for r in lines(tmp_path / "second.jsonl")] == [10, 20]
    [dead] = lines(tmp_path / "dead.jsonl")
    assert dead["_error"]["step"] == "map_1" and dead["k"] == -1


def test_a_conversion_before_validate_fails_in_its_own_step(tmp_path):
    path = write_spec(tmp_path, """
    settings:
      on_error: dead_letter
      dead_letter: {type: file, path: dead.jsonl}
    sources:
      s: {type: inline, records: [{s: "5"}, {s: x}, {s: "-5"}]}
    steps:
      - map: {n: to_int(s)}
      - validate: {positive: n > 0}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [5]
    dead = lines(tmp_path / "dead.jsonl")
    assert sorted((d["s"], d["_error"]["step"]) for d in dead) == [("-5", "validate_2"), ("x", "map_1")]


def test_dedupe_forgets_a_key_once_the_watermark_passes_its_span(tmp_path):
    # within 1m, wm = max: a@0 kept; b@100 moves the watermark past 0 + 60, so a is forgotten and a@50
    # is kept (no kept record of a remains); a@30 is then 20s from the kept a@50: dropped.
    path = write_spec(tmp_path, """
    settings: {batch_size: 1}
    sources:
      s:
        type: inline
        schema: {k: string, t: datetime, n: int}
        event_time: {field: t, max_out_of_orderness: 0s}
        records:
          - {k: a, t: "2026-01-01T00:00:00Z", n: 1}
          - {k: b, t: "2026-01-01T00:01:40Z", n: 2}
          - {k: a, t: "2026-01-01T00:00:50Z", n: 3}
          - {k: a, t: "2026-01-01T00:00:30Z", n: 4}
    steps:
      - dedupe: {key: [k], within: 1m}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    run_ok(path)
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3]
