"""Where `flowc run` may write (docs/security.md): no `../../` surprises through `${...}` values.

A spec names the directories it writes to: each file sink's `path`, the dead-letter sink's, and
`settings.state_dir`. A path written without `${...}` is the spec's own choice, wherever it points
(absolute, or `../` relative to the spec). A path with `${...}` may only land inside the directory
its literal text names before the first `${`: `out/${DAY}.jsonl` must stay in `out/`, `${OUT}/x.jsonl`
in the spec's folder, `/data/${X}` in `/data`. Symbolic links are resolved before comparing, so a
link cannot smuggle a write out either. Messages show the path as written, never a substituted value.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from flowc.compiler.spec import Sink, Spec

_MARK = "${"


def escaping_write_paths(spec: Spec) -> list[str]:
    """One sentence per write path of `spec` that a `${...}` value leads outside the directory the spec
    names for it (empty when every path is where the spec says)."""
    base_dir = os.path.dirname(os.path.abspath(spec.file))
    problems = []
    for what, written, resolved in _write_paths(spec, base_dir):
        if _MARK in written and not _inside(resolved, _named_directory(written, base_dir)):
            problems.append(
                f"{what} '{written}' leads outside '{_named_text(written)}' once its ${{...}} values are "
                "substituted; a value from the environment may not move a write path out of the directory "
                "the spec names (write the directory into the spec, or make the path absolute there)")
    return problems


def _write_paths(spec: Spec, base_dir: str) -> Iterator[tuple[str, str, str]]:
    """(what, path as written, path as resolved) for everything a run writes."""
    sinks: list[Sink] = [*spec.sinks, *((spec.settings.dead_letter,) if spec.settings.dead_letter else ())]
    for sink in sinks:
        path = sink.config.get("path") if sink.type == "file" else None
        if isinstance(path, str):
            written = sink.written.get("path", path)
            yield f"sink '{sink.name}' path", written, os.path.join(base_dir, path)
    state_dir = spec.settings.state_dir
    # `Settings.state_dir` is already joined to the spec's folder (relative to the working directory).
    yield "settings.state_dir", spec.settings.written.get("state_dir", state_dir), os.path.abspath(state_dir)


def _named_text(written: str) -> str:
    """The directory part of the literal text before the first `${` ('' is the spec's folder)."""
    literal = written.split(_MARK, 1)[0]
    return literal if literal.endswith("/") else os.path.dirname(literal)


def _named_directory(written: str, base_dir: str) -> str:
    return os.path.join(base_dir, _named_text(written))


def _inside(path: str, directory: str) -> bool:
    real_path, real_dir = os.path.realpath(path), os.path.realpath(directory)
    return os.path.commonpath([real_path, real_dir]) == real_dir
