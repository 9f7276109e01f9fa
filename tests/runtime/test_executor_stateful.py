"""The executor around stateful nodes: one engine per node, fed per batch with its input index, what it
emits flowing on in the same batch, late records enveloped, `end_of_input` once per ended input, state
snapshotted with every checkpoint and restored on resume, and resumes refused when a stateful step
changed (SPEC §4, §6, §9). A small counting engine defined here stands in for the real ones, whose own
runs through `flowc run` close the file."""

from __future__ import annotations

import json

import polars as pl
import pytest
from runner_cases import events, records, run, write_spec

from flowc.compiler import ir
from flowc.compiler.lower_plan import ROW
from flowc.compiler.normalize import normalize_spec
from flowc.dsl.loader import load_document
from flowc.runtime.events import EventLog
from flowc.runtime.executor import RunOptions, RunRefused, start
from flowc.runtime.lifecycle import fold
from flowc.runtime.run_setup import prepare
from flowc.runtime.stateful.base import Emitted


class Counter:
    """Counts records per `k`: emits the running count of each key a batch touched (columns out of
    order, without ROW: the executor conforms them), a marker row per ended input, and records with
    `late: true` as late."""

    def __init__(self, calls: list) -> None:
        self.calls, self.counts = calls, {}

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        self.calls.append(("process", frame.height, input_index, tuple(frame.columns)))
        late, kept = frame.filter(pl.col("late")), frame.filter(~pl.col("late"))
        keys = sorted(set(kept.get_column("k").to_list()))
        for k in kept.get_column("k").to_list():
            self.counts[k] = self.counts.get(k, 0) + 1
        return Emitted(output=_rows([(k, self.counts[k]) for k in keys]), late=late if late.height else None)

    def end_of_input(self, input_index: int = 0) -> Emitted:
        self.calls.append(("end", input_index))
        return Emitted(output=_rows([(f"end-{input_index}", 99)]))

    def snapshot(self):
        return {"counts": pl.DataFrame({"k": list(self.counts), "n": list(self.counts.values())},
                                       schema={"k": pl.String, "n": pl.Int64})}

    def restore(self, parts) -> None:
        self.calls.append(("restore", dict(zip(parts["counts"]["k"], parts["counts"]["n"], strict=True))))
        self.counts = dict(zip(parts["counts"]["k"], parts["counts"]["n"], strict=True))


def _rows(pairs: list[tuple[str, int]]) -> pl.DataFrame | None:
    if not pairs:
        return None
    null = pl.Series([None] * len(pairs), dtype=pl.Datetime("us", "UTC"))
    return pl.DataFrame({"n": [n for _, n in pairs], "window_end": null, "k": [k for k, _ in pairs],
                         "window_start": null})


def records_of(*keys: str) -> str:
    return "[" + ", ".join(f'{{k: {k.rstrip("!")}, t: "2026-01-01T00:00:0{i}Z", late: {str(k.endswith("!")).lower()}}}'
                           for i, k in enumerate(keys)) + "]"


TYPES = "{k: string, t: datetime, late: bool}"  # the window time is a datetime (E312)
UNION = f"""
settings: {{batch_size: 2}}
sources:
  a: {{type: inline, records: {records_of("x", "y!", "x")}, schema: {TYPES}}}
  b: {{type: inline, records: {records_of("x", "z")}, schema: {TYPES}}}
steps:
  - {{name: u, union: [a, b]}}
  - {{name: agg, aggregate: {{by: [k], window: {{type: tumbling, size: 1m, time: t}}, compute: {{n: count()}}}}}}
  - {{name: big, filter: n >= 2}}
sinks:
  out: {{type: file, path: out.jsonl, from: big}}
  late: {{type: file, path: late.jsonl, from: agg.late}}
"""


def spec_in(folder, body: str):
    folder.mkdir(parents=True, exist_ok=True)
    return write_spec(folder, body)


def run_here(spec_path, calls: list, limit: int | None = None):
    document, _ = load_document(str(spec_path))
    spec, problems = normalize_spec(document)
    assert not problems, problems
    log = EventLog.open(spec.settings.state_dir)
    prepared = prepare(spec, document.text, fold(log.events).schema)

    def build(node, plan, base_dir, clock):
        assert isinstance(node, ir.Aggregate) and plan is prepared.plan
        return Counter(calls)

    return start(prepared, log, RunOptions(limit=limit, build_engine=build))


