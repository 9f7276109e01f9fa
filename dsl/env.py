"""`${NAME}` and `${NAME:-default}` in string values, replaced from the environment before validation.

Only string *values* are substituted; mapping keys are read as written. `$${` writes a literal `${`.
`${NAME:-default}` uses the default when NAME is unset or empty (as in the shell). A reference whose
variable is unset and has no default stays in the value as written, and is reported (E010) at its own
columns; a malformed one (E011) likewise. The inserted text is never YAML-parsed, so a variable
cannot add keys or lists to a spec; `flowc.dsl.loader` re-reads a plain scalar that is exactly one
reference as a YAML scalar (so `batch_size: ${BS:-5000}` is an int), unless the result is empty:
`${P:-}` and a set but empty `${P}` are the empty string, as in the shell (`${P:-null}` is null).

Substituted values are secrets as far as diagnostics go: nothing here puts one into a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flowc.dsl.source import ScalarMap

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Segment:
    """`value[out_start:out_end]` came from `written[start:end]`, copied or (`inserted`) substituted."""

    out_start: int
    out_end: int
    start: int
    end: int
    inserted: bool


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # E010 or E011
    start: int  # offsets of the reference in the value as written
    end: int
    args: dict[str, str]


@dataclass(frozen=True, slots=True)
class Substitution:
    value: str
    segments: tuple[Segment, ...]
    problems: tuple[Problem, ...]
    whole: bool  # the written value is exactly one reference, which was replaced


def substitute(written: str, env: Mapping[str, str]) -> Substitution:
    """Replaces every reference in `written`; references left unreplaced are reported in `problems`."""
    parts: list[str] = []
    segments: list[Segment] = []
    problems: list[Problem] = []
    size = 0

    def add(text: str, start: int, end: int, inserted: bool) -> None:
        nonlocal size
        if text:
            segments.append(Segment(size, size + len(text), start, end, inserted))
            parts.append(text)
            size += len(text)

    i = literal = 0
    whole = False
    while (at := written.find("${", i)) >= 0:
        if at > literal and written[at - 1] == "$":  # `$${`: drop the first `$`, keep `${` as text
            add(written[literal:at - 1], literal, at - 1, False)
            literal, i = at, at + 2
            continue
        close = written.find("}", at + 2)
        if close < 0:
            problems.append(Problem("E011", at, len(written), {"problem": "'${' without a closing '}'"}))
            break
        name, has_default, default = written[at + 2:close].partition(":-")
        problem = _malformed(name, default)
        i = close + 1
        if problem:
            problems.append(Problem("E011", at, i, {"problem": problem}))
            continue
        value = env.get(name)
        if not value and has_default:
            value = default
        if value is None:
            problems.append(Problem("E010", at, i, {"name": name}))
            continue
        add(written[literal:at], literal, at, False)
        add(value, at, i, True)
        literal = i
        whole = at == 0 and i == len(written)
    add(written[literal:], literal, len(written), False)
    return Substitution("".join(parts), tuple(segments), tuple(problems), whole and not problems)


def _malformed(name: str, default: str) -> str | None:
    if not name:
        return "'${}' names no variable"
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:39] + "…"
        return f"'{shown}' is not a variable name (a letter or '_', then letters, digits or '_')"
    if "${" in default:
        return "a default cannot contain '${' (references do not nest)"
    return None


def remap(smap: ScalarMap, segments: tuple[Segment, ...]) -> ScalarMap:
    """The map of the substituted value: copied text keeps its place, inserted text points at its `${...}`."""
    anchors: list[tuple[int, ...]] = []
    for seg in segments:
        line, col = smap.position(seg.start)
        if seg.inserted:  # every inserted character sits within the reference's columns
            last_line, last_col = smap.position(seg.end - 1)
            anchors.append((seg.out_start, line, col, last_col if last_line == line else col))
            continue
        anchors.append((seg.out_start, line, col))
        shift = seg.out_start - seg.start
        anchors.extend((a[0] + shift, *a[1:]) for a in smap.anchors if seg.start < a[0] < seg.end)
    return ScalarMap(smap.file, tuple(anchors) or smap.anchors)
