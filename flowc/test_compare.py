"""Comparing what a test's pipeline wrote with what the test expects (SPEC §8).

An expected record names a subset of the output's fields (nested mappings too); its values are first
converted to the output field's type (`"2026-01-01T00:00:05Z"` to a datetime, `5` to `5.0` for a
float, `"90s"` to a duration), then compared: numbers within a relative 1e-9 (NaN equals NaN), lists
element by element, everything else exactly. Without `ordered: true` the records are matched one to
one as a multiset (a maximum bipartite matching, so a looser expectation never steals the record a
stricter one needs); with it, record i is compared with output record i.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flowc.dsl import types as t
from flowc.dsl.codes import did_you_mean
from flowc.dsl.types import ListOf, Struct, Type
from flowc.dsl.units import duration_from_text, format_duration

Record = Mapping[str, Any]


class Unconvertible(ValueError):
    """An expected value that cannot be read as the output field's type."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An expected record and the closest unmatched output record, with the fields that differ."""

    expected_index: int  # 0-based, in the expectation
    actual: Record
    fields: tuple[tuple[str, Any, Any], ...]  # (field, expected, actual)


@dataclass(frozen=True, slots=True)
class OutputDiff:
    name: str
    expected: tuple[Record | None, ...]  # converted; None where the expectation has a problem
    actual: tuple[Record, ...]
    matched: int
    mismatches: tuple[Mismatch, ...] = ()
    missing: tuple[int, ...] = ()  # expected records no output record resembles
    unexpected: tuple[Record, ...] = ()  # output records left over
    problems: tuple[tuple[int, str], ...] = ()  # (expected index, why that record cannot be compared)
    ordered: bool = False  # mismatches pair record i with output record i (else with the closest one)

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.missing or self.unexpected or self.problems)


# --- converting expectations ---


def convert_record(record: Record, schema: Struct) -> tuple[dict[str, Any], list[str]]:
    """`record` with each value converted to its field's type in `schema`, and the problems found."""
    converted, problems = {}, []
    names = [name for name, _ in schema.fields]
    for name, value in record.items():
        type_ = schema.field(name)
        if type_ is None:
            problems.append(f"field '{name}' is not in the output{did_you_mean(name, names) or ''} "
                            f"(fields: {', '.join(names) or 'none'})")
            continue
        try:
            converted[name] = convert(value, type_)
        except Unconvertible as error:
            problems.append(f"field '{name}': {error}")
    return converted, problems


def convert(value: Any, type_: Type) -> Any:
    if value is None or type_ == t.NULL:
        return value
    if isinstance(type_, ListOf):
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise Unconvertible(f"expected a list, got {value!r}")
        return [convert(v, type_.item) for v in value]
    if isinstance(type_, Struct):
        if not isinstance(value, Mapping):
            raise Unconvertible(f"expected a mapping, got {value!r}")
        converted, problems = convert_record(value, type_)
        if problems:
            raise Unconvertible("; ".join(problems))
        return converted
    return _SCALAR_CONVERSIONS[type_.name](value)


