"""Two file sinks writing one file (E319): SPEC §7's exactly-once holds per sink, and cannot for a
shared file.

Each file sink appends to its own file and, on resume, cuts that file back to the length it
checkpointed and deletes every file of its name it does not know (docs/guarantees.md). Two sinks
on one file interleave their records, and a resume of one truncates what the other wrote. So two file
sinks (the `dead_letter` sink included) may not name the same file, written alike or not
(`out/a.jsonl`, `./out/a.jsonl`), nor may a sink's path be one of a rotated sink's numbered files
(`out/a.000001.jsonl` beside `out/a.jsonl` with `rotate`). Paths are compared as written, relative to
the spec's folder; links are not followed.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePath

from flowc.compiler.graph import Graph
from flowc.compiler.spec import Sink
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic

# The extensions a rotated file's number goes before, the compression suffix counting as part of it.
# Mirrors `flowc.runtime.sinks.rotation`, which the compiler cannot import; a test holds the two equal.
COMPRESSION_SUFFIXES = frozenset({".gz", ".zst", ".snappy"})


def ensure_distinct_sink_paths(graph: Graph) -> list[Diagnostic]:
    """E319 at the `path` of each file sink (in file order) that writes a file an earlier one writes."""
    spec = graph.spec
    sinks = [s for s in (*spec.sinks, *((spec.settings.dead_letter,) if spec.settings.dead_letter else ()))
             if s.type == "file"]
    sinks.sort(key=_place)
    found = []
    for i, sink in enumerate(sinks):
        for earlier in sinks[:i]:
            if (what := _shared(earlier, sink)) is not None:
                span = sink.key_spans.get("path", sink.span)
                other = earlier.key_spans.get("path", earlier.span)
                found.append(codes.diagnostic("E319", span, name=sink.name, what=what, other=earlier.name,
                                              other_line=other.line if other else "?"))
                break
    return found


def _place(sink: Sink) -> tuple[int, int]:
    span = sink.key_spans.get("path", sink.span)
    return (span.line, span.col) if span else (1 << 30, 0)


def _shared(first: Sink, second: Sink) -> str | None:
    """What of `first`'s files `second` writes, as the message says it, or None."""
    a, b = _resolved(first), _resolved(second)
    if a == b:
        return f"'{_shown(second)}'"
    if _rotated(first) and b.parent == a.parent and rotated_name_pattern(a.name).fullmatch(b.name):
        return f"'{_shown(second)}'"
    if _rotated(second) and a.parent == b.parent and rotated_name_pattern(b.name).fullmatch(a.name):
        return f"rotated files that include '{_shown(first)}'"
    return None


def _rotated(sink: Sink) -> bool:
    return sink.config.get("rotate") is not None


def _resolved(sink: Sink) -> PurePath:
    span = sink.key_spans.get("path", sink.span)
    base = os.path.dirname(os.path.abspath(span.file)) if span and span.file else ""
    return PurePath(os.path.normpath(os.path.join(base, str(sink.config.get("path", "")))))


def _shown(sink: Sink) -> str:
    """The path as written: a `${...}` in it stays unsubstituted in messages."""
    return sink.written.get("path", str(sink.config.get("path", "")))


def rotated_name_pattern(name: str) -> re.Pattern[str]:
    """Matches the names of the rotated files of a sink whose path's name is `name`."""
    suffixes = PurePath(name).suffixes
    take = 2 if len(suffixes) >= 2 and suffixes[-1] in COMPRESSION_SUFFIXES else min(len(suffixes), 1)
    extension = "".join(suffixes[-take:]) if take else ""
    stem = name[: len(name) - len(extension)]
    return re.compile(rf"{re.escape(stem)}\.(\d{{6,}}){re.escape(extension)}")