def test_engine_is_fed_per_batch_with_input_index_and_its_output_flows_on_in_the_same_batch(tmp_path):
    calls: list = []
    outcome = run_here(spec_in(tmp_path, UNION), calls)
    assert outcome.status == "completed"
    columns = ("k", "t", "late", ROW)
    assert calls == [("process", 2, 0, columns), ("process", 1, 0, columns), ("end", 0),
                     ("process", 2, 1, columns), ("end", 1)]
    out = records(tmp_path / "out.jsonl")
    assert [(r["k"], r["n"]) for r in out] == [("x", 2), ("end-0", 99), ("x", 3), ("end-1", 99)]
    assert list(out[0]) == ["k", "window_start", "window_end", "n"]  # the plan's order, ROW dropped
    committed = [e["data"]["counts"] for e in events(tmp_path) if e["type"] == "batch_committed"]
    # each in its own batch; the run's end moved no record, so it is a checkpoint but no batch
    assert [c["written"].get("out", 0) for c in committed] == [0, 1, 1, 1, 1]


def test_late_records_are_enveloped_for_the_late_readers_and_counted(tmp_path):
    run_here(spec_in(tmp_path, UNION), [])
    (late,) = records(tmp_path / "late.jsonl")
    assert late == {"k": "y", "t": "2026-01-01T00:00:01.000000Z", "late": True,
                    "_error": {"step": "agg", "code": "late",
                               "message": "arrived after its window was emitted (the watermark had passed it)"},
                    "_source": {"name": "a", "position": "records[1]"}}
    assert events(tmp_path)[-1]["data"]["counts"]["late"] == 1


def test_unread_late_goes_to_the_dead_letter_sink_else_is_dropped_and_counted(tmp_path):
    body = UNION.replace("  late: {type: file, path: late.jsonl, from: agg.late}\n", "")
    with_sink = body.replace("settings: {batch_size: 2}",
                             "settings: {batch_size: 2, dead_letter: {type: file, path: dead.jsonl}}")
    run_here(spec_in(tmp_path / "dl", with_sink), [])
    assert [(r["k"], r["_error"]["code"]) for r in records(tmp_path / "dl" / "dead.jsonl")] == [("y", "late")]
    run_here(spec_in(tmp_path / "none", body), [])
    assert sorted(p.name for p in (tmp_path / "none").iterdir() if p.suffix == ".jsonl") == ["out.jsonl"]
    assert events(tmp_path / "none")[-1]["data"]["counts"]["late"] == 1


def test_state_is_snapshotted_every_checkpoint_pruned_and_restored_on_resume(tmp_path):
    calls: list = []
    spec_path = spec_in(tmp_path, UNION)
    outcomes = [run_here(spec_path, calls, limit=1).status for _ in range(4)]  # a record per source per run
    assert outcomes == ["stopped", "stopped", "completed", "already_completed"]
    restores = [c[1] for c in calls if c[0] == "restore"]
    assert restores == [{"x": 2}, {"x": 2, "z": 1}]  # what the previous run's last checkpoint held
    assert [c for c in calls if c[0] == "end"] == [("end", 1), ("end", 0)]  # once each over the whole history
    # the counts go on from the restored state: x reaches 3 in the third run
    assert [(r["k"], r["n"]) for r in records(tmp_path / "out.jsonl")] == [
        ("x", 2), ("end-1", 99), ("x", 3), ("end-0", 99)]
    saved = [e["data"]["state"] for e in events(tmp_path) if e["type"] == "checkpoint_saved"]
    assert all(s is not None for s in saved)
    assert [p.name for p in (tmp_path / ".flow" / "p" / "state").iterdir()] == [saved[-1].split("/")[1]]


@pytest.mark.parametrize(("change", "problem"), [
    (("size: 1m", "size: 2m"), "stateful step 'agg' changed since the last checkpoint"),
    (("name: agg,", "name: agg2,"), "stateful step 'agg' was removed or renamed"),
])
def test_resume_is_refused_when_a_stateful_step_changed(tmp_path, change, problem):
    spec_path = spec_in(tmp_path, UNION.replace("agg.late", "big"))
    assert run_here(spec_path, [], limit=1).status == "stopped"
    spec_path.write_text(spec_path.read_text().replace(*change))
    with pytest.raises(RunRefused, match=problem) as refused:
        run_here(spec_path, [])
    assert "run with --reset to start over" in str(refused.value)


