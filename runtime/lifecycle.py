"""A pipeline's state is the fold of its event log (SPEC §9).

    created --run_started--> running --paused--> paused --resumed--> running
    running|paused --stopped--> stopped      running --completed--> completed
    running|paused --failed--> failed        stopped|failed --run_started--> running (resume)

`TRANSITIONS` below is the whole machine: for each event type, the statuses it may follow, the status
it leads to (None: unchanged) and its effect on the rest of the state. A `run_started` while the log
says running/paused is a recovery: the process that was running died (nobody held the lock, which
the caller checked), and the new run resumes from the last checkpoint. `reset` is legal from every
status for the same reason. `describe_status` is how `flowc status` shows a dead run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from flowc.runtime import events as ev


class Status(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"


class IllegalTransition(Exception):
    def __init__(self, from_status: Status, to_status: Status, event: ev.Event) -> None:
        super().__init__(
            f"event {event.seq} ({event.type!r}) would move the pipeline from "
            f"{from_status.value!r} to {to_status.value!r}, which is not allowed"
        )
        self.from_status, self.to_status, self.event = from_status, to_status, event


@dataclass(frozen=True, slots=True)
class Counts:
    read: int = 0
    written: Mapping[str, int] = field(default_factory=dict)  # per sink
    skipped: int = 0
    dead_lettered: int = 0
    late: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Counts:
        return cls(data.get("read", 0), dict(data.get("written", {})), data.get("skipped", 0),
                   data.get("dead_lettered", 0), data.get("late", 0))

    @property
    def nothing(self) -> bool:
        """No record read, written, skipped, dead-lettered or late: a checkpoint of no batch."""
        return not (self.read or any(self.written.values()) or self.skipped or self.dead_lettered or self.late)

    def __add__(self, other: Counts) -> Counts:
        written = dict(self.written)
        for sink, n in other.written.items():
            written[sink] = written.get(sink, 0) + n
        return Counts(self.read + other.read, written, self.skipped + other.skipped,
                      self.dead_lettered + other.dead_lettered, self.late + other.late)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    batch: int
    sources: Mapping[str, Any]
    state: str | None  # CheckpointStore snapshot reference
    sinks: Mapping[str, Any]
    seq: int  # the checkpoint_saved event
    now: str | None = None  # ISO time `now()` has in the batch after this checkpoint (a replay reuses it)


@dataclass(frozen=True, slots=True)
class PipelineState:
    status: Status = Status.CREATED
    spec_hash: str | None = None
    plan_hash: str | None = None
    schema: Any = None
    checkpoint: Checkpoint | None = None
    totals: Counts = Counts()  # batches covered by a checkpoint, since the last reset
    pending: tuple[tuple[int, Counts], ...] = ()  # committed batches no checkpoint covers yet
    runs: int = 0
    recoveries: int = 0  # runs started over a dead running/paused run
    reason: str | None = None  # why the last run failed or stopped (`stop requested`, `--limit reached`)
    output_files: frozenset[str] = frozenset()  # every file a checkpointed sink position names
    last_seq: int = 0
    last_at: str | None = None


def _compiled(state: PipelineState, event: ev.Event) -> PipelineState:
    data = event.data
    return replace(state, spec_hash=data.get("spec_hash"), plan_hash=data.get("plan_hash"),
                   schema=data.get("schema"))


def _run_started(state: PipelineState, event: ev.Event) -> PipelineState:
    # Batches committed after the last checkpoint are replayed by this run: drop their counts.
    crashed = state.status in (Status.RUNNING, Status.PAUSED)
    return replace(state, runs=state.runs + 1, recoveries=state.recoveries + crashed, pending=(), reason=None)


def _batch_committed(state: PipelineState, event: ev.Event) -> PipelineState:
    batch = (event.data["batch"], Counts.from_json(event.data.get("counts", {})))
    return replace(state, pending=(*state.pending, batch))


def _checkpoint_saved(state: PipelineState, event: ev.Event) -> PipelineState:
    data = event.data
    covered = [counts for batch, counts in state.pending if batch <= data["batch"]]
    files = {name for position in data.get("sinks", {}).values() for name in position.get("files", ())}
    return replace(
        state,
        checkpoint=Checkpoint(data["batch"], data.get("sources", {}), data.get("state"), data.get("sinks", {}),
                              event.seq, data.get("now")),
        totals=sum(covered, state.totals),
        pending=tuple((batch, counts) for batch, counts in state.pending if batch > data["batch"]),
        output_files=state.output_files | files,
    )


def _ended(state: PipelineState, event: ev.Event) -> PipelineState:
    return replace(state, reason=event.data.get("reason"))


def _reset(state: PipelineState, event: ev.Event) -> PipelineState:
    return PipelineState()


def _same(state: PipelineState, event: ev.Event) -> PipelineState:
    return state


Effect = Callable[[PipelineState, ev.Event], PipelineState]
_ANY = frozenset(Status)
_RESUMABLE = frozenset({Status.CREATED, Status.STOPPED, Status.FAILED, Status.RUNNING, Status.PAUSED})
_LIVE = frozenset({Status.RUNNING, Status.PAUSED})

# event type -> (statuses it may follow, status it leads to or None for unchanged, effect)
TRANSITIONS: Mapping[str, tuple[frozenset[Status], Status | None, Effect]] = {
    ev.COMPILED: (_RESUMABLE, None, _compiled),
    ev.RUN_STARTED: (_RESUMABLE, Status.RUNNING, _run_started),
    ev.BATCH_COMMITTED: (frozenset({Status.RUNNING}), None, _batch_committed),
    ev.CHECKPOINT_SAVED: (frozenset({Status.RUNNING}), None, _checkpoint_saved),
    ev.ENRICH_RELOADED: (frozenset({Status.RUNNING}), None, _same),
    ev.PAUSED: (frozenset({Status.RUNNING}), Status.PAUSED, _same),
    ev.RESUMED: (frozenset({Status.PAUSED}), Status.RUNNING, _same),
    ev.STOPPED: (_LIVE, Status.STOPPED, _ended),
    ev.COMPLETED: (frozenset({Status.RUNNING}), Status.COMPLETED, _same),
    ev.FAILED: (_LIVE, Status.FAILED, _ended),
    ev.RESET: (_ANY, Status.CREATED, _reset),
}


def apply(state: PipelineState, event: ev.Event) -> PipelineState:
    """The state after `event`, or `IllegalTransition`."""
    allowed_from, target, effect = TRANSITIONS[event.type]
    if state.status not in allowed_from:
        raise IllegalTransition(state.status, target or state.status, event)
    after = effect(state, event)
    return replace(after, status=target or state.status, last_seq=event.seq, last_at=event.at)


def fold(events: Iterable[ev.Event]) -> PipelineState:
    state = PipelineState()
    for event in events:
        state = apply(state, event)
    return state


def history_owner(events: Iterable[ev.Event]) -> str | None:
    """The pipeline whose history the log holds: the one its last `compiled` since the last reset names
    (None when nothing is compiled yet, or the log is from before flowc recorded it)."""
    owner = None
    for event in events:
        if event.type == ev.RESET:
            owner = None
        elif event.type == ev.COMPILED:
            owner = event.data.get("pipeline", owner)
    return owner


def is_crashed(state: PipelineState, lock_holder: int | None) -> bool:
    """The log says a process is running or paused, but no process holds the state directory's lock."""
    return state.status in _LIVE and lock_holder is None


def describe_status(state: PipelineState, lock_holder: int | None) -> str:
    """One line for `flowc status`: the folded status (SPEC §9's states), marked crashed when its process
    is gone."""
    resume_from = f"batch {state.checkpoint.batch}" if state.checkpoint else "the start"
    if is_crashed(state, lock_holder):
        return (f"{state.status.value}, crashed (the log says {state.status.value} since {state.last_at} but "
                f"no process holds the lock; 'flowc run' resumes from {resume_from})")
    if state.status in _LIVE:
        return f"{state.status.value} (pid {lock_holder})"
    if state.status is Status.FAILED:
        return f"failed: {state.reason} ('flowc run' resumes from {resume_from})"
    if state.status is Status.STOPPED:
        why = f": {state.reason}" if state.reason else ""
        return f"stopped{why} ('flowc run' resumes from {resume_from})"
    return state.status.value
