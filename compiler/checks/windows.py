"""Windows of `aggregate` (SPEC §4): event time must reach them, and their parameters must agree."""

from __future__ import annotations

from flowc.compiler.event_time import event_time_fields, input_event_time
from flowc.compiler.graph import Graph
from flowc.compiler.spec import Aggregate, Step, Window
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.units import format_duration

MAX_WINDOWS_PER_RECORD = 1000  # SPEC §4: a sliding window's size/every


def windowed_aggregates(graph: Graph) -> list[tuple[Step, Window]]:
    return [(step, step.config.window) for step in graph.spec.steps
            if isinstance(step.config, Aggregate) and step.config.window is not None]


def ensure_event_time_reaches_windows(graph: Graph) -> list[Diagnostic]:
    """E305 for a windowed aggregate without `window.time` whose input carries no event time."""
    fields = event_time_fields(graph)
    return [
        codes.diagnostic("E305", window.span or step.span, name=step.name)
        for step, window in windowed_aggregates(graph)
        if window.time is None and step.input_names and input_event_time(fields, step) is None
    ]


def ensure_window_parameters(graph: Graph) -> list[Diagnostic]:
    """E308 for non-positive lengths and sliding windows whose size is no multiple of `every` or
    that would put a record in more than 1000 windows."""
    found = []
    for _step, window in windowed_aggregates(graph):
        found.extend(codes.diagnostic("E308", window.key_spans.get(key) or window.span, problem=problem)
                     for key, problem in window_problems(window))
    return found


def window_problems(window: Window) -> list[tuple[str, str]]:
    """(key, problem) for each inconsistency of one window, the key naming where it is written."""
    problems = [
        (key, f"window {key} must be positive, got {format_duration(value)}")
        for key, value in (("size", window.size), ("every", window.every), ("gap", window.gap))
        if value is not None and value <= 0
    ]
    if window.time is not None and not window.time.name.strip():
        problems.append(("time", "window time names no field"))
    if window.type != "sliding" or problems or window.size is None or window.every is None:
        return problems
    size, every = window.size, window.every
    if size % every:
        problems.append(("size", f"sliding window size {format_duration(size)} is not a multiple of "
                                 f"every {format_duration(every)}"))
    elif size // every > MAX_WINDOWS_PER_RECORD:
        problems.append(("every", f"sliding window size {format_duration(size)} over every "
                                  f"{format_duration(every)} puts each record in {size // every} windows; "
                                  f"the limit is {MAX_WINDOWS_PER_RECORD}"))
    return problems
