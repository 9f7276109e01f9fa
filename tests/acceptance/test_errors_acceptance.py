"""Acceptance tests of SPEC §6 (errors in data), written from SPEC.md alone, run through the `flowc` command."""

from __future__ import annotations

import json
from pathlib import Path

from acceptance_cli import flowc, lines
from acceptance_cli import write_spec as spec


def events(folder: Path) -> list[dict]:
    return lines(folder / ".flow/p/events.log")


CONVERT = """
settings: {batch_size: 2, on_error: %s, dead_letter: {type: file, path: dead.jsonl}}
sources:
  s: {type: inline, records: [{s: "1"}, {s: "2"}, {s: "x"}, {s: "4"}, {s: "y"}]}
steps:
  - map: {n: to_int(s)}
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_skip_drops_bad_records_counts_them_and_keeps_the_rest_of_the_batch(tmp_path):
    path = spec(tmp_path, CONVERT % "skip")
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4]
    assert not (tmp_path / "dead.jsonl").exists() or lines(tmp_path / "dead.jsonl") == []
    assert "skipped=2" in done.stderr
    committed = [e for e in events(tmp_path) if e["type"] == "batch_committed"]
    assert sum(e["data"]["counts"]["skipped"] for e in committed) == 2
    assert events(tmp_path)[-1]["data"]["counts"]["skipped"] == 2


def test_dead_letter_envelope_names_step_code_message_and_source_position(tmp_path):
    path = spec(tmp_path, CONVERT % "dead_letter")
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 4]
    dead = lines(tmp_path / "dead.jsonl")
    assert [r["s"] for r in dead] == ["x", "y"]
    for record in dead:
        assert list(record)[-2:] == ["_error", "_source"]
        assert list(record["_error"]) == ["step", "code", "message"]
        assert record["_error"]["step"] == "map_1"
        assert isinstance(record["_error"]["code"], str) and record["_error"]["code"]
        assert "x" in record["_error"]["message"] or "y" in record["_error"]["message"]
        assert list(record["_source"]) == ["name", "position"]
        assert record["_source"]["name"] == "s"
        assert record["_source"]["position"] is not None
    assert dead[0]["_source"]["position"] != dead[1]["_source"]["position"]


def test_reading_step_errors_makes_dead_letter_that_steps_policy(tmp_path):
    path = spec(tmp_path, """
        settings: {batch_size: 2, on_error: fail}
        sources:
          s: {type: inline, records: [{s: "1"}, {s: "x"}, {s: "3"}]}
        steps:
          - name: conv
            map: {n: to_int(s)}
        sinks:
          out: {type: file, path: out.jsonl}
          bad: {type: file, path: bad.jsonl, from: conv.errors}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 3]
    bad = lines(tmp_path / "bad.jsonl")
    assert len(bad) == 1 and bad[0]["s"] == "x"
    assert bad[0]["_error"]["step"] == "conv"


