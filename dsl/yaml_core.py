"""The YAML 1.2 core schema for plain scalars and explicit tags, and PyYAML's errors in our words.

Only `true`/`false` (`True`, `TRUE`, ...) are booleans, so `on`, `yes`, `NO` stay strings; no
sexagesimal (`1:20`), binary (`0b1`) or timestamp (`2026-01-01`) values exist, and `=` is a string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import yaml

from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.scalar_spans import LineIndex

_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_MAYBE_NOT_STRING = {"", *"0123456789+-.~nNtTfF"}  # first characters of every non-string value
INT = re.compile(r"[-+]?[0-9]+")
_OCT_HEX = re.compile(r"0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
MAX_INT_DIGITS = 4300  # Python's own limit for int(str) and str(int); a longer integer is refused (E016)
_MAX_INT_BITS = 14_000  # a hex or octal integer this wide still prints in fewer than 4300 digits

CORE = "tag:yaml.org,2002:"
_TAG_FITS: dict[str, Callable[[Any], bool]] = {
    CORE + "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    CORE + "float": lambda v: isinstance(v, float | int) and not isinstance(v, bool),
    CORE + "bool": lambda v: isinstance(v, bool),
    CORE + "null": lambda v: v is None,
}


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar under the YAML 1.2 core schema.

    An integer too long for Python to convert or print stays a string (`is_huge_int` tells the caller).
    """
    if text[:1] not in _MAYBE_NOT_STRING:
        return text
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if INT.fullmatch(text):
        return int(text) if len(text) <= MAX_INT_DIGITS else text
    if _OCT_HEX.fullmatch(text):
        value = int(text[2:], 8 if text[1] == "o" else 16)
        return value if value.bit_length() <= _MAX_INT_BITS else text
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text[0] == "-" else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def is_huge_int(text: str) -> bool:
    """Whether a plain scalar that `resolve_plain` left a string is written as an integer."""
    return text[:1] in _MAYBE_NOT_STRING and bool(INT.fullmatch(text) or _OCT_HEX.fullmatch(text))


def resolve_tagged(tag: str, text: str) -> tuple[Any, str | None]:
    """The value of a scalar with an explicit tag, and the problem (E015) if the tag is refused."""
    if tag in ("!", CORE + "str"):
        return text, None
    fits = _TAG_FITS.get(tag)
    if fits is None:
        return text, tag_problem(tag)
    value = resolve_plain(text)
    if not fits(value):
        return text, f"'{shorten(text)}' is not a valid {short_tag(tag)}"
    return (float(value) if tag == CORE + "float" else value), None


def tag_problem(tag: str) -> str:
    return f"unsupported tag '{short_tag(tag)}'; flowc reads plain YAML 1.2 values (tags: !!str, !!int, " \
           "!!float, !!bool, !!null, !!map, !!seq)"


def short_tag(tag: str) -> str:
    return "!!" + tag[len(CORE):] if tag.startswith(CORE) else tag


def shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def kind(value: Any) -> str:
    """`a string`, `a list`, ...: how a value's type is named in a message."""
    if value is None:
        return "null"
    names = {bool: "a bool", int: "an int", float: "a float", str: "a string", list: "a list"}
    return names.get(type(value), "a mapping")


_JARGON = {
    "'<block mapping start>'": "a new mapping", "'<block sequence start>'": "a new list",
    "'<scalar>'": "a value", "'<block end>'": "the end of the block", "'<stream end>'": "the end of the file",
    "<block end>": "the end of the block", "<stream end>": "the end of the file", "<document start>": "'---'",
}  # fmt: skip


def syntax_error(error: yaml.YAMLError, index: LineIndex, file: str, depth_limit: int) -> Diagnostic:
    """E002 at the problem's position, PyYAML's wording made ours (lower-case, no period, no jargon).

    libyaml's own nesting limit (reached while it reads ahead through `[[[[...`) is E007.
    """
    if not isinstance(error, yaml.MarkedYAMLError):  # the reader's errors: refused before parsing
        return codes.diagnostic("E002", index.span(file, 0, 0), problem=_our_words(str(error)))
    mark = error.problem_mark or error.context_mark
    at = min(mark.index, len(index.text)) if mark else 0
    span = index.span(file, at, min(at + 1, len(index.text)))
    if "maximum nesting depth" in (error.problem or ""):
        return codes.diagnostic("E007", span, limit=depth_limit)
    tab = index.text[at:at + 1] == "\t"
    problem = "a tab character where YAML expects indentation or a value" if tab else \
        _our_words(error.problem or error.context or "malformed document")
    if error.context and error.problem and error.context_mark and not tab:
        problem += f" {error.context} started on line {index.position(error.context_mark.index)[0]}"
    started = error.context_mark.index if error.context_mark else at  # where the flow collection opened
    return codes.diagnostic("E002", span, problem=problem, help=_help(index.text, at, tab, error.context, started))


def _help(text: str, at: int, tab: bool, context: str | None, started: int) -> str | None:
    if tab:
        return "indent with spaces: YAML does not allow tabs for indentation"
    if context and "flow" in context and text.startswith("${", at - 1 if at else 0):
        # `{batch_size: ${BS}}`: `{` and `}` are flow indicators, so the reference breaks the mapping
        return "inside [...] or {...}, the braces of ${...} are read as YAML's own: quote the reference " \
               "(\"${NAME}\": a whole reference is still read again, `\"${BS:-5000}\"` is a number), or write it " \
               "in block style, one key a line"
    if context and "flow" in context and "\n" not in text[started:at]:
        # `map: {y: coalesce(b, "none")}`: the `,` of the call ends the value (SPEC §5)
        return "inside {...} or [...], the characters , [ ] { } are YAML's own, and a value that starts with a quote " \
               "ends at its closing quote: quote the whole expression (y: 'coalesce(b, \"none\")'), or write the " \
               "mapping in block style, one key a line"
    return None


def _our_words(text: str) -> str:
    for jargon, words in _JARGON.items():
        text = text.replace(jargon, words)
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]
