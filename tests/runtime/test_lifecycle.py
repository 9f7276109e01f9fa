import itertools
from typing import Any

import pytest

from flowc.runtime import events as ev
from flowc.runtime.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    PipelineState,
    Status,
    apply,
    describe_status,
    fold,
    is_crashed,
)

S = Status
DATA: dict[str, dict[str, Any]] = {
    ev.COMPILED: {"spec_hash": "s1", "plan_hash": "p1", "schema": {"x": "int"}},
    ev.BATCH_COMMITTED: {"batch": 1, "counts": {"read": 5, "written": {"out": 4}, "skipped": 1}},
    ev.CHECKPOINT_SAVED: {"batch": 1, "sources": {"in": 5}, "state": "state/000000000001",
                          "sinks": {"out": {"files": ["out/a.jsonl"]}}},
    ev.FAILED: {"reason": "boom"},
}
# What the SPEC's diagram allows, written out independently of TRANSITIONS: status -> {event: next}.
EXPECTED = {
    S.CREATED: {ev.COMPILED: S.CREATED, ev.RUN_STARTED: S.RUNNING, ev.RESET: S.CREATED},
    S.RUNNING: {ev.COMPILED: S.RUNNING, ev.RUN_STARTED: S.RUNNING, ev.BATCH_COMMITTED: S.RUNNING,
                ev.CHECKPOINT_SAVED: S.RUNNING, ev.PAUSED: S.PAUSED, ev.STOPPED: S.STOPPED,
                ev.COMPLETED: S.COMPLETED, ev.FAILED: S.FAILED, ev.RESET: S.CREATED, ev.ENRICH_RELOADED: S.RUNNING},
    S.PAUSED: {ev.COMPILED: S.PAUSED, ev.RUN_STARTED: S.RUNNING, ev.RESUMED: S.RUNNING,
               ev.STOPPED: S.STOPPED, ev.FAILED: S.FAILED, ev.RESET: S.CREATED},
    S.STOPPED: {ev.COMPILED: S.STOPPED, ev.RUN_STARTED: S.RUNNING, ev.RESET: S.CREATED},
    S.COMPLETED: {ev.RESET: S.CREATED},
    S.FAILED: {ev.COMPILED: S.FAILED, ev.RUN_STARTED: S.RUNNING, ev.RESET: S.CREATED},
}
REACH = {S.CREATED: [], S.RUNNING: [ev.RUN_STARTED], S.PAUSED: [ev.RUN_STARTED, ev.PAUSED],
         S.STOPPED: [ev.RUN_STARTED, ev.STOPPED], S.COMPLETED: [ev.RUN_STARTED, ev.COMPLETED],
         S.FAILED: [ev.RUN_STARTED, ev.FAILED]}


def events_of(*types: str, data: dict[str, dict[str, Any]] | None = None) -> list[ev.Event]:
    out = []
    for seq, type_ in enumerate(types, start=1):
        payload = (data or DATA).get(type_, {})
        at = f"2026-01-01T00:00:{seq:02d}.000000Z"
        out.append(ev.Event(seq, at, type_, payload, ev.checksum(seq, at, type_, payload)))
    return out


def test_the_table_covers_every_event_type() -> None:
    assert set(TRANSITIONS) == ev.EVENT_TYPES


@pytest.mark.parametrize(("status", "event_type"), list(itertools.product(Status, sorted(ev.EVENT_TYPES))))
def test_every_transition_is_allowed_or_refused_as_the_diagram_says(status: Status, event_type: str) -> None:
    before = fold(events_of(*REACH[status]))
    assert before.status is status
    event = events_of(*REACH[status], event_type)[-1]
    expected = EXPECTED[status].get(event_type)
    if expected is None:
        with pytest.raises(IllegalTransition) as caught:
            apply(before, event)
        assert caught.value.from_status is status
        assert f"from {status.value!r}" in str(caught.value) and repr(event_type) in str(caught.value)
    else:
        assert apply(before, event).status is expected


