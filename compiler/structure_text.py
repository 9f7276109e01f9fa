"""Words for the structural check: where a path is, in the spec's own terms, and how a value is shown.

A path is named after the nearest thing a user named, then the keys inside it:
`('steps', 2, 'aggregate', 'window', 'size')` is `'aggregate.window.size' in step 3 ('per_minute')`.
Values are shown through `Document.shown`, so a `${SECRET}` is shown as written, never substituted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowc.dsl.source import Document, Path

_JSON_TYPES = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
_EXPRESSION = frozenset({"string", "number", "boolean", "null"})

# The phrase after "expected" for the $defs whose pattern is not self-explaining.
PATTERN_HINTS = {"rate": "write e.g. 10/s, 600/m, 0.5/s", "http_url": "expected an http:// or https:// URL"}

# Why the keys of a `not: {required: [...]}` may not be given (together): a help for each.
EXCLUDED_KEYS_HELP = {
    # settings.dead_letter
    ("from",): "the dead-letter sink reads the side outputs nothing else reads; to write one output, add a "
               "sink with 'from:'",
    # a step
    ("union", "from"): "a union reads the inputs it lists: add the input to them",
}

# "needs at least 2 items": the unit each minimum counts.
AT_LEAST = {"minItems": "items", "minProperties": "entries", "minLength": "characters"}


def value_at(data: Any, path: Path) -> Any:
    for key in path:
        data = data[key]
    return data


def _anchor(doc: Document, path: Path) -> tuple[str, int]:
    """The nearest named thing on `path`, and how many path elements name it."""
    head = path[:1]
    if head == ("sources",) and len(path) >= 2:
        return f"source '{path[1]}'", 2
    if head == ("sinks",) and len(path) >= 2:
        return f"sink '{path[1]}'", 2
    if head in {("steps",), ("tests",)} and len(path) >= 2 and isinstance(path[1], int):
        entry = value_at(doc.data, path[:2])
        label = entry.get("name") if isinstance(entry, dict) else None
        noun = head[0][:-1]
        return (f"{noun} {path[1] + 1} ('{label}')" if isinstance(label, str) else f"{noun} {path[1] + 1}"), 2
    if path[:2] == ("settings", "dead_letter"):
        return "settings.dead_letter", 2
    if head == ("settings",):
        return "settings", 1
    return "the spec", 0


def _dotted(path: Path) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def container(doc: Document, path: Path) -> str:
    """The mapping at `path`, as in "unknown key 'x' in {container}"."""
    anchor, length = _anchor(doc, path)
    rest = path[length:]
    if not rest:
        return anchor
    return f"'{_dotted(rest)}'" if length == 0 else f"'{_dotted(rest)}' of {anchor}"


def where(doc: Document, path: Path) -> str:
    """The value at `path`, as in "{where} must be a list"."""
    anchor, length = _anchor(doc, path)
    rest = path[length:]
    if not rest:
        return anchor
    return f"'{_dotted(rest)}'" if length == 0 else f"'{_dotted(rest)}' in {anchor}"


def shown(doc: Document, path: Path) -> str:
    """A scalar as a message shows it: text quoted, `true`/`null` as YAML writes them."""
    value = value_at(doc.data, path)
    if isinstance(value, str) or path in doc.written:
        return f"'{doc.shown(path)}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return doc.shown(path)


def json_types(types: str | list[str]) -> str:
    """`["array", "object"]` -> "a list or a mapping"."""
    names = [types] if isinstance(types, str) else list(types)
    if set(names) == _EXPRESSION:
        return "an expression (text, a number, true/false or null)"
    if "null" in names and len(names) > 1:  # an empty section (`steps:`) is allowed, not something to write
        names.remove("null")
    return " or ".join(_JSON_TYPES[n] for n in names)


def quoted_list(items: Iterable[Any], last: str = ",") -> str:
    """`['a', 'b', 'c']` -> "'a', 'b', 'c'" (or "'a', 'b' and 'c'" with `last="and"`)."""
    quoted = [f"'{item}'" for item in items]
    if last == "," or len(quoted) < 2:
        return ", ".join(quoted)
    return f"{', '.join(quoted[:-1])} {last} {quoted[-1]}"
