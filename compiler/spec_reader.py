"""Reading a loaded `Document` by path: values with their spans, and expression scalars parsed.

`At` is a cursor on one value of the document; normalisation walks the document through it so that
every object it builds gets the span of the text it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flowc.compiler.spec import Expression, Name
from flowc.dsl import codes
from flowc.dsl import types as t
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.source import Document, Path
from flowc.dsl.span import Span
from flowc.dsl.types import Struct, Type, parse_type

_MISSING = object()


@dataclass(frozen=True, slots=True)
class At:
    doc: Document
    path: Path

    @property
    def value(self) -> Any:
        value: Any = self.doc.data
        for key in self.path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    @property
    def span(self) -> Span | None:
        return self.doc.span(self.path)

    @property
    def key_span(self) -> Span | None:
        return self.doc.key_span(self.path)

    def __truediv__(self, key: str | int) -> At:
        return At(self.doc, (*self.path, key))

    def get(self, key: str, default: Any = None) -> Any:
        value = self.value
        return value.get(key, default) if isinstance(value, dict) else default

    def has(self, key: str) -> bool:
        value = self.value
        return isinstance(value, dict) and key in value

    def items(self) -> Iterator[tuple[str, At]]:
        """The entries of a mapping value (nothing for any other value)."""
        value = self.value
        if isinstance(value, dict):
            for key in value:
                yield str(key), self / key

    def elements(self) -> Iterator[At]:
        """The elements of a list value; a lone scalar counts as a one-element list."""
        value = self.value
        if isinstance(value, list):
            for i in range(len(value)):
                yield self / i
        elif value is not None:
            yield self

    def name(self) -> Name:
        return Name(str(self.value), self.span)

    def names(self) -> tuple[Name, ...]:
        return tuple(e.name() for e in self.elements() if e.value is not None)

    def value_spans(self) -> dict[str, Span]:
        """The span of each entry's value of a mapping, by key."""
        return {key: span for key, at in self.items() if (span := at.span) is not None}

    def written(self) -> dict[str, str]:
        """Entries of a mapping as written before `${...}` substitution, for those that had any: what a
        message may show (a substituted value can be a secret)."""
        return {key: self.doc.written[at.path] for key, at in self.items() if at.path in self.doc.written}

    def key_name(self) -> Name:
        return Name(str(self.path[-1]), self.key_span)


def read_expression(at: At, problems: list[Diagnostic]) -> Expression:
    """The expression written at `at`, parsed; a syntax error is appended to `problems` at the spot
    inside the scalar where it was found, and leaves `expr` None."""
    from flowc.dsl.parser import ExpressionSyntaxError, expression_from_scalar, parse_expression

    value = at.value
    scalar = at.doc.scalar_maps.get(at.path) if isinstance(value, str) else None
    try:
        # a YAML number out of the int64 / finite float range (`99999999999999999999`, `.inf`) is a
        # constant that cannot be: a diagnostic at the scalar, like a literal in an expression
        expr = parse_expression(value) if isinstance(value, str) else expression_from_scalar(value)
    except ExpressionSyntaxError as err:
        span = scalar.span(err.pos) if scalar is not None else at.span
        args = err.args if scalar is not None else {**err.args, **_as_written(at)}
        hints = [h for h in (_spaced_name_hint(value, err), _text_hint(value, err.code, at.path)) if h]
        problems.append(codes.diagnostic(err.code, span, help="; ".join(hints) or None, **args))
        expr = None
    return Expression(value if isinstance(value, str) else _constant_text(value), expr, at.span, scalar)


def _as_written(at: At) -> dict[str, str]:
    """`{"text": "1e999"}` for a YAML number that no constant can hold, so that its error quotes what the
    file says (YAML reads `1e999` as the float infinity)."""
    span = at.span
    if span is None or span.line != span.end_line or span.file != at.doc.file:  # `--set` values: not in the text
        return {}
    lines = at.doc.text.splitlines()
    text = lines[span.line - 1][span.col - 1:span.end_col - 1] if span.line <= len(lines) else ""
    return {"text": text if len(text) <= 30 else text[:25] + "..."} if text else {}


_WORDS = re.compile(r"[^\W\d]\w*( +\w+)+")
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "between", "case", "when", "then",
                       "else", "end"})


def _spaced_name_hint(value: object, err: Exception) -> str | None:
    """`total amount > 10` (a CSV header with a space) is two names side by side (E202): say how a
    field name with spaces is written."""
    if getattr(err, "code", None) != "E202" or not isinstance(value, str):
        return None
    start, end = err.pos.start, err.pos.end  # type: ignore[attr-defined]
    before = _NAMES_BEFORE.search(value[:start])
    after = _NAMES_AFTER.match(value[end:])
    if before is None or not _NAME.fullmatch(value[start:end]):
        return None
    words = [*before.group().split(), value[start:end]]
    keywords = [i for i, w in enumerate(words) if w.lower() in _KEYWORDS]
    words = words[keywords[-1] + 1:] if keywords else words  # `x > 1 and order total`: after the last keyword
    if len(words) < 2:
        return None  # `a > 1 AND b`, `x IS NULL`: the SQL habits have their own hint
    for word in after.group().split() if after else ():
        if word.lower() in _KEYWORDS:
            break
        words.append(word)
    return f"a field whose name has spaces is written in back-quotes: `{' '.join(words)}`"


_NAME = re.compile(r"[^\W\d]\w*")
_NAMES_BEFORE = re.compile(r"(?:(?<![\w.`$])[^\W\d]\w* +)+$")  # `total ` before `amount`, not `x.total `
_NAMES_AFTER = re.compile(r"(?: +[^\W\d]\w*(?![\w(.\[]))*")


def _text_hint(value: object, code: str, path: tuple) -> str | None:
    """`label: web shop` is two field names side by side (E202): the likely intent is the text (not in
    a predicate, which is no text)."""
    if code != "E202" or not isinstance(value, str) or not _WORDS.fullmatch(value.strip()):
        return None
    if "filter" in path or "validate" in path:
        return None
    if _KEYWORDS & {word.lower() for word in value.split()}:
        return None
    return f"""to write the text instead, quote it inside the YAML: '"{value.strip()}"'"""


def _constant_text(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def struct_from_yaml(at: At) -> Struct | None:
    """A `schema:` mapping as a `Struct`: type names through `parse_type`, nested mappings as structs.

    A field whose type does not parse (the JSON Schema reports it as E409) gets the type of `null`, which
    fits every use: the rest of the spec is still checked, without echoes of that error."""
    if not isinstance(at.value, dict):
        return None
    fields: list[tuple[str, Type]] = []
    for name, value in at.items():
        if isinstance(value.value, dict):
            nested = struct_from_yaml(value)
            if nested is not None:
                fields.append((name, nested))
        elif isinstance(value.value, str) and (parsed := parse_type(value.value)) is not None:
            fields.append((name, parsed))
        else:  # reported as E409; the field stays, of a type that fits every use, so it echoes nothing
            fields.append((name, t.NULL))
    return Struct(tuple(fields))
