"""Which field carries event time at each point of the graph (SPEC §4).

A source's `event_time.field` travels with its records while steps keep that field: `select` and
`drop` can lose it, as can a `sql` step that does not select it under its name, `rename` renames it, a windowed aggregate's records carry `window_start` (a
record of window `[s, e)` lies in `[s, e)` for any coarser window aligned to the epoch, which
`window_end` would not), and a global aggregate's records have none. A `union` has event time when
all its inputs carry it in one field.
"""

from __future__ import annotations

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Aggregate, Drop, Rename, Select, Sql, Step


def event_time_fields(graph: Graph) -> dict[str, str | None]:
    """Input name (a node, or a side output `x.errors` / `x.late`) -> its event-time field, or None."""
    fields: dict[str, str | None] = {}
    for source in graph.spec.sources:
        fields.setdefault(source.name, source.event_time.field.name if source.event_time else None)
        fields.setdefault(f"{source.name}.errors", None)  # raw text that did not parse
    for step in graph.topological_steps():
        if step.name in fields:
            continue  # a duplicate name: the first definition is the one readers see
        incoming = input_event_time(fields, step)
        fields[step.name] = _through(step, incoming)
        # Side outputs carry the step's input records (with `_error` added).
        fields[f"{step.name}.errors"] = incoming
        fields[f"{step.name}.late"] = incoming
    return fields


def input_event_time(fields: dict[str, str | None], step: Step) -> str | None:
    """The event-time field of what `step` reads (None when any input lacks it or they disagree)."""
    inputs = [fields.get(n) for n in step.input_names]
    return inputs[0] if inputs and all(i == inputs[0] for i in inputs) else None


def _through(step: Step, field: str | None) -> str | None:
    config = step.config
    if isinstance(config, Aggregate):
        return "window_start" if config.window is not None else None
    if field is None:
        return None
    if isinstance(config, Select):
        kept = {f.name for f in config.fields} | {a.target[0] for a in config.assignments if len(a.target) == 1}
        return field if field in kept else None
    if isinstance(config, Drop):
        return None if field in {f.name for f in config.fields} else field
    if isinstance(config, Rename):
        renamed = {old.name: new.name for old, new in config.pairs}
        return renamed.get(field, field)
    if isinstance(config, Sql):
        from flowc.compiler.checks.sql import column_after

        return column_after(config.query, field)
    return field