def test_illegal_transition_names_the_target_status() -> None:
    with pytest.raises(IllegalTransition, match="from 'completed' to 'paused'"):
        fold(events_of(ev.RUN_STARTED, ev.COMPLETED, ev.PAUSED))


def test_fold_collects_hashes_checkpoint_counts_and_output_files() -> None:
    second = {**DATA, ev.CHECKPOINT_SAVED: {**DATA[ev.CHECKPOINT_SAVED], "batch": 2,
                                           "sinks": {"out": {"files": ["out/b.jsonl"]}}},
              ev.BATCH_COMMITTED: {"batch": 2, "counts": {"read": 1, "written": {"out": 1, "dead": 1},
                                                          "dead_lettered": 1, "late": 2}}}
    state = fold([*events_of(ev.COMPILED, ev.RUN_STARTED, ev.BATCH_COMMITTED, ev.CHECKPOINT_SAVED),
                  *events_of(*["x"] * 4, ev.BATCH_COMMITTED, ev.CHECKPOINT_SAVED, ev.COMPLETED, data=second)[4:]])
    assert (state.status, state.spec_hash, state.plan_hash, state.schema) == (S.COMPLETED, "s1", "p1", {"x": "int"})
    assert state.checkpoint is not None and (state.checkpoint.batch, state.checkpoint.seq) == (2, 6)
    assert state.totals.read == 6 and dict(state.totals.written) == {"out": 5, "dead": 1}
    assert (state.totals.skipped, state.totals.dead_lettered, state.totals.late) == (1, 1, 2)
    assert state.output_files == {"out/a.jsonl", "out/b.jsonl"}
    assert (state.runs, state.last_seq, state.last_at) == (1, 7, "2026-01-01T00:00:07.000000Z")


def test_batches_no_checkpoint_covers_are_not_counted_when_a_run_restarts() -> None:
    state = fold(events_of(ev.RUN_STARTED, ev.BATCH_COMMITTED, ev.CHECKPOINT_SAVED, ev.BATCH_COMMITTED,
                           ev.RUN_STARTED))
    assert state.totals.read == 5 and state.pending == ()
    assert (state.runs, state.recoveries) == (2, 1)


def test_reset_forgets_everything() -> None:
    state = fold(events_of(ev.COMPILED, ev.RUN_STARTED, ev.BATCH_COMMITTED, ev.CHECKPOINT_SAVED, ev.FAILED,
                           ev.RESET))
    assert state == PipelineState(last_seq=6, last_at="2026-01-01T00:00:06.000000Z")


def test_failed_keeps_its_reason_until_the_next_run() -> None:
    failed = fold(events_of(ev.RUN_STARTED, ev.FAILED))
    assert failed.reason == "boom"
    assert describe_status(failed, None) == "failed: boom ('flowc run' resumes from the start)"
    assert fold(events_of(ev.RUN_STARTED, ev.FAILED, ev.RUN_STARTED)).reason is None


@pytest.mark.parametrize("status", [S.RUNNING, S.PAUSED])
def test_a_live_status_without_a_lock_holder_shows_as_crashed(status: Status) -> None:
    state = fold(events_of(ev.RUN_STARTED, ev.BATCH_COMMITTED, ev.CHECKPOINT_SAVED,
                           *REACH[status][1:]))
    assert is_crashed(state, None) and not is_crashed(state, 4242)
    assert describe_status(state, None).startswith(f"{status.value}, crashed (the log says {status.value} since")
    assert describe_status(state, None).endswith("'flowc run' resumes from batch 1)")
    assert describe_status(state, 4242) == f"{status.value} (pid 4242)"


@pytest.mark.parametrize("status", [S.CREATED, S.STOPPED, S.COMPLETED])
def test_settled_statuses_are_never_crashed(status: Status) -> None:
    state = fold(events_of(*REACH[status]))
    assert not is_crashed(state, None)
    assert describe_status(state, None).startswith(status.value)
