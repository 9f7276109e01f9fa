"""The value types of the language (SPEC §3) and their spelling in `schema:` mappings."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scalar:
    name: str  # int, float, bool, string, datetime, date, duration, null

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Type

    def __str__(self) -> str:
        return f"list<{self.item}>"


@dataclass(frozen=True, slots=True)
class Struct:
    fields: tuple[tuple[str, Type], ...]

    def field(self, name: str) -> Type | None:
        return next((t for n, t in self.fields if n == name), None)

    def __str__(self) -> str:
        return "{" + ", ".join(f"{n}: {t}" for n, t in self.fields) + "}"


Type = Scalar | ListOf | Struct

INT = Scalar("int")
FLOAT = Scalar("float")
BOOL = Scalar("bool")
STRING = Scalar("string")
DATETIME = Scalar("datetime")
DATE = Scalar("date")
DURATION = Scalar("duration")
NULL = Scalar("null")  # the type of the literal `null`: fits every type

SCALARS = {t.name: t for t in (INT, FLOAT, BOOL, STRING, DATETIME, DATE, DURATION)}
NUMERIC = frozenset({INT, FLOAT})
_LIST = re.compile(r"^list\s*<\s*(.+?)\s*>$")


def parse_type(text: str) -> Type | None:
    """`"list<int>"` -> `ListOf(INT)`; None when `text` names no type."""
    text = text.strip()
    if text in SCALARS:
        return SCALARS[text]
    match = _LIST.match(text)
    if match:
        item = parse_type(match.group(1))
        return ListOf(item) if item is not None else None
    return None


def type_from_text(text: str) -> Type | None:
    """A type as `str()` prints it, back (`"list<{a: int, b: null}>"`); None when `text` is none.

    For the schemas recorded in the event log (SPEC §3: inferred once, then frozen), which may hold
    types no `schema:` can spell: `null` (a field null in every sampled record, `list<null>` for lists
    always empty) and structs inside lists. `parse_type` reads neither, so a resumed run lost such a
    field. A field name holding `: `, `, ` or brackets does not read back (None)."""
    text = text.strip()
    if text == NULL.name:
        return NULL
    if text in SCALARS:
        return SCALARS[text]
    match = _LIST.match(text)
    if match:
        item = type_from_text(match.group(1))
        return ListOf(item) if item is not None else None
    if not (text.startswith("{") and text.endswith("}")):
        return None
    fields = []
    for part in _top_level_parts(text[1:-1]):
        name, colon, rest = part.partition(": ")
        field_type = type_from_text(rest) if colon else None
        if field_type is None:
            return None
        fields.append((name, field_type))
    return Struct(tuple(fields))


def _top_level_parts(text: str) -> list[str]:
    """`text` split at each `, ` outside `{...}` and `<...>` (no part for an empty text)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "{<"
        depth -= char in "}>"
        if depth == 0 and text.startswith(", ", i):
            parts.append(text[start:i])
            start = i + 2
    return [*parts, text[start:]] if text else []


def common_supertype(a: Type, b: Type) -> Type | None:
    """The type both `a` and `b` widen to (`int` and `float` give `float`), or None."""
    if a == b or b == NULL:
        return a
    if a == NULL:
        return b
    if {a, b} == {INT, FLOAT}:
        return FLOAT
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        item = common_supertype(a.item, b.item)
        return ListOf(item) if item is not None else None
    if isinstance(a, Struct) and isinstance(b, Struct):
        return _struct_supertype(a, b)
    return None


def _struct_supertype(a: Struct, b: Struct) -> Struct | None:
    merged: dict[str, Type] = dict(a.fields)
    for name, t in b.fields:
        if name in merged:
            common = common_supertype(merged[name], t)
            if common is None:
                return None
            merged[name] = common
        else:
            merged[name] = t
    return Struct(tuple(merged.items()))