def test_step_on_error_overrides_the_pipeline_policy(tmp_path):
    path = spec(tmp_path, """
        settings: {on_error: fail}
        sources:
          s: {type: inline, records: [{s: "1"}, {s: "x"}, {s: "3"}]}
        steps:
          - map: {n: to_int(s)}
            on_error: skip
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 3]


def test_default_policy_is_fail(tmp_path):
    path = spec(tmp_path, """
        sources:
          s: {type: inline, records: [{s: "1"}, {s: "x"}]}
        steps:
          - map: {n: to_int(s)}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 1
    assert "map_1" in done.stderr


def test_fail_names_step_position_reason_and_keeps_the_checkpoint_at_the_previous_batch(tmp_path):
    data = "n\n1\n2\n3\nx\n5\n"
    path = spec(tmp_path, """
        settings: {batch_size: 2, on_error: fail}
        sources:
          s: {type: file, path: in.csv, format: csv}
        steps:
          - name: conv
            map: {m: to_int(n)}
        sinks:
          out: {type: file, path: out.jsonl}
        """, {"in.csv": data})
    failed = flowc("run", str(path))
    assert failed.returncode == 1
    assert "conv" in failed.stderr
    assert "in.csv" in failed.stderr  # the record's source position: file ...
    assert "5" in failed.stderr  # ... and line (x is on line 5 counting the header)
    assert "x" in failed.stderr  # the reason names the value
    assert [r["m"] for r in lines(tmp_path / "out.jsonl")] == [1, 2]
    status = flowc("status", str(path))
    assert "failed" in status.stdout.lower()
    assert any(e["type"] == "failed" or e["type"].endswith("failed") for e in events(tmp_path))
    (tmp_path / "in.csv").write_text(data.replace("x", "4"))
    resumed = flowc("run", str(path))
    assert resumed.returncode == 0, resumed.stderr
    assert [r["m"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3, 4, 5]


def test_validate_rule_failures_name_the_rules(tmp_path):
    path = spec(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: inline, records: [{n: 1}, {n: -1}, {n: 200}]}
        steps:
          - validate: {positive: n > 0, small: n < 100}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1]
    dead = lines(tmp_path / "dead.jsonl")
    assert [r["n"] for r in dead] == [-1, 200]
    assert dead[0]["_error"]["step"] == "validate_1"
    assert "positive" in dead[0]["_error"]["message"] and "small" not in dead[0]["_error"]["message"]
    assert "small" in dead[1]["_error"]["message"] and "positive" not in dead[1]["_error"]["message"]


def test_dead_letter_policy_without_a_dead_letter_sink_is_a_compile_error(tmp_path):
    path = spec(tmp_path, """
        settings: {on_error: dead_letter}
        sources:
          s: {type: inline, records: [{s: "1"}]}
        steps:
          - map: {n: to_int(s)}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert "dead_letter" in checked.stdout + checked.stderr
    ran = flowc("run", str(path))
    assert ran.returncode == 1
    assert not (tmp_path / "out.jsonl").exists()


def test_step_dead_letter_without_sink_is_a_compile_error_but_read_errors_need_none(tmp_path):
    path = spec(tmp_path, """
        sources:
          s: {type: inline, records: [{s: "1"}]}
        steps:
          - map: {n: to_int(s)}
            on_error: dead_letter
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("validate", str(path)).returncode == 1
    path.write_text(path.read_text() + "  bad: {type: file, path: bad.jsonl, from: map_1.errors}\n")
    checked = flowc("validate", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_malformed_source_line_carries_raw_text_file_and_line(tmp_path):
    data = '{"n": 1}\n{"n": 2\n{"n": 3}\n'
    path = spec(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: file, path: in.jsonl, format: jsonl}
        sinks:
          out: {type: file, path: out.jsonl}
        """, {"in.jsonl": data})
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 3]
    dead = lines(tmp_path / "dead.jsonl")
    assert len(dead) == 1
    text = json.dumps(dead[0])
    assert '{\\"n\\": 2' in text  # the raw text
    assert dead[0]["_source"]["name"] == "s"
    assert "in.jsonl" in json.dumps(dead[0]["_source"]["position"])
    assert "2" in json.dumps(dead[0]["_source"]["position"])
    assert dead[0]["_error"]["step"] == "s"


def test_source_errors_output_read_by_a_sink(tmp_path):
    path = spec(tmp_path, """
        sources:
          s: {type: file, path: in.csv, format: csv, schema: {n: int}}
        sinks:
          out: {type: file, path: out.jsonl}
          bad: {type: file, path: bad.jsonl, from: s.errors}
        """, {"in.csv": "n\n1\nzz\n3\n"})
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 3]
    bad = lines(tmp_path / "bad.jsonl")
    assert len(bad) == 1
    assert "zz" in json.dumps(bad[0])
    assert bad[0]["_source"]["name"] == "s"


def test_late_records_are_dead_lettered_with_code_late_and_counted(tmp_path):
    path = spec(tmp_path, """
        settings: {batch_size: 1, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s:
            type: inline
            event_time: {field: ts, max_out_of_orderness: 0s}
            schema: {ts: datetime, k: string}
            records:
              - {ts: "2026-01-01T00:00:10Z", k: a}
              - {ts: "2026-01-01T00:02:00Z", k: a}
              - {ts: "2026-01-01T00:00:20Z", k: a}
        steps:
          - name: agg
            aggregate:
              by: [k]
              window: {type: tumbling, size: 1m}
              compute: {c: count()}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    out = lines(tmp_path / "out.jsonl")
    assert [list(r) for r in out] == [["k", "window_start", "window_end", "c"]] * 2
    assert [r["c"] for r in out] == [1, 1]
    dead = lines(tmp_path / "dead.jsonl")
    assert len(dead) == 1
    assert dead[0]["_error"]["code"] == "late"
    assert dead[0]["_error"]["step"] == "agg"
    assert dead[0]["_source"]["name"] == "s"
    assert "late=1" in done.stderr


def test_counts_conserve_in_summary_and_event_log(tmp_path):
    path = spec(tmp_path, CONVERT % "dead_letter")
    done = flowc("run", str(path), "--log-format", "json")
    assert done.returncode == 0, done.stderr
    log = events(tmp_path)
    committed = [e["data"]["counts"] for e in log if e["type"] == "batch_committed"]
    assert [c["read"] for c in committed] == [2, 2, 1]  # 5 records in batches of 2
    for counts in committed:
        assert counts["read"] == counts["written"]["out"] + counts["skipped"] + counts["dead_lettered"]
        assert counts["written"]["dead_letter"] == counts["dead_lettered"]
    total = log[-1]["data"]["counts"]
    assert log[-1]["type"] == "completed"
    assert total == {"read": 5, "written": {"out": 3, "dead_letter": 2}, "skipped": 0, "dead_lettered": 2, "late": 0}
    summary = json.loads(done.stderr.splitlines()[-1])
    assert summary["event"] == "summary" and summary["status"] == "completed"
    assert {k: summary[k] for k in total} == total  # the summary counts as the event log names them


def test_records_an_aggregate_made_carry_a_null_source(tmp_path):
    path = spec(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: inline, records: [{k: a, s: "1"}, {k: b, s: "x"}]}
        steps:
          - aggregate: {by: [k], compute: {f: first(s)}}
          - map: {n: to_int(f)}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "out.jsonl") == [{"k": "a", "f": "1", "n": 1}]
    dead = lines(tmp_path / "dead.jsonl")
    assert dead == [{"k": "b", "f": "x", "_error": dead[0]["_error"], "_source": None}]
    assert dead[0]["_error"]["step"] == "map_2" and dead[0]["_error"]["code"]
