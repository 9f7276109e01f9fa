"""`flowc run` end to end, in-process, on real files: every step type against its expected output."""

from __future__ import annotations

from runner_cases import events, records, run, write_spec

ORDERS_CSV = """
id,status,amount,qty,items
1,paid,20.5,2,a|b
2,cancelled,99,1,
3,paid,12,3,c
4,shipped,5,1,d|e|f
"""
SOURCE = """
sources:
  orders:
    type: file
    path: orders.csv
    schema: {id: int, status: string, amount: float, qty: int, items: string}
"""


def run_steps(tmp_path, steps: str, extra: str = "", sink_format: str = "jsonl") -> list[dict]:
    spec = write_spec(tmp_path, f"settings: {{batch_size: 2}}\n{SOURCE}steps:\n{steps}\nsinks:\n"
                                f"  out: {{type: file, path: out.{sink_format}}}\n{extra}",
                      {"orders.csv": ORDERS_CSV})
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output
    return records(tmp_path / "out.jsonl") if sink_format == "jsonl" else []


def test_filter_keeps_true_records_in_order(tmp_path):
    out = run_steps(tmp_path, "  - filter: status != \"cancelled\" and amount > 10")
    assert [r["id"] for r in out] == [1, 3]
    assert out[0] == {"id": 1, "status": "paid", "amount": 20.5, "qty": 2, "items": "a|b"}


def test_map_reads_the_input_record_and_sets_nested_targets(tmp_path):
    out = run_steps(tmp_path, "  - map: {qty: qty * 10, total: amount * qty, user.tier: id + 100}")
    assert out[0] == {"id": 1, "status": "paid", "amount": 20.5, "qty": 20, "items": "a|b", "total": 41.0,
                      "user": {"tier": 101}}


def test_select_drop_rename(tmp_path):
    out = run_steps(tmp_path, "  - select: [id, amount]\n  - rename: {amount: price}")
    assert out[:2] == [{"id": 1, "price": 20.5}, {"id": 2, "price": 99.0}]
    out = run_steps(tmp_path / "b", "  - drop: [status, items, qty]")
    assert out[3] == {"id": 4, "amount": 5.0}
    out = run_steps(tmp_path / "c", "  - select: {key: id, nested.twice: qty * 2}")
    assert out[0] == {"key": 1, "nested": {"twice": 4}}


def test_explode_with_index_and_keep_empty(tmp_path):
    body = """
settings: {batch_size: 2}
sources:
  s:
    type: inline
    records:
      - {k: 1, xs: [10, 20]}
      - {k: 2, xs: []}
      - {k: 3, xs: null}
      - {k: 4, xs: [null, 40]}
    schema: {k: int, xs: list<int>}
steps:
  - {name: plain, explode: xs}
  - {name: kept, from: s, explode: {field: xs, as: x, index: i, keep_empty: true}}
sinks:
  a: {type: file, path: a.jsonl, from: plain}
  b: {type: file, path: b.jsonl, from: kept}
"""
    assert run(write_spec(tmp_path, body), "--quiet").exit_code == 0
    assert records(tmp_path / "a.jsonl") == [{"k": 1, "xs": 10}, {"k": 1, "xs": 20}, {"k": 4, "xs": None},
                                            {"k": 4, "xs": 40}]
    assert [(r["k"], r["x"], r["i"]) for r in records(tmp_path / "b.jsonl")] == [
        (1, 10, 0), (1, 20, 1), (2, None, None), (3, None, None), (4, None, 0), (4, 40, 1)]


def test_union_aligns_fields_and_sql_runs_row_wise(tmp_path):
    body = """
sources:
  a: {type: inline, records: [{id: 1, x: 1}]}
  b: {type: inline, records: [{id: 2.5, y: yes}]}
steps:
  - {name: u, union: [a, b]}
  - {name: q, sql: "SELECT id, x, y FROM input WHERE id > 0"}
sinks:
  out: {type: file, path: out.jsonl}
"""
    assert run(write_spec(tmp_path, body), "--quiet").exit_code == 0
    assert records(tmp_path / "out.jsonl") == [{"id": 1.0, "x": 1, "y": None}, {"id": 2.5, "x": None, "y": "yes"}]


def test_fan_out_every_reader_sees_every_record(tmp_path):
    extra = "  twice: {type: file, path: twice.jsonl}\n"
    out = run_steps(tmp_path, "  - filter: amount > 10", extra=extra)
    assert records(tmp_path / "twice.jsonl") == out and len(out) == 3


