"""YAML 1.2 to plain data, with the span of every value and key beside it, within limits.

PyYAML's `compose()` recurses once per nesting level and shares one node between all the aliases of
an anchor, so a hostile file can overflow the stack, or expand a few hundred bytes into a billion
values when converted. This module reads PyYAML's event stream instead and builds the data without
recursion, counting nodes (alias expansions included), aliases and depth as it goes, and stops with
a diagnostic at the first limit crossed. Scalars are resolved by the core schema (`yaml_core`).

Positions are recorded beside the data as character offsets (`yaml_records`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev

from flowc.dsl import codes
from flowc.dsl import yaml_core as core
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.scalar_spans import FORBIDDEN, LineIndex, content_start, describe, scalar_anchors
from flowc.dsl.source import Path, ScalarMap
from flowc.dsl.span import Span
from flowc.dsl.yaml_records import Mark, Records

_LOADER = yaml.CBaseLoader if yaml.__with_libyaml__ else yaml.BaseLoader  # libyaml: ~25x faster
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


@dataclass(frozen=True, slots=True)
class Limits:
    depth: int = 64  # nested collections
    nodes: int = 100_000  # keys, values and alias expansions
    aliases: int = 10_000
    scalar: int = 1 << 20  # characters in one scalar
    anchors: int = 100_000  # ScalarMap anchors in all; past this, a scalar maps to its first character


@dataclass(frozen=True, slots=True)
class Composed:
    data: dict
    value_spans: dict[Path, Span]
    key_spans: dict[Path, Span]
    scalar_maps: dict[Path, ScalarMap]
    written: dict[Path, str]


# Called for each string value containing `${`: (value, its map, read again as a scalar when it is one whole
# reference? (plain and quoted flow scalars, not block scalars)) -> (value, map, as written, problems).
OnString = Callable[[str, ScalarMap, bool], tuple[Any, ScalarMap | None, str | None, list[Diagnostic]]]


class Refused(Exception):
    """A limit was crossed or the document cannot be a spec: stop reading, report `diagnostic`."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def compose(index: LineIndex, file: str, on_string: OnString | None = None, *, limits: Limits = Limits(),
            loader: type = _LOADER) -> tuple[Composed | None, list[Diagnostic]]:
    """Reads `index.text` as one YAML document whose top level is a mapping."""
    builder = _Builder(index, file, on_string, limits)
    try:
        return builder.run(yaml.parse(index.text, Loader=loader)), builder.problems
    except Refused as refused:
        return None, [*builder.problems, refused.diagnostic]
    except yaml.YAMLError as error:
        return None, [*builder.problems, core.syntax_error(error, index, file, limits.depth)]


@dataclass(slots=True)
class _Frame:
    value: dict | list
    path: Path | None  # None: not recorded (inside a key, or the value of a refused key)
    start: int
    flow: bool
    anchor: str | None
    marks: Mark
    size: int = 1  # nodes, alias expansions included
    height: int = 1
    end: int = -1  # where the last child ends
    key: Any = None
    expecting_key: bool = True
    key_starts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Anchored:
    value: Any
    size: int
    height: int
    records: Records  # with paths relative to the anchored node


_SKIP = object()  # the pending key of a refused entry: its value is read (for the limits) and dropped
_OPEN = object()  # an anchor whose node is still being read; also: no root yet


