"""`flowc run --set KEY=VALUE` (SPEC §10): override a value of the spec before it is validated.

KEY is a dotted path from the top of the spec (`settings.batch_size`, `sources.orders.path`; a list
item by its index, `steps.0.filter`). VALUE is read as a YAML 1.2 plain scalar (`5000` an int, `true`
a bool, `null` null, anything else text, the empty value the empty string), or, when it starts with
`[`, `{`, `'` or `"`, as a YAML flow collection or quoted string. It is taken as given: `${...}` in it
is not substituted (the shell has already expanded the variables it should).

Where a problem is decides how it is reported: an argument that is not `KEY=VALUE` or whose VALUE is
not YAML is a usage error (exit 2, before the spec is read); a KEY that leads through a value that
is neither a mapping nor a list is a failed run (exit 1); and what validation finds in an overridden
value (an unknown key, a wrong type) is reported like any spec error (exit 1), but positioned in the
argument: `--set settings.batch_size=abc: error[E403]: ...`, with a caret under `abc`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from typing import Any

import click

from flowc import render
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.source import Document, ScalarMap
from flowc.dsl.span import Span
from flowc.dsl.yaml_core import resolve_plain

FLAG = "--set "
_STRUCTURED = ("[", "{", "'", '"')


@dataclasses.dataclass(frozen=True, slots=True)
class Assignment:
    argument: str  # as given, for messages: `settings.batch_size=abc`
    path: tuple[str, ...]
    value: Any

    @property
    def file(self) -> str:
        """The name its spans carry: diagnostics in the value are shown as `--set <argument>`."""
        return FLAG + self.argument

    def value_span(self) -> Span:
        raw = self.argument.partition("=")[2]
        col = len(FLAG) + self.argument.index("=") + 2 + len(raw) - len(raw.lstrip(" \t"))  # past the spaces
        end = len(FLAG) + len(self.argument.rstrip(" \t")) + 1
        return Span(self.file, 1, col, 1, max(end, col + 1))

    def key_span(self, depth: int) -> Span:
        """The span of the `depth`-th key of the path (0-based) in the argument."""
        col = len(FLAG) + 1 + sum(len(key) + 1 for key in self.path[:depth])
        return Span(self.file, 1, col, 1, col + len(self.path[depth]))


class NotInSpec(Exception):
    """A KEY that leads through a value that is neither a mapping nor a list."""


def parse(arguments: Iterable[str]) -> list[Assignment]:
    """Each `--set` argument read, or `click.UsageError` naming the first malformed one (exit 2)."""
    return [_parse(argument) for argument in arguments]


def _parse(argument: str) -> Assignment:
    key, eq, text = argument.partition("=")
    text = text.strip(" \t")  # as after `key:` in the file, where `batch_size:  5000 ` is the int 5000
    path = tuple(key.split("."))
    if not eq or not all(path):
        raise click.UsageError(f"--set {argument}: expected KEY=VALUE, KEY a dotted path into the spec "
                               "(e.g. --set settings.batch_size=5000)")
    if not text.startswith(_STRUCTURED):
        return Assignment(argument, path, resolve_plain(text) if text else "")
    from flowc.dsl.loader import load_text  # the YAML reader: only for a value that needs it

    # `$${` keeps a `${` as written: a value given on the command line is not substituted
    loaded, problems = load_text("value: " + text.replace("${", "$${"), FLAG + argument, env={})
    if loaded is None or problems or not isinstance(loaded.data, dict) or set(loaded.data) != {"value"}:
        reason = problems[0].message if problems else "it is not one YAML value"
        raise click.UsageError(f"--set {argument}: the value is not valid YAML ({reason})")
    return Assignment(argument, path, loaded.data["value"])


def apply(document: Document, assignments: Iterable[Assignment]) -> Document:
    """`document` with each assignment's value at its path, and positions that point into the argument
    for the value and everything in it (and for mappings the path creates). `NotInSpec` when a path
    leads through a scalar or past the end of a list."""
    data = copy.deepcopy(document.data)
    value_spans, key_spans = dict(document.value_spans), dict(document.key_spans)
    scalar_maps, written = dict(document.scalar_maps), dict(document.written)
    for assignment in assignments:
        target, at = data, ()
        for depth, key in enumerate(assignment.path):
            last = depth == len(assignment.path) - 1
            shown = ".".join(assignment.path[:depth + 1])
            if isinstance(target, list):
                if not key.isdigit() or int(key) >= len(target):
                    count = f"{len(target)} item{'' if len(target) == 1 else 's'}"
                    raise NotInSpec(f"--set {assignment.argument}: '{shown}' names no item of its list "
                                    f"({count}, numbered from 0)")
                index: str | int = int(key)
            else:
                index = key
                if not last and not isinstance(target.get(key), dict | list):
                    if target.get(key) is not None:
                        raise NotInSpec(f"--set {assignment.argument}: '{shown}' is neither a mapping nor a "
                                        f"list, so it has no '{assignment.path[depth + 1]}'")
                    target[key] = {}  # a mapping the spec leaves out or empty (`settings`): made
                    value_spans[(*at, key)] = key_spans[(*at, key)] = assignment.key_span(depth)
            path = (*at, index)
            if last:
                target[index] = assignment.value
                _forget_below(path, value_spans, key_spans, scalar_maps, written)
                key_spans[path] = assignment.key_span(depth)
                _place(assignment, path, assignment.value, value_spans, scalar_maps)
            else:
                target, at = target[index], path
    return dataclasses.replace(document, data=data, value_spans=value_spans, key_spans=key_spans,
                               scalar_maps=scalar_maps, written=written)


def _forget_below(path: tuple, *maps: dict) -> None:
    """The file positions of the value the assignment replaced: they no longer describe the data."""
    for mapping in maps:
        for old in [p for p in mapping if p[:len(path)] == path]:
            del mapping[old]


def _place(assignment: Assignment, path: tuple, value: Any, value_spans: dict, scalar_maps: dict) -> None:
    """Every value in the assigned one spans the argument's value; a string that is the whole value
    maps each character to its column, one inside a flow collection to the value's columns."""
    span = assignment.value_span()
    value_spans[path] = span
    if isinstance(value, str):
        whole = assignment.argument.partition("=")[2].strip(" \t") == value
        anchor = (0, 1, span.col) if whole else (0, 1, span.col, span.end_col - 1)
        scalar_maps[path] = ScalarMap(assignment.file, (anchor,))
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        _place(assignment, (*path, key), item, value_spans, scalar_maps)


def render_text(diagnostics: Iterable[Diagnostic], document: Document | None) -> str:
    """Diagnostics as `flowc validate` shows them; those in a `--set` value name the argument, not a
    line and column, and show it with a caret under the spot."""
    blocks = []
    for d in diagnostics:
        if d.span is not None and d.span.file.startswith(FLAG):
            block = render.render_text([d], {d.span.file: d.span.file})
            blocks.append(block.replace(render.location(d) + ": ", d.span.file + ": ", 1))
        else:
            blocks.append(render.render_text([d], render.sources_of(document, [d])))
    return "".join(blocks)
