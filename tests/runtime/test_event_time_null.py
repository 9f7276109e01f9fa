"""SPEC §3: a null or unparsable event time is a record error of the source; the other records go on."""

from __future__ import annotations

import pytest
from runner_cases import events, records, run, write_spec

WINDOWED = """
settings: {{on_error: {policy}, batch_size: 2{dead}}}
sources:
  s:
{source}
    event_time: {{field: ts}}
steps:
  - aggregate: {{by: [k], window: {{type: tumbling, size: 1m}}, compute: {{n: count()}}}}
sinks:
  o: {{type: file, path: o.jsonl}}
"""
CSV = "    type: file\n    path: in.csv\n    schema: {k: string, ts: datetime}"
INLINE = ("    type: inline\n    schema: {k: string, ts: datetime}\n    records:\n"
          "      - {k: a, ts: '2026-01-01T00:00:00Z'}\n      - {k: a, ts: null}\n      - {k: a, ts: garbage}\n"
          "      - {k: a, ts: '2026-01-01T00:00:10Z'}")
DATA = {"in.csv": "k,ts\na,2026-01-01T00:00:00Z\na,\na,garbage\na,2026-01-01T00:00:10Z\n"}


@pytest.mark.parametrize(("source", "where"), [(CSV, "in.csv:{}"), (INLINE, "records[{}]")])
def test_a_null_event_time_is_dead_lettered_with_its_position(tmp_path, source, where):
    dead = ", dead_letter: {type: file, path: dead.jsonl}"
    spec = write_spec(tmp_path, WINDOWED.format(policy="dead_letter", dead=dead, source=source), DATA)
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output
    assert [r["n"] for r in records(tmp_path / "o.jsonl")] == [2]
    dead_letters = records(tmp_path / "dead.jsonl")
    assert [(d["_error"]["code"], d["_source"]["position"]) for d in dead_letters] == [
        ("event_time", where.format(3 if source == CSV else 1)), ("conversion", where.format(4 if source == CSV else 2))]
    assert dead_letters[0]["_error"] == {"step": "s", "code": "event_time", "message": "field 'ts' is null"}


def test_skip_counts_it_and_fail_names_it(tmp_path):
    skipping = write_spec(tmp_path / "skip", WINDOWED.format(policy="skip", dead="", source=CSV), DATA)
    assert run(skipping, "--quiet").exit_code == 0
    assert events(tmp_path / "skip")[-1]["data"]["counts"]["skipped"] == 2
    failing = write_spec(tmp_path / "fail", WINDOWED.format(policy="fail", dead="", source=CSV), DATA)
    result = run(failing, "--quiet")
    assert result.exit_code == 1
    assert "in.csv:3" in result.output and "event_time: field 'ts' is null" in result.output


STEP_TIME = """
settings: {{on_error: {policy}{dead}}}
sources:
  s:
    type: inline
    schema: {{k: string, ts: datetime}}
    records: [{{k: a, ts: "2026-01-01T00:00:00Z"}}, {{k: a, ts: null}}, {{k: b, ts: "2026-01-01T00:00:30Z"}}]
steps:
  - name: agg
    aggregate: {{by: [k], window: {{type: tumbling, size: 1m, time: ts}}, compute: {{n: count()}}}}
  - name: dd
    from: s
    dedupe: {{key: [k], within: 1h}}
sinks:
  o: {{type: file, path: o.jsonl, from: agg}}
  d: {{type: file, path: d.jsonl, from: dd}}
{errors}"""


def test_a_null_window_time_is_a_record_error_of_the_aggregate(tmp_path):
    """`window.time` names a field that is not the source's event time: a record where it is null has no
    window; it failed the run with a ValueError before (acceptance audit)."""
    errors = "  e: {type: file, path: e.jsonl, from: agg.errors}\n  l: {type: file, path: l.jsonl, from: agg.late}\n"
    spec = write_spec(tmp_path, STEP_TIME.format(policy="fail", dead="", errors=errors))
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output  # reading agg.errors makes dead_letter its policy
    assert [(r["k"], r["n"]) for r in records(tmp_path / "o.jsonl")] == [("a", 1), ("b", 1)]
    (error,) = records(tmp_path / "e.jsonl")
    assert (error["k"], error["_error"], error["_source"]) == (
        "a", {"step": "agg", "code": "event_time", "message": "field 'ts' is null"},
        {"name": "s", "position": "records[1]"})
    assert [r["k"] for r in records(tmp_path / "d.jsonl")] == ["a", "b"]  # dedupe on batch time: unaffected


@pytest.mark.parametrize("policy", ["skip", "fail"])
def test_the_aggregates_policy_applies(tmp_path, policy):
    result = run(write_spec(tmp_path, STEP_TIME.format(policy=policy, dead="", errors="")), "--quiet")
    if policy == "skip":
        assert result.exit_code == 0, result.output
        assert events(tmp_path)[-1]["data"]["counts"]["skipped"] == 1
    else:
        assert result.exit_code == 1
        assert "step 'agg'" in result.output and "event_time: field 'ts' is null" in result.output
