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