def test_a_new_stateful_step_is_refused_and_a_changed_stateless_step_is_not(tmp_path):
    plain = UNION.replace("agg.late", "big")
    spec_path = spec_in(tmp_path, plain)
    assert run_here(spec_path, [], limit=1).status == "stopped"
    spec_path.write_text(spec_path.read_text().replace("n >= 2", "n >= 3"))
    assert run_here(spec_path, [], limit=1).status == "stopped"
    spec_path.write_text(spec_path.read_text().replace(
        "  - {name: big", "  - {name: d, dedupe: {key: [k]}}\n  - {name: big"))
    with pytest.raises(RunRefused, match="stateful step 'd' is new since the last checkpoint"):
        run_here(spec_path, [])


WINDOWED = """
settings: {batch_size: 3, dead_letter: {type: file, path: dead.jsonl}}
sources:
  orders:
    type: inline
    records:
      - {c: de, ts: "2026-01-01T00:00:10Z", amount: 1}
      - {c: fr, ts: "2026-01-01T00:00:50Z", amount: 2}
      - {c: de, ts: "2026-01-01T00:01:05Z", amount: 3}
      - {c: de, ts: "2026-01-01T00:00:20Z", amount: 4}
      - {c: de, ts: "2026-01-01T00:02:30Z", amount: 5}
      - {c: fr, ts: "2026-01-01T00:00:40Z", amount: 6}
    schema: {c: string, ts: datetime, amount: int}
    event_time: {field: ts, max_out_of_orderness: 10s}
steps:
  - name: per_minute
    aggregate:
      by: [c]
      window: {type: tumbling, size: 1m}
      compute: {n: count(), total: sum(amount)}
  - map: {total: total * 10}
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_real_windowed_aggregate_runs_through_flowc_run(tmp_path):
    result = run(spec_in(tmp_path, WINDOWED), "--quiet")
    assert result.exit_code == 0, result.output
    minute = "2026-01-01T00:0{}:00.000000Z"
    assert [(r["c"], r["window_start"], r["n"], r["total"]) for r in records(tmp_path / "out.jsonl")] == [
        ("de", minute.format(0), 2, 50), ("fr", minute.format(0), 1, 20), ("de", minute.format(1), 1, 30),
        ("de", minute.format(2), 1, 50)]
    (late,) = records(tmp_path / "dead.jsonl")  # 00:00:40 came after the watermark passed 00:01:00
    assert (late["c"], late["amount"], late["_error"]["code"], late["_source"]) == (
        "fr", 6, "late", {"name": "orders", "position": "records[5]"})
    assert json.loads(json.dumps(events(tmp_path)[-1]["data"]["counts"]))["late"] == 1


def test_an_enrich_table_reloaded_mid_run_is_logged_at_the_batch_it_takes_effect(tmp_path):
    import time

    body = """
    settings: {batch_size: 2}
    sources:
      s: {type: inline, records: [{k: 1}, {k: 2}, {k: 1}, {k: 2}, {k: 1}, {k: 2}, {k: 1}, {k: 2}]}
    steps:
      - {name: e, enrich: {table: {type: file, path: t.csv}, on: k, reload: true}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    spec_path = write_spec(tmp_path, body, {"t.csv": "k,name\n1,one\n2,two\n"})

    # Batch 1 is reported once it is durable, which is after batch 2 ran (its sinks are written one batch
    # behind, runtime/behind.py): the table replaced then takes effect at batch 3.
    def replace_table(report) -> None:
        if report.batch == 1:
            (tmp_path / "t.new").write_text("k,name\n1,uno\n2,dos\n")
            (tmp_path / "t.new").rename(tmp_path / "t.csv")
            time.sleep(0.5)  # the watcher's event arrives before the next batch boundary

    document, _ = load_document(str(spec_path))
    spec, _ = normalize_spec(document)
    outcome = start(prepare(spec, document.text), EventLog.open(spec.settings.state_dir),
                    RunOptions(on_batch=replace_table))
    assert outcome.status == "completed"
    assert [r["name"] for r in records(tmp_path / "out.jsonl")] == ["one", "two"] * 2 + ["uno", "dos"] * 2
    (reloaded,) = [e for e in events(tmp_path) if e["type"] == "enrich_reloaded"]
    assert (reloaded["data"]["batch"], reloaded["data"]["step"]) == (3, "e")
    assert reloaded["data"]["path"].endswith("t.csv")


def test_errors_of_records_an_aggregate_made_have_a_null_source(tmp_path):
    body = """
    settings: {batch_size: 2, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: inline, records: [{k: a}, {k: b}, {k: a}], schema: {k: string}}
    steps:
      - aggregate: {by: [k], compute: {n: count()}}
      - {name: check, validate: {several: n > 1}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    assert run(spec_in(tmp_path, body), "--quiet").exit_code == 0
    assert records(tmp_path / "out.jsonl") == [{"k": "a", "n": 2}]
    assert records(tmp_path / "dead.jsonl") == [
        {"k": "b", "n": 1, "_error": {"step": "check", "code": "validate", "message": "failed rules: several"},
         "_source": None}]


def test_an_enrich_table_without_schema_is_read_for_the_plan_so_later_steps_are_typed(tmp_path):
    body = """
    sources:
      s: {type: inline, records: [{k: de}, {k: fr}]}
    steps:
      - {name: e, enrich: {table: {type: file, path: t.csv}, on: k}}
      - map: {twice: pop * 2}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    spec_path = write_spec(tmp_path, body, {"t.csv": "k,pop\nde,83\nfr,68\n"})
    result = run(spec_path, "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"k": "de", "pop": 83, "twice": 166}, {"k": "fr", "pop": 68, "twice": 136}]
    document, _ = load_document(str(spec_path))
    spec, _ = normalize_spec(document)
    prepared = prepare(spec, document.text)
    assert str(prepared.tables["e"]) == "{k: string, pop: int}"


def test_an_aggregate_of_an_aggregate_of_a_union_sees_one_input_and_ends_once_both_sources_end(tmp_path):
    body = """
    settings: {batch_size: 2}
    sources:
      a:
        type: inline
        schema: {k: string, t: datetime}
        records: [{k: x, t: "2026-01-01T00:00:10Z"}, {k: y, t: "2026-01-01T00:01:10Z"}, {k: x, t: "2026-01-01T00:02:10Z"}]
        event_time: {field: t}
      b:
        type: inline
        schema: {k: string, t: datetime}
        records: [{k: x, t: "2026-01-01T00:00:20Z"}, {k: x, t: "2026-01-01T00:03:20Z"}]
        event_time: {field: t}
    steps:
      - {name: u, union: [a, b]}
      - {name: per_minute, aggregate: {by: [k], window: {type: tumbling, size: 1m}, compute: {n: count()}}}
      - {name: windows, aggregate: {by: [k], compute: {windows: count(), records: sum(n)}}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    result = run(spec_in(tmp_path, body), "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"k": "x", "windows": 3, "records": 4}, {"k": "y", "windows": 1, "records": 1}]


def test_a_step_can_read_the_late_output(tmp_path):
    body = UNION.replace("  late: {type: file, path: late.jsonl, from: agg.late}\n",
                         "  late: {type: file, path: late.jsonl, from: tagged}\n")
    body = body.replace("  - {name: big, filter: n >= 2}\n",
                        "  - {name: big, filter: n >= 2}\n  - {name: tagged, from: agg.late, select: {key: k, why: _error.code}}\n")
    run_here(spec_in(tmp_path, body), [])
    assert records(tmp_path / "late.jsonl") == [{"key": "y", "why": "late"}]


def test_a_damaged_snapshot_fails_the_resume_with_its_reason(tmp_path):
    spec_path = spec_in(tmp_path, UNION)
    assert run_here(spec_path, [], limit=1).status == "stopped"
    (part,) = (tmp_path / ".flow" / "p" / "state").glob("*/part-000.*")
    part.write_bytes(part.read_bytes()[:-8] + b"damaged!")
    outcome = run_here(spec_path, [])
    assert outcome.status == "failed"
    assert "fails its checksum" in outcome.reason and "'agg/counts'" in outcome.reason
    assert events(tmp_path)[-1]["type"] == "failed"


def test_a_missing_enrich_table_is_a_clear_error_before_the_run(tmp_path):
    body = """
    sources:
      s: {type: inline, records: [{k: de}]}
    steps:
      - {name: e, enrich: {table: {type: file, path: missing.csv}, on: k}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    result = run(spec_in(tmp_path, body))
    assert result.exit_code == 1
    assert "error: enrich step 'e': no table file matches 'missing.csv'" in result.output