def _fail(value: Any, type_: str) -> Unconvertible:
    shown = repr(value) if isinstance(value, str) else yaml_value(value)  # `true`, `{a: 1}`: as written
    return Unconvertible(f"cannot read {shown} as {type_}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _fail(value, "int")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _fail(value, "int")


def _to_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _fail(value, "float")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _fail(value, "bool")


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _fail(value, "string")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _fail(value, "datetime") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise _fail(value, "datetime")


def _to_date(value: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(value, "date")


def _to_duration(value: Any) -> timedelta:
    """A duration as a source reads one from text (`90s`, `-5m`, or ISO-8601 `PT1M30S` as flowc writes it)."""
    micros = duration_from_text(value) if isinstance(value, str) else None
    if micros is None:
        raise _fail(value, "duration (write it like 90s, 250ms or PT1M30S)")
    return timedelta(microseconds=micros)


_SCALAR_CONVERSIONS = {"int": _to_int, "float": _to_float, "bool": _to_bool, "string": _to_string,
                       "datetime": _to_datetime, "date": _to_date, "duration": _to_duration}


# --- comparing ---


def equal(expected: Any, actual: Any) -> bool:
    """`actual` has the expected value (mappings: every expected key, others ignored)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if _is_number(expected) and _is_number(actual):  # ints too (SPEC §8: numbers within a relative 1e-9)
        if math.isnan(expected) or math.isnan(actual):
            return math.isnan(expected) and math.isnan(actual)
        return math.isclose(expected, actual, rel_tol=1e-9)
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(equal(v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(equal(e, a) for e, a in zip(expected, actual, strict=True)))
    return type(expected) is type(actual) and expected == actual


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def differing_fields(expected: Record, actual: Record) -> tuple[tuple[str, Any, Any], ...]:
    return tuple((k, v, actual.get(k)) for k, v in expected.items() if not equal(v, actual.get(k)))


def compare(name: str, expected: Sequence[Record | None], actual: Sequence[Record], ordered: bool) -> OutputDiff:
    """How `actual` differs from `expected`; a None expected record (one with a problem) matches nothing
    and is reported by its problem only."""
    if ordered:
        return _compare_ordered(name, tuple(expected), tuple(actual))
    pairs = maximum_matching(expected, actual)
    left = [i for i in range(len(expected)) if pairs[i] is None and expected[i] is not None]
    used = {j for j in pairs if j is not None}
    spare = [j for j in range(len(actual)) if j not in used]
    mismatches, missing = [], []
    for i in left:
        j = _closest(expected[i], actual, spare)
        if j is None:
            missing.append(i)
            continue
        spare.remove(j)
        mismatches.append(Mismatch(i, actual[j], differing_fields(expected[i], actual[j])))
    return OutputDiff(name, tuple(expected), tuple(actual), sum(j is not None for j in pairs), tuple(mismatches),
                      tuple(missing), tuple(actual[j] for j in spare))


def _compare_ordered(name: str, expected: tuple[Record | None, ...], actual: tuple[Record, ...]) -> OutputDiff:
    mismatches = tuple(Mismatch(i, a, differing_fields(e, a)) for i, (e, a) in enumerate(zip(expected, actual, strict=False))
                       if e is not None and differing_fields(e, a))
    common = min(len(expected), len(actual))
    broken = sum(e is None for e in expected[:common])
    return OutputDiff(name, expected, actual, common - len(mismatches) - broken, mismatches,
                      tuple(i for i in range(common, len(expected)) if expected[i] is not None), actual[common:],
                      ordered=True)


def _closest(expected: Record, actual: Sequence[Record], candidates: list[int]) -> int | None:
    """The candidate sharing the most expected field values (at least one), first on ties."""
    best, best_score = None, 0
    for j in candidates:
        score = sum(equal(v, actual[j].get(k)) for k, v in expected.items())
        if score > best_score:
            best, best_score = j, score
    return best


def maximum_matching(expected: Sequence[Record | None], actual: Sequence[Record]) -> list[int | None]:
    """For each expected record, the index of the output record it is matched with (Kuhn's augmenting
    paths, iterative so long expectations do not hit the recursion limit)."""
    fits = [[j for j, a in enumerate(actual) if e is not None and equal(e, a)] for e in expected]
    owner: dict[int, int] = {}  # actual index -> expected index
    for start in range(len(expected)):
        came_from: dict[int, int | None] = {start: None}  # expected index -> actual index that led here
        via: dict[int, int] = {}  # actual index -> expected index that reached it
        stack, found = [start], None
        while stack and found is None:
            i = stack.pop()
            for j in fits[i]:
                if j in via:
                    continue
                via[j] = i
                if j not in owner:
                    found = j
                    break
                came_from[owner[j]] = j
                stack.append(owner[j])
        while found is not None:  # flip the path: each expected record on it takes the next actual one
            i = via[found]
            previous = came_from[i]
            owner[found] = i
            found = previous
    pairs: list[int | None] = [None] * len(expected)
    for j, i in owner.items():
        pairs[i] = j
    return pairs


# --- showing values (in diffs, and written back by --update) ---

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ./-]*$")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf"})


def yaml_value(value: Any) -> str:
    """`value` as a YAML flow scalar or collection that reads back as an equal expectation."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
        return json.dumps(text.replace("+00:00", "Z"))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, timedelta):
        return format_duration(value // timedelta(microseconds=1))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{yaml_key(k)}: {yaml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return yaml_key(str(value))


def yaml_key(text: str) -> str:
    plain = _PLAIN.match(text) and text == text.strip() and text.lower() not in _RESERVED
    return text if plain else json.dumps(text, ensure_ascii=False)
