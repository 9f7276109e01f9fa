"""String functions of SPEC §5 (the regex ones are in `lib_regex`)."""

from __future__ import annotations

import hashlib

from flowc.dsl import types as t
from flowc.dsl.function_def import INT, STRING, FunctionDef, check_args, common_type, fits, typed, wrong
from flowc.dsl.lib_convert import CONVERTIBLE, to_string
from flowc.dsl.types import Type

# Unicode's White_Space property, spelled out so that Python and Polars strip the very same characters
# (`str.strip()` also strips U+001C..U+001F, which are not white space).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"


def _substr(s: str, start: int, n: int | None = None) -> str:
    begin = max(len(s) + start, 0) if start < 0 else start
    if n is None:
        return s[begin:]
    return s[begin:begin + n] if n > 0 else ""


def _replace(s: str, old: str, new: str) -> str:
    return s.replace(old, new) if old else s


def _split(s: str, sep: str) -> list[str]:
    return s.split(sep) if sep else list(s)


def _concat(*args: object) -> str | None:
    present = [to_string(a) for a in args if a is not None]
    return "".join(present) if present else None


def _equal(a: object, b: object) -> bool:
    # Polars compares an int with a float as two floats; so does the reference.
    if isinstance(a, float) or isinstance(b, float):
        return float(a) == float(b)  # type: ignore[arg-type]
    return a == b


def _contains(haystack: str | list, needle: object) -> bool:
    if isinstance(haystack, str):
        return needle in haystack  # type: ignore[operator]
    return any(item is not None and _equal(item, needle) for item in haystack)


def _len_type(args: tuple[Type, ...]) -> Type | str:
    ok = args[0] == t.NULL or args[0] == t.STRING or isinstance(args[0], t.ListOf)
    return t.INT if ok else f"argument 1 must be string or list, got {args[0]}"


def _concat_type(args: tuple[Type, ...]) -> Type | str:
    for i, got in enumerate(args):
        if not fits(got, CONVERTIBLE):
            return wrong(i, CONVERTIBLE, got)
    return t.STRING


def _contains_type(args: tuple[Type, ...]) -> Type | str:
    haystack, needle = args
    if haystack == t.NULL and needle != t.STRING:  # null fits a list as well as a string
        return t.BOOL
    if haystack in (t.STRING, t.NULL):
        return check_args(args, STRING, STRING) or t.BOOL
    if isinstance(haystack, t.ListOf) and isinstance(haystack.item, t.Scalar):
        common = common_type((haystack.item, needle))
        return f"argument 2 must fit the list's items ({haystack.item}), got {needle}" if isinstance(common, str) else t.BOOL
    return f"argument 1 must be string or a list of scalars, got {haystack}"


def _sha256(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def _string_fn(name: str, evaluate, doc: str, examples, decisions=()) -> FunctionDef:
    return FunctionDef(name, f"{name}(s: string) -> string", 1, 1, typed(t.STRING, STRING), evaluate,
                       "propagate", doc, examples, decisions=decisions)


def _predicate(name: str, evaluate, doc: str, examples) -> FunctionDef:
    return FunctionDef(name, f"{name}(s: string, x: string) -> bool", 2, 2, typed(t.BOOL, STRING, STRING),
                       evaluate, "propagate", doc, examples)


TEXT_FUNCTIONS = (
    _string_fn("lower", str.lower, "The string in lower case (Unicode rules: 'Σ' ending a word becomes 'ς').",
               (("lower(s)", " hello "), ("lower(\"ÀΣ\")", "àς"))),
    _string_fn("upper", str.upper, "The string in upper case (Unicode rules: 'ß' becomes 'SS').",
               (("upper(s)", " HELLO "), ("upper(\"straße\")", "STRASSE"))),
    _string_fn("trim", lambda s: s.strip(WHITESPACE), "The string without leading and trailing white space.",
               (("trim(s)", "Hello"),),
               ("trim removes the characters of Unicode's White_Space property (tab, newline, no-break space, ...)",)),
    FunctionDef("len", "len(x: string | list<T>) -> int", 1, 1, _len_type, len, "propagate",
                "The number of Unicode code points of a string, or of elements of a list.",
                (("len(s)", 7), ("len(\"né\")", 2), ("len(tags)", 3)),
                decisions=("len also counts the elements of a list",)),
    FunctionDef("substr", "substr(s: string, start: int, n?: int) -> string", 2, 3,
                typed(t.STRING, STRING, INT, INT), _substr, "propagate",
                "The characters of `s` from `start` (from 0; negative counts from the end, clamped to 0), "
                "at most `n` of them (all without `n`; none when `n <= 0`).",
                (("substr(s, 1, 3)", "Hel"), ("substr(s, -3)", "lo "), ("substr(s, -99, 2)", " H"))),
    FunctionDef("replace", "replace(s: string, old: string, new: string) -> string", 3, 3,
                typed(t.STRING, STRING, STRING, STRING), _replace, "propagate",
                "`s` with every occurrence of the literal `old` replaced by the literal `new`, left to right "
                "(an empty `old` changes nothing).",
                (("replace(s, \"l\", \"L\")", " HeLLo "), ("replace(\"aaa\", \"aa\", \"b\")", "ba"))),
    FunctionDef("split", "split(s: string, sep: string) -> list<string>", 2, 2,
                typed(t.ListOf(t.STRING), STRING, STRING), _split, "propagate",
                "The parts of `s` between occurrences of the literal `sep`.",
                (("split(\"a,b,,c\", \",\")", ["a", "b", "", "c"]), ("split(\"\", \",\")", [""]),
                 ("split(\"abc\", \"\")", ["a", "b", "c"])),
                decisions=("split with an empty separator gives the characters (none for an empty string)",)),
    FunctionDef("concat", "concat(x: any scalar, ...) -> string", 1, None, _concat_type, _concat, "skip",
                "The arguments joined, each converted as by `to_string`; null arguments are skipped, and the "
                "result is null only when every argument is null.",
                (("concat(\"id-\", n, missing, \"!\")", "id--7!"), ("concat(missing, missing)", None)),
                decisions=("concat accepts int, float, bool, datetime and date arguments, converted by to_string",)),
    FunctionDef("contains", "contains(x: string | list<T>, item: string | T) -> bool", 2, 2, _contains_type,
                _contains, "propagate",
                "For a string, whether `item` occurs in it as a literal substring (the empty string always "
                "does); for a list, whether an element equals `item` (a null element never does).",
                (("contains(s, \"ell\")", True), ("contains(tags, \"b\")", True), ("contains(tags, \"z\")", False)),
                decisions=("contains on a list compares an int with a float as two floats",)),
    _predicate("starts_with", str.startswith, "Whether `s` begins with the literal `x`.",
               (("starts_with(s, \" He\")", True), ("starts_with(s, \"He\")", False))),
    _predicate("ends_with", str.endswith, "Whether `s` ends with the literal `x`.",
               (("ends_with(s, \"o \")", True),)),
    _string_fn("sha256", _sha256, "The SHA-256 digest of the string's UTF-8 bytes, as 64 lower-case hex digits.",
               (("sha256(\"\")", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),)),
)
