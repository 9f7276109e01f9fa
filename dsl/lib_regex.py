"""Regex functions of SPEC §5: matching is linear-time (RE2 here, Rust's regex in Polars).

The regex argument must be a constant, so that a bad one is a compile error (E223) and every record
uses one compiled pattern.
"""

from __future__ import annotations

from flowc.dsl import types as t
from flowc.dsl.function_def import INT, STRING, FunctionDef, Problem, typed
from flowc.dsl.regex import compile_re2, expand, group_count, regex_problem

REGEX = (1, "string (a regex literal)")


def _matches(s: str, pattern: str) -> bool:
    return _search(compile_re2(pattern), s.encode(), 0) is not None


def _extract(s: str, pattern: str, group: int) -> str | None:
    match = _search(compile_re2(pattern), s.encode(), 0)
    text = None if match is None else match.group(group)
    return None if text is None else text.decode()


def _regex_replace(s: str, pattern: str, repl: str) -> str:
    """Every match replaced, left to right, as Rust's `replace_all` does: an empty match right where
    the previous match ended is skipped (`regex_replace("baaac", "a*", "-")` is `-b-c-`)."""
    regex = compile_re2(pattern)
    data = s.encode()
    out: list[str] = []
    pos = done = 0
    last_end = -1
    while pos <= len(data) and (match := _search(regex, data, pos)) is not None:
        start, end = match.span()
        if start == end == last_end:
            pos = end + 1
            continue
        out.append(data[done:start].decode())
        out.append(expand(repl, match))
        done = last_end = end
        pos = end if end > start else end + 1
    out.append(data[done:].decode())
    return "".join(out)


def _search(regex, data: bytes, pos: int):
    """The first match at or after byte `pos` that starts between two characters. RE2 matches the
    UTF-8 bytes, and its `\\B` also holds between the bytes of one character (`matches("aéa", "\\B")`
    would be true); Rust's regex, like a reader, sees no position there and skips such a match."""
    while (match := regex.search(data, pos)) is not None:
        start = match.start()
        if start == len(data) or data[start] & 0xC0 != 0x80:
            return match
        pos = start + 1
    return None


def _check_regex(constants: tuple[object, ...]) -> list[Problem]:
    pattern = constants[1]
    problem = regex_problem(pattern) if isinstance(pattern, str) else None
    return [(1, "E223", {"problem": problem})] if problem else []


def _check_extract(constants: tuple[object, ...]) -> list[Problem]:
    problems = _check_regex(constants)
    pattern, group = constants[1], constants[2]
    if problems or not isinstance(pattern, str) or not isinstance(group, int):
        return problems
    groups = group_count(pattern)
    if not 0 <= group <= groups:
        return [(2, "E225", {"name": "regex_extract",
                             "problem": f"group {group} does not exist; the regex has groups 0 to {groups}"})]
    return []


REGEX_FUNCTIONS = (
    FunctionDef("matches", "matches(s: string, regex: string) -> bool", 2, 2, typed(t.BOOL, STRING, STRING),
                _matches, "propagate",
                "Whether the regex matches anywhere in `s` (anchor it with `^...$`).",
                (("matches(s, \"^ H\")", True), ("matches(\"a1\", \"^[a-z][0-9]$\")", True),
                 ("matches(\"٣\", \"\\\\d\")", False)),
                constant_args=(REGEX,), check_values=_check_regex,
                decisions=("\\d \\w \\s \\b are ASCII-only (as in RE2); use \\pN or \\p{L} for Unicode classes",)),
    FunctionDef("regex_extract", "regex_extract(s: string, regex: string, group: int) -> string", 3, 3,
                typed(t.STRING, STRING, STRING, INT), _extract, "propagate",
                "The text of capture `group` (0: the whole match) in the first match of the regex in `s`; "
                "null when the regex does not match or the group takes no part in the match.",
                (("regex_extract(\"id=42;\", \"id=([0-9]+)\", 1)", "42"),
                 ("regex_extract(s, \"[0-9]+\", 0)", None)),
                constant_args=(REGEX, (2, "int (a group number)")), check_values=_check_extract,
                decisions=("regex_extract's group must be a constant between 0 and the regex's group count",)),
    FunctionDef("regex_replace", "regex_replace(s: string, regex: string, repl: string) -> string", 3, 3,
                typed(t.STRING, STRING, STRING, STRING), _regex_replace, "propagate",
                "`s` with every match of the regex replaced by `repl`, in which `$1` or `${1}` is a capture "
                "group's text, `${name}` a named group's, and `$$` a `$`.",
                (("regex_replace(\"a1b22\", \"[0-9]+\", \"#\")", "a#b#"),
                 ("regex_replace(\"2024-03-10\", \"([0-9]+)-([0-9]+)-([0-9]+)\", \"$3.$2.$1\")", "10.03.2024")),
                constant_args=(REGEX,), check_values=_check_regex,
                decisions=("regex_replace's repl uses Rust's syntax: $1, ${1}, ${name}, $$ (an unknown group is empty)",
                           "in a spec file ${...} is an environment variable (SPEC §1): write ${1} as $${1}",)),
)
