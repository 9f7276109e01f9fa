"""Whether and how a run resumes from the last checkpoint (SPEC §9).

A checkpoint resumes only with the same sources and the same stateful steps: `compiled` records each
stateful step's definition hash (`flowc.compiler.plan_stateful.definition`), and a step changed,
removed, renamed or added since refuses the run. `first_now` is the `now()` of a run's first batch,
recorded so that a batch replayed after a crash sees what its first attempt saw.

`--reset` starts over and removes the outputs the log says this pipeline wrote since its last reset:
`compiled` records every file sink's path and form before a run writes anything (`file_sinks`), and
each checkpoint's sink positions repeat them (logs written before `compiled` had them). Kafka and
console sinks leave nothing to remove.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from flowc.compiler import ir
from flowc.compiler.plan import Plan
from flowc.compiler.plan_stateful import definition
from flowc.runtime import events as ev
from flowc.runtime.lifecycle import PipelineState, history_owner
from flowc.runtime.run_setup import Prepared, source_hashes, sources_hash
from flowc.runtime.sinks.backends import BACKENDS, COMPRESSIONS
from flowc.runtime.sinks.file_writer import FileSinkWriter
from flowc.runtime.sinks.rotation import rotated_index_pattern


class RunRefused(Exception):
    """The state directory cannot be resumed with this spec (the message says why and what to do)."""


def stateful_definitions(plan: Plan) -> dict[str, str]:
    return {n.step: definition(n) for n in plan.nodes if isinstance(n, ir.STATEFUL)}


def first_now(log: ev.EventLog, state: PipelineState) -> datetime | None:
    """The `now` of the first batch this run makes: the one the last checkpoint recorded for its next
    batch, or (no checkpoint yet) the one an earlier run of this history started with."""
    if state.checkpoint is not None:
        recorded = state.checkpoint.now
    else:
        started = [e for e in log.events if e.type in (ev.RUN_STARTED, ev.RESET)]
        first = next((e for e in reversed(started) if e.type == ev.RESET), None)
        since = [e for e in started if first is None or e.seq > first.seq]
        recorded = since[0].data.get("now") if since else None
    return datetime.fromisoformat(recorded) if recorded else None


def ensure_same_pipeline(prepared: Prepared, log: ev.EventLog) -> None:
    """A state directory holds one pipeline's history. A spec copied under a new `pipeline:` name that
    kept an explicit `settings.state_dir` would otherwise resume the other pipeline's checkpoint (its
    new sinks missing what that one read before), or find it completed and run nothing."""
    owner = history_owner(log.events)
    if owner is not None and owner != prepared.spec.pipeline:
        raise RunRefused(f"{log.path.parent} holds the history of pipeline '{owner}', not "
                         f"'{prepared.spec.pipeline}': give this pipeline its own settings.state_dir (--reset "
                         f"would start it over there, removing the outputs '{owner}' wrote)")


def ensure_compatible(prepared: Prepared, log: ev.EventLog, state: PipelineState) -> None:
    """SPEC §9: a checkpoint resumes only with the same sources and the same stateful steps (same name
    and definition); stateless steps, sinks and settings may change."""
    if state.checkpoint is None:
        return
    compiled = [e for e in log.events if e.type == ev.COMPILED]
    data = compiled[-1].data if compiled else {}
    recorded = data.get("sources_hash")
    if recorded is not None and recorded != sources_hash(prepared.spec):
        raise RunRefused(f"{_changed_sources(data.get('source_hashes'), source_hashes(prepared.spec))} since "
                         "the last checkpoint, so its positions mean nothing now; run with --reset to start over")
    before, now = data.get("stateful", {}), stateful_definitions(prepared.plan)
    for step in sorted(before.keys() | now.keys()):
        if step not in now:
            problem = "was removed or renamed since the last checkpoint, which holds its state"
        elif step not in before:
            problem = "is new since the last checkpoint: its state would lack every record read before it"
        elif before[step] != now[step]:
            problem = "changed since the last checkpoint, so the state saved for it does not fit it"
        else:
            continue
        raise RunRefused(f"stateful step '{step}' {problem}; run with --reset to start over")


def _changed_sources(before: Any, now: Mapping[str, str]) -> str:
    """Which sources changed, as "source 's' changed" (a log written before flowc recorded a hash per
    source cannot tell: "the sources changed")."""
    if not isinstance(before, Mapping):
        return "the sources changed"
    added = [name for name in now if name not in before]
    removed = [name for name in before if name not in now]
    changed = [name for name in now if name in before and before[name] != now[name]]
    parts = [f"source '{name}' changed" for name in changed]
    parts += [f"source '{name}' is new" for name in added] + [f"source '{name}' was removed" for name in removed]
    return ", ".join(parts) or "the order of the sources changed"


def file_sinks(prepared: Prepared) -> dict[str, dict[str, Any]]:
    """Each file sink's absolute path and form (as its checkpointed position names them), for `compiled`."""
    return {node.step: {"path": os.path.join(prepared.base_dir, str(node.sink.config.get("path", ""))),
                        "format": node.sink.format or "jsonl", "compression": node.sink.config.get("compression"),
                        "rotate": node.sink.config.get("rotate") is not None}
            for node in prepared.plan.sinks if node.sink.type == "file"}


def written_outputs(events: Iterable[ev.Event]) -> set[tuple[str, str, str | None, bool]]:
    """(path, format, compression, rotated) of every file sink the log says was written since its last
    reset. Earlier ones were removed by that reset: a file at such a path now is someone else's."""
    found: set[tuple[str, str, str | None, bool]] = set()
    for event in events:
        if event.type == ev.RESET:
            found.clear()
        elif event.type in (ev.COMPILED, ev.CHECKPOINT_SAVED):
            found.update(filter(None, map(_form, event.data.get("sinks", {}).values())))
    return found


def _form(recorded: Mapping[str, Any]) -> tuple[str, str, str | None, bool] | None:
    form = recorded.get("path"), recorded.get("format"), recorded.get("compression"), bool(recorded.get("rotate"))
    known = isinstance(form[0], str) and form[1] in BACKENDS and form[2] in COMPRESSIONS[form[1]]
    return form if known else None  # a Kafka or console position has no path: nothing to remove


def remove_outputs(events: Iterable[ev.Event], reading: Iterable[str] = ()) -> None:
    """`--reset`: remove every file, rotated part, staging and temp file of each sink in `written_outputs`;
    a file sink's `restore(None)` is exactly that (other files in the folders stay). A sink whose files
    the spec now reads (`reading`: its sources' files) is left alone: an input, whatever the log says."""
    read = {os.path.realpath(path) for path in reading}
    for path, format_, compression, rotated in sorted(written_outputs(events), key=repr):
        if not any(_is_file_of(path, rotated, other) for other in read):
            FileSinkWriter(path, format_, compression, {"max_records": 1} if rotated else None).restore(None)


def _is_file_of(sink_path: str, rotated: bool, path: str) -> bool:
    sink = Path(os.path.realpath(sink_path))
    if Path(path).parent != sink.parent:
        return False
    name = Path(path).name
    return bool(rotated_index_pattern(sink).fullmatch(name)) if rotated else name == sink.name


def reading(prepared: Prepared) -> list[str]:
    """The files the bounded sources of `prepared` read."""
    return [path for reader in prepared.readers.values() for path in getattr(reader, "paths", ())]
