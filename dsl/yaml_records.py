"""Where each part of a document was written, recorded while `flowc.dsl.yaml12` reads it.

Positions are kept as character offsets, keyed by path, and turned into `Span`s and `ScalarMap`s
once, by `build`, for a document that was read to the end: a refused file costs no position work.
An alias's records are its anchor's, re-rooted under the alias's path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flowc.dsl.scalar_spans import LineIndex
from flowc.dsl.source import Path, ScalarMap
from flowc.dsl.span import Span

Mark = tuple[int, int, int, int]
MakeMap = Callable[[int, int, str | None, str], ScalarMap]  # (start, end, style, value) -> map


@dataclass(slots=True)
class Records:
    values: list[tuple] = field(default_factory=list)  # (path, start, end)
    keys: list[tuple] = field(default_factory=list)  # (path, start, end)
    strings: list[tuple] = field(default_factory=list)  # (path, start, end, style, value) or (path, map)
    written: list[tuple] = field(default_factory=list)  # (path, text as written)

    def _kinds(self) -> tuple[list[tuple], ...]:
        return self.values, self.keys, self.strings, self.written

    def mark(self) -> Mark:
        return len(self.values), len(self.keys), len(self.strings), len(self.written)

    def since(self, mark: Mark, base: Path | None) -> Records:
        """The records made since `mark` under `base`, with paths relative to it (for an anchor)."""
        if base is None:
            return Records()
        n = len(base)
        return Records(*([(e[0][n:], *e[1:]) for e in kind[m:]] for kind, m in zip(self._kinds(), mark, strict=True)))

    def copy_under(self, path: Path, anchored: Records) -> None:
        """An alias at `path`: its anchor's records below it (its own value span is the alias's)."""
        self.values.extend(((*path, *e[0]), *e[1:]) for e in anchored.values if e[0])
        for kind, copied in zip(self._kinds()[1:], anchored._kinds()[1:], strict=True):
            kind.extend(((*path, *e[0]), *e[1:]) for e in copied)

    def build(self, index: LineIndex, file: str, make_map: MakeMap) -> tuple[dict[Path, Span], dict[Path, Span],
                                                                           dict[Path, ScalarMap], dict[Path, str]]:
        maps: dict[Path, ScalarMap] = {}
        by_start: dict[int, ScalarMap] = {}  # an anchor's map, shared by its aliases
        for path, *entry in self.strings:
            if len(entry) == 1:
                maps[path] = entry[0]
            else:
                smap = by_start.get(entry[0]) or make_map(*entry)
                maps[path] = by_start[entry[0]] = smap
        values = {p: index.span(file, s, e) for p, s, e in self.values}
        keys = {p: index.span(file, s, e) for p, s, e in self.keys}
        return values, keys, maps, dict(self.written)
