"""What `flowc status` shows: the fold of the event log, plus who holds the lock, as plain data."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from flowc.runtime.control import requested_pid
from flowc.runtime.events import LOG_NAME, read_events
from flowc.runtime.lifecycle import Counts, describe_status, fold, history_owner, is_crashed
from flowc.runtime.lock import StateLock


def pipeline_status(spec: Any) -> dict[str, Any]:
    """The status of `spec`'s pipeline as JSON-ready data (`EventLogCorrupt` / `IllegalTransition`
    when its log cannot be read)."""
    state_dir = spec.settings.state_dir
    events, torn = read_events(os.path.join(state_dir, LOG_NAME))
    state = fold(events)
    holder = StateLock(state_dir).holder()
    checkpoint = state.checkpoint
    owner = history_owner(events)
    other = owner if owner is not None and owner != spec.pipeline else None  # a copied spec's shared state_dir
    description = describe_status(state, holder)
    if other is not None:
        description += f" (this is the history of pipeline '{other}', not of '{spec.pipeline}')"
    return {
        "pipeline": spec.pipeline,
        "spec": spec.file,
        "state_dir": os.path.abspath(state_dir),
        "status": state.status.value,  # the fold of the log: one of SPEC §9's states
        "crashed": is_crashed(state, holder),  # the log says running or paused, but no process holds the lock
        "description": description,
        "history_of": other,  # another pipeline's name when the log is that pipeline's, else null
        "pid": holder,
        "pause_requested": requested_pid(state_dir) is not None and holder is not None,
        "reason": state.reason,
        "runs": state.runs,
        "recoveries": state.recoveries,
        "checkpoint": None if checkpoint is None else {
            "batch": checkpoint.batch, "at": events[checkpoint.seq - 1].at, "seq": checkpoint.seq},
        "totals": _counts(state.totals),
        "sources": dict(checkpoint.sources) if checkpoint else {},
        # lag per partition (Kafka) or pending files (watch), as the feed saw them at that checkpoint
        "feeds": dict(events[checkpoint.seq - 1].data.get("feeds", {})) if checkpoint else {},
        "last_event": None if not events else {"seq": state.last_seq, "type": events[-1].type, "at": state.last_at},
        "torn_last_line": torn,
        "events": len(events),
    }


def _counts(counts: Counts) -> dict[str, Any]:
    return {"read": counts.read, "written": dict(counts.written), "skipped": counts.skipped,
            "dead_lettered": counts.dead_lettered, "late": counts.late}


def status_text(view: Mapping[str, Any]) -> str:
    rows = [
        ("pipeline", f"{view['pipeline']} ({view['spec']})"),
        ("state dir", view["state_dir"]),
        ("status", view["description"] + (" (a pause is requested)" if view["pause_requested"]
                                          and view["status"] == "running" and not view["crashed"] else "")),
    ]
    if view["runs"]:
        recovered = f", {view['recoveries']} after a crash" if view["recoveries"] else ""
        rows.append(("runs", f"{view['runs']}{recovered}"))
    checkpoint = view["checkpoint"]
    rows.append(("checkpoint", f"batch {checkpoint['batch']} at {checkpoint['at']}" if checkpoint else "none yet"))
    totals = view["totals"]
    written = ", ".join(f"{sink}={n}" for sink, n in totals["written"].items()) or "nothing"
    rows.append(("totals", f"read {totals['read']}, written {written}, skipped {totals['skipped']}, "
                           f"dead-lettered {totals['dead_lettered']}, late {totals['late']}"))
    for name, position in view["sources"].items():
        rows.append((f"source {name}", _position(position)))
    for name, status in view.get("feeds", {}).items():
        rows.append((f"feed {name}", json.dumps(status, sort_keys=True, default=str)))
    if view["last_event"]:
        last = view["last_event"]
        rows.append(("last event", f"#{last['seq']} {last['type']} at {last['at']}"))
    if view["torn_last_line"]:
        rows.append(("note", "the last line of the event log is torn (an interrupted write) and is ignored"))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key + ':':<{width + 1}} {value}" for key, value in rows)


def _position(position: Any) -> str:
    """A file-like source's `{row, done}` as rows read; anything else (feeds) as recorded."""
    if isinstance(position, Mapping) and set(position) == {"row", "done"}:
        rows = 0 if position["row"] is None else position["row"] + 1
        return f"{rows} row{'s' if rows != 1 else ''} read" + (", done" if position["done"] else "")
    if isinstance(position, Mapping):
        return ", ".join(f"{k}={v}" for k, v in position.items())
    return str(position)