def test_validate_dead_letters_with_the_envelope_and_counts_conserve(tmp_path):
    body = f"""
settings: {{batch_size: 2, on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
{SOURCE}
steps:
  - name: checked
    validate: {{cheap: amount > 10, few: qty < 3}}
sinks:
  out: {{type: file, path: out.jsonl}}
"""
    spec = write_spec(tmp_path, body, {"orders.csv": ORDERS_CSV + "5,paid,x,1,z\n"})
    assert run(spec, "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [1, 2]
    dead = records(tmp_path / "dead.jsonl")
    assert [(d["id"], d["_error"]) for d in dead] == [
        (3, {"step": "checked", "code": "validate", "message": "failed rules: few"}),
        (4, {"step": "checked", "code": "validate", "message": "failed rules: cheap"}),
        (5, {"step": "orders", "code": "conversion", "message": "field 'amount': cannot convert 'x' to float"}),
    ]
    assert [d["_source"] for d in dead] == [{"name": "orders", "position": f"orders.csv:{n}"} for n in (4, 5, 6)]
    completed = events(tmp_path)[-1]
    assert completed["type"] == "completed"
    counts = completed["data"]["counts"]
    assert counts["read"] == 5 == counts["written"]["out"] + counts["skipped"] + counts["dead_lettered"]


def test_skip_drops_and_counts(tmp_path):
    body = f"""
settings: {{on_error: skip}}
{SOURCE}
sinks:
  out: {{type: file, path: out.jsonl}}
"""
    spec = write_spec(tmp_path, body, {"orders.csv": ORDERS_CSV + "5,paid,1,x,z\n"})
    assert run(spec, "--quiet").exit_code == 0
    assert len(records(tmp_path / "out.jsonl")) == 4
    assert events(tmp_path)[-1]["data"]["counts"]["skipped"] == 1


def test_fail_stops_at_the_batch_and_names_step_position_and_reason(tmp_path):
    spec = write_spec(tmp_path, f"settings: {{batch_size: 2}}\n{SOURCE}\nsinks:\n  out: {{type: file, path: out.jsonl}}\n",
                      {"orders.csv": ORDERS_CSV + "5,paid,1,x,z\n"})
    result = run(spec)
    assert result.exit_code == 1
    assert ("step 'orders' failed on the record at orders orders.csv:6: conversion: field 'qty': "
            "cannot convert 'x' to int") in result.output
    log = events(tmp_path)
    assert log[-1]["type"] == "failed"
    assert len(records(tmp_path / "out.jsonl")) == 4  # the two good batches before it are kept



NOW_SPEC = """
settings: {batch_size: 2}
sources:
  s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}, {n: 4}, {n: 5}, {n: 6}]}
steps:
  - map: {at: now()}
sinks:
  out: {type: file, path: out.jsonl}
"""


def _run_with_clock(spec_path, year: int):
    from datetime import UTC, datetime, timedelta

    from flowc.compiler.normalize import normalize_spec
    from flowc.dsl.loader import load_document
    from flowc.runtime.events import EventLog
    from flowc.runtime.executor import RunOptions, start
    from flowc.runtime.lifecycle import fold
    from flowc.runtime.run_setup import prepare

    ticks = iter(range(1000))
    clock = lambda: datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=next(ticks))  # noqa: E731
    document, _ = load_document(str(spec_path))
    spec, _ = normalize_spec(document)
    log = EventLog.open(spec.settings.state_dir, clock=clock)
    return start(prepare(spec, document.text, fold(log.events).schema), log, RunOptions(clock=clock))


def _crash_after(folder, keep) -> None:
    """The event log as a run killed right after the event `keep` chooses would have left it."""
    path = folder / ".flow" / "p" / "events.log"
    lines = path.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if keep(__import__("json").loads(line))) + 1
    path.write_text("".join(lines[:cut]))


def test_a_replayed_batch_sees_the_now_its_first_attempt_saw(tmp_path):
    spec_path = write_spec(tmp_path, NOW_SPEC)
    assert _run_with_clock(spec_path, 2026).status == "completed"
    original = (tmp_path / "out.jsonl").read_bytes()
    stamps = [r["at"] for r in records(tmp_path / "out.jsonl")]
    assert len(set(stamps)) == 3  # one `now` per batch, the same within a batch
    saved = [e for e in events(tmp_path) if e["type"] == "checkpoint_saved"]
    assert saved[1]["data"]["now"].startswith("2026-") and stamps[4].startswith(saved[1]["data"]["now"][:19])
    # killed after batch 3 was written but before its checkpoint; resumed with a clock years later
    _crash_after(tmp_path, lambda e: e["type"] == "checkpoint_saved" and e["data"]["batch"] == 2)
    assert _run_with_clock(spec_path, 2031).status == "completed"
    assert (tmp_path / "out.jsonl").read_bytes() == original
    # killed during the very first batch: the now of the run that started it
    _crash_after(tmp_path, lambda e: e["type"] == "run_started")
    assert _run_with_clock(spec_path, 2032).status == "completed"
    assert (tmp_path / "out.jsonl").read_bytes()[:len(original) // 3] == original[:len(original) // 3]