class _Builder:
    def __init__(self, index: LineIndex, file: str, on_string: OnString | None, limits: Limits) -> None:
        self.index, self.file, self.on_string, self.limits = index, file, on_string, limits
        self.problems: list[Diagnostic] = []
        self.stack: list[_Frame] = []
        self.anchors: dict[str, Any] = {}
        self.records = Records()
        self.nodes = self.aliases = 0
        self.anchor_budget = limits.anchors
        self.root: Any = _OPEN

    def run(self, events: Iterable[ev.Event]) -> Composed:
        handlers = {ev.ScalarEvent: self._scalar, ev.AliasEvent: self._alias,
                    ev.MappingStartEvent: self._start, ev.SequenceStartEvent: self._start,
                    ev.MappingEndEvent: self._end, ev.SequenceEndEvent: self._end}
        documents = 0
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)
            elif isinstance(event, ev.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self.problems.append(self._e("E013", event.start_mark.index, event.end_mark.index,
                                                 problem="a spec file holds one YAML document; found a second one"))
                    break
        if self.root is _OPEN:
            raise Refused(self._e("E013", 0, 0, problem="the file is empty; a spec is a YAML mapping"))
        return Composed(self.root, *self.records.build(self.index, self.file, self._map))

    # --- events ---

    def _scalar(self, event: ev.ScalarEvent) -> None:
        at, end = event.start_mark.index, event.end_mark.index
        self._count(1, at, by_alias=False)
        text, style, tag = event.value, event.style or None, event.tag
        start = content_start(self.index.text, at, end) if event.anchor or tag else at
        if len(text) > self.limits.scalar:
            raise Refused(self._e("E008", start, start + 1, size=len(text), limit=self.limits.scalar))
        if style == "|" or style == ">":  # a block ends after its trailing blank lines
            end = start + len(self.index.text[start:end].rstrip())
        if style == '"' and FORBIDDEN.search(text):
            text = self._escaped_controls(text, start, end)
        plain = tag is None and event.implicit[0]
        if plain:
            value = core.resolve_plain(text)
            if value is text and core.is_huge_int(text):
                self.problems.append(self._e("E016", start, end, size=len(text), limit=core.MAX_INT_DIGITS))
        elif tag is None:
            value = text
        else:
            value, problem = core.resolve_tagged(tag, text)
            if problem:
                self.problems.append(self._e("E015", at, end, problem=problem))
        path = self._child_path()
        mark = self.records.mark() if event.anchor else None
        if path is not None:
            self.records.values.append((path, start, end))
            if isinstance(value, str):  # a quoted scalar is read again too, when it is one whole `${...}`
                value = self._string(path, value, start, end, style, plain or (tag is None and style in ("'", '"')))
        if mark is not None:  # an anchored key records nothing itself, but its aliases need its map
            records = self.records.since(mark, path) if path is not None else \
                Records(strings=[((), start, end, style, value)] if isinstance(value, str) else [])
            self.anchors[event.anchor] = _Anchored(value, 1, 0, records)
        self._finish(value, 1, 0, start, end, text if plain else None)

    def _start(self, event: ev.CollectionStartEvent) -> None:
        mark = at = event.start_mark.index
        if event.anchor or event.tag:
            at = content_start(self.index.text, at, len(self.index.text))
        self._count(1, at, by_alias=False)
        mapping = isinstance(event, ev.MappingStartEvent)
        if not self.stack and not mapping:
            raise Refused(self._e("E013", at, at + 1, problem="the top level of a spec must be a mapping, got a list"))
        if len(self.stack) >= self.limits.depth:
            raise Refused(self._e("E007", at, at + 1, limit=self.limits.depth))
        if event.tag not in (None, "!", core.CORE + ("map" if mapping else "seq")):
            self.problems.append(self._e("E015", mark, mark + 1, problem=core.tag_problem(event.tag)))
        if event.anchor:
            self.anchors[event.anchor] = _OPEN
        frame = _Frame({} if mapping else [], self._child_path(), at, bool(event.flow_style), event.anchor,
                       self.records.mark())
        self.stack.append(frame)

    def _end(self, event: ev.CollectionEndEvent) -> None:
        frame = self.stack.pop()
        end = max(event.end_mark.index if frame.flow or frame.end < 0 else frame.end, frame.start)
        if frame.path is not None:
            self.records.values.append((frame.path, frame.start, end))
        if frame.anchor:
            records = self.records.since(frame.marks, frame.path)
            self.anchors[frame.anchor] = _Anchored(frame.value, frame.size, frame.height, records)
        self._finish(frame.value, frame.size, frame.height, frame.start, end, None)

    def _alias(self, event: ev.AliasEvent) -> None:
        at, end = event.start_mark.index, event.end_mark.index
        self.aliases += 1
        if self.aliases > self.limits.aliases:
            raise Refused(self._e("E006", at, end, problem=f"more than {self.limits.aliases} aliases"))
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            raise Refused(self._e("E002", at, end, problem=f"undefined alias '*{core.shorten(event.anchor)}'"))
        if anchored is _OPEN:
            raise Refused(self._e("E006", at, end, problem=f"alias '*{core.shorten(event.anchor)}' is inside its anchor"))
        self._count(anchored.size, at, by_alias=True)
        if len(self.stack) + anchored.height > self.limits.depth:
            raise Refused(self._e("E007", at, end, limit=self.limits.depth))
        path = self._child_path()
        if path is not None:
            self.records.values.append((path, at, end))
            self.records.copy_under(path, anchored.records)
        self._finish(_copy(anchored.value), anchored.size, anchored.height, at, end, None)

    # --- building ---

    def _finish(self, value: Any, size: int, height: int, start: int, end: int, plain_text: str | None) -> None:
        """Hands a complete node to its parent (a list item, a mapping key or value) or makes it the root."""
        if not self.stack:
            if not isinstance(value, dict):
                problem = "the file is empty; a spec is a YAML mapping" if value is None else \
                    f"the top level of a spec must be a mapping, got {core.kind(value)}"
                raise Refused(self._e("E013", start, max(start, end), problem=problem))
            self.root = value
            return
        frame = self.stack[-1]
        frame.size += size
        frame.height = max(frame.height, height + 1)
        frame.end = end
        if isinstance(frame.value, list):
            frame.value.append(value)
        elif frame.expecting_key:
            self._take_key(frame, value, plain_text, start, end)
        else:
            if frame.key is not _SKIP:
                frame.value[frame.key] = value
            frame.expecting_key = True

    def _take_key(self, frame: _Frame, value: Any, plain_text: str | None, start: int, end: int) -> None:
        """A key must be a string; `404:` is read as the key '404', as written. Refused keys drop the entry."""
        frame.expecting_key, frame.key = False, _SKIP
        if isinstance(value, int) and not isinstance(value, bool):
            value = plain_text if plain_text is not None else str(value)
        if not isinstance(value, str):
            quote = f"; write it in quotes: '{core.shorten(plain_text)}'" if plain_text is not None else ""
            self.problems.append(self._e("E013", start, end, problem=f"mapping keys must be strings, got "
                                                                     f"{core.kind(value)}{quote}"))
        elif value == "<<" and plain_text is not None:
            self.problems.append(self._e("E014", start, end))
        elif value in frame.key_starts:
            first_line = self.index.position(frame.key_starts[value])[0]
            self.problems.append(self._e("E012", start, end, key=core.shorten(value), first_line=first_line))
        else:
            frame.key = value
            frame.key_starts[value] = start
            if frame.path is not None:
                self.records.keys.append(((*frame.path, value), start, end))

    def _string(self, path: Path, value: str, start: int, end: int, style: str | None, reread: bool) -> Any:
        if self.on_string is None or "${" not in value:
            self.records.strings.append((path, start, end, style, value))
            return value
        result, smap, written, problems = self.on_string(value, self._map(start, end, style, value), reread)
        self.problems.extend(problems)
        if smap is not None:
            self.records.strings.append((path, smap))
        if written is not None:
            self.records.written.append((path, written))
        return result

    def _map(self, start: int, end: int, style: str | None, value: str) -> ScalarMap:
        anchors = scalar_anchors(self.index, start, end, style, value, limit=self.anchor_budget)
        self.anchor_budget -= len(anchors)
        return ScalarMap(self.file, anchors)

    def _escaped_controls(self, value: str, start: int, end: int) -> str:
        """E017 for each escape that writes a refused character, which becomes U+FFFD in the value."""
        smap = self._map(start, end, '"', value)
        for found in FORBIDDEN.finditer(value):
            line, col = smap.position(found.start())
            at = self.index.starts[line - 1] + col - 1
            escape = _ESCAPE.match(self.index.text, at)
            self.problems.append(self._e("E017", at, escape.end() if escape else at + 1, what=describe(found.group()),
                                         codepoint=f"U+{ord(found.group()):04X}", escape=escape.group() if escape else "?"))
        return FORBIDDEN.sub("\ufffd", value)

    # --- bookkeeping ---

    def _child_path(self) -> Path | None:
        """The path of the node about to be read, None if it is not recorded (a key, or under one)."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if frame.path is None:
            return None
        if isinstance(frame.value, list):
            return (*frame.path, len(frame.value))
        if frame.expecting_key or frame.key is _SKIP:
            return None
        return (*frame.path, frame.key)

    def _count(self, nodes: int, at: int, *, by_alias: bool) -> None:
        self.nodes += nodes
        if self.nodes > self.limits.nodes:
            if by_alias:
                problem = f"aliases expand to more than {self.limits.nodes} nodes"
                raise Refused(self._e("E006", at, at + 1, problem=problem))
            raise Refused(self._e("E009", at, at + 1, limit=self.limits.nodes))

    def _e(self, code: str, start: int, end: int, **args: object) -> Diagnostic:
        return codes.diagnostic(code, self.index.span(self.file, start, end), **args)


def _copy(value: Any) -> Any:
    """An alias's own copy of its anchor's value (recursion bounded by the depth limit)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
