"""Regexes in the syntax common to RE2 and Rust's regex (SPEC §5), with one meaning in both.

The reference interpreter matches with RE2 (`re2`); the Polars lowering with Rust's `regex`. The two
read some patterns differently, so the lowering runs `to_rust(pattern)` instead of the text itself:
- `\\d \\w \\s \\b` are ASCII in RE2 and Unicode in Rust: spelled out as ASCII classes;
- `\\<` `\\>` are literals in RE2 and word boundaries in Rust; a `{` that starts no counted repetition
  is a literal in RE2 and an error in Rust: escaped;
- inside `[...]`, Rust reads `&&`, `--`, `~~` and a nested `[` as set operations: escaped.
A pattern is valid when RE2 accepts it and Rust accepts its translation (`regex_problem`).
"""

from __future__ import annotations

import functools
import re

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors to stderr; we report them as diagnostics
_OUTSIDE = {"d": "[0-9]", "D": "[^0-9]", "w": "[0-9A-Za-z_]", "W": "[^0-9A-Za-z_]", "s": r"[\t\n\f\r ]",
            "S": r"[^\t\n\f\r ]", "b": r"(?-u:\b)", "B": r"(?-u:\B)", "<": "<", ">": ">"}
_INSIDE = {"d": "0-9", "D": "[^0-9]", "w": "0-9A-Za-z_", "W": "[^0-9A-Za-z_]", "s": r"\t\n\f\r ",
           "S": r"[^\t\n\f\r ]"}
_REPETITION = re.compile(r"\{[0-9]+(,[0-9]*)?\}")
_POSIX = re.compile(r"\[:\^?[a-z]+:\]")
_CLASS_ESCAPES = frozenset("dDwWsSpP")
_CLASS_SPECIAL = frozenset("[]-^&~\\")


@functools.lru_cache(maxsize=512)
def compile_re2(pattern: str) -> re2._Regexp:
    return re2.compile(pattern, _OPTIONS)


def _escape(pattern: str, i: int) -> int:
    """The end of the escape sequence starting at `pattern[i] == '\\\\'`."""
    if i + 2 < len(pattern) and pattern[i + 1] in "pPx" and pattern[i + 2] == "{":
        close = pattern.find("}", i)
        return close + 1 if close > 0 else len(pattern)
    return min(i + (3 if pattern[i + 1:i + 2] in ("p", "P") else 2), len(pattern))


def _class(pattern: str, i: int, out: list[str]) -> int:
    """Translate the class starting at `pattern[i] == '['`; return the index after its `]`.

    The class is read item by item as RE2 reads it: a class escape (`\\d`, `\\pL`, `[:alpha:]`), or a
    character that a `-` and a second character (not `]`) make a range. Each item is written so
    that Rust cannot join it to its neighbours: a `-` that is a character is escaped (`[\\s-x]` is a
    space class, `-` and `x`, never a range from space to `x`), as are `[ ] & ~ ^ \\`, and only a
    range gets a bare `-`.
    """
    out.append("[")
    i += 1
    if pattern[i:i + 1] == "^":
        out.append("^")
        i += 1
    first = True  # a `]` first in a class is a literal in both syntaxes
    while i < len(pattern) and (pattern[i] != "]" or first):
        first = False
        posix = _POSIX.match(pattern, i)
        if posix:
            out.append(posix.group())
            i = posix.end()
            continue
        if pattern[i] == "\\" and pattern[i + 1:i + 2] in _CLASS_ESCAPES:
            end = _escape(pattern, i)
            out.append(_INSIDE.get(pattern[i + 1], pattern[i:end]))
            i = end
            continue
        low, i = _class_char(pattern, i)
        out.append(low)
        if pattern[i:i + 1] == "-" and i + 1 < len(pattern) and pattern[i + 1] != "]":
            high, i = _class_char(pattern, i + 1)
            out.append("-" + high)
    out.append("]")
    return i + 1


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """One character of a class, as Rust text, and the index after it."""
    if pattern[i] == "\\" and i + 1 < len(pattern):
        end = _escape(pattern, i)
        return pattern[i:end], end
    c = pattern[i]
    return ("\\" + c if c in _CLASS_SPECIAL else c), i + 1


def to_rust(pattern: str) -> str:
    """The Rust regex that matches exactly what the RE2 `pattern` matches (for a valid pattern)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            end = _escape(pattern, i)
            out.append(_OUTSIDE.get(pattern[i + 1], pattern[i:end]))
            i = end
        elif c == "[":
            i = _class(pattern, i, out)
        elif c == "{" and not _REPETITION.match(pattern, i):
            out.append(r"\{")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not a valid regex of the language, or None."""
    try:
        compile_re2(pattern)
    except re2.error as error:
        reason = error.args[0]
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    import polars as pl  # Rust's regex is reachable from Python only through Polars

    try:
        pl.select(pl.lit("").str.contains(to_rust(pattern)))
    except pl.exceptions.PolarsError as error:
        lines = [line.strip() for line in str(error).splitlines()]
        detail = next((line[len("error: "):] for line in lines if line.startswith("error: ")), lines[0])
        return f"{detail} (RE2 accepts it, Rust's regex does not)"
    return None


def group_count(pattern: str) -> int:
    return compile_re2(pattern).groups


def expand(template: str, match: re2._Match) -> str:
    """`regex_replace`'s replacement text for one match, read as Rust's regex reads it.

    `$$` is a `$`; `$name` (letters, digits, `_`, as many as possible) or `${name}` is the group of that
    number or name, empty when there is none; any other `$` is a literal.
    """
    out: list[str] = []
    i = 0
    while (dollar := template.find("$", i)) >= 0:
        out.append(template[i:dollar])
        ref = _capture_ref(template, dollar)
        if template[dollar + 1:dollar + 2] == "$":
            out.append("$")
            i = dollar + 2
        elif ref is None:
            out.append("$")
            i = dollar + 1
        else:
            name, i = ref
            out.append(_group(match, name))
    out.append(template[i:])
    return "".join(out)


_NAME = re.compile(r"[0-9A-Za-z_]+")
_NUMBER = re.compile(r"\+?[0-9]+")  # Rust's `usize::from_str` takes a leading `+`


def _capture_ref(template: str, dollar: int) -> tuple[str, int] | None:
    if template[dollar + 1:dollar + 2] == "{":
        close = template.find("}", dollar + 2)
        return None if close < 0 else (template[dollar + 2:close], close + 1)
    name = _NAME.match(template, dollar + 1)
    return (name.group(), name.end()) if name else None


def _group(match: re2._Match, name: str) -> str:
    if _NUMBER.fullmatch(name) and int(name) < 2**64:
        index = int(name)
        text = match.group(index) if index <= match.re.groups else None
    else:
        text = match.group(name) if name in match.re.groupindex else None
    return text.decode() if text else ""  # the interpreter matches UTF-8 bytes (`lib_regex._search`)
