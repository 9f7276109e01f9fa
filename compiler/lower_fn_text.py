"""Polars implementations of the string and regex functions (`flowc.dsl.lib_text`, `lib_regex`)."""

from __future__ import annotations

import hashlib

import polars as pl

from flowc.compiler.lower_fn_convert import string_of
from flowc.compiler.lower_fn_support import Impl, constant, null_of, propagating
from flowc.compiler.lowered import Lowered, first_error
from flowc.compiler.polars_types import to_polars
from flowc.compiler.source_types import fast_only, slow_path_signal
from flowc.dsl import types as t
from flowc.dsl.lib_text import WHITESPACE
from flowc.dsl.regex import to_rust
from flowc.dsl.types import Type

# Code points whose case mapping differs between Python's Unicode tables (14.0 in Python 3.11) and
# Polars' (Rust's, newer): rows holding one are cased by Python, so that both sides agree.
# `tests/compiler/test_lower_functions.py` recomputes these ranges over every code point.
CASE_DIFFERENCES = ((0x19B, 0x19B), (0x264, 0x264), (0x1C89, 0x1C8A), (0xA7CB, 0xA7CF), (0xA7D2, 0xA7D5),
                    (0xA7DA, 0xA7DC), (0x10D50, 0x10D65), (0x10D70, 0x10D85), (0x16EA0, 0x16EB8), (0x16EBB, 0x16ED3))
_DIFFERENT = "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in CASE_DIFFERENCES) + "]"


def _cased(method: str) -> Impl:
    def batch(strings: pl.Series) -> pl.Series:
        cased = strings.str.to_lowercase() if method == "lower" else strings.str.to_uppercase()
        odd = strings.str.contains(_DIFFERENT).fill_null(False)
        if not odd.any():
            return cased
        fixed = [getattr(s, method)() for s in strings.filter(odd).to_list()]
        return cased.scatter(odd.arg_true(), pl.Series(fixed, dtype=pl.String))

    def lowered(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
        strings = v[0]
        if fast_only():  # no Python in a fast query (it would hold the GIL): a row that needs it fails the query
            cased = strings.str.to_lowercase() if method == "lower" else strings.str.to_uppercase()
            # every such code point is past ASCII: the regex only sees texts that are not (4x less CPU on W1)
            beyond_ascii = pl.when(strings.str.len_bytes() != strings.str.len_chars()).then(strings)
            return pl.coalesce(slow_path_signal(beyond_ascii.str.contains(_DIFFERENT)), cased).name.keep()
        return strings.map_batches(batch, return_dtype=pl.String, is_elementwise=True)

    return propagating(lowered)


def _len(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    counted = v[0].str.len_chars() if types[0] == t.STRING else v[0].list.len()
    return counted.cast(pl.Int64)  # Polars counts in u32; the language's ints are 64-bit


def _substr(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    s, start = v[0], v[1]
    # Polars' negative offsets do not clamp (`slice(-10, 2)` of "abc" is ""), so compute the start here
    begin = pl.when(start < 0).then(pl.max_horizontal(s.str.len_chars().cast(pl.Int64) + start, 0)).otherwise(start)
    if len(v) == 2:
        return s.str.slice(begin)
    return s.str.slice(begin, pl.when(v[2] > 0).then(v[2]).otherwise(0))


def _replace(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    s, old, new = v
    # `str.replace_all` takes no per-row pattern; splitting on it and joining is the same replacement
    return pl.when(old == "").then(s).otherwise(s.str.split(old).list.join(new))


def _contains(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    haystack, needle = v
    if types[0] == t.STRING:
        return haystack.str.contains(needle, literal=True)
    item = t.common_supertype(types[0].item, types[1])  # type: ignore[union-attr]
    return haystack.cast(pl.List(to_polars(item))).list.contains(needle.cast(to_polars(item)))


def _sha256_batch(strings: pl.Series) -> pl.Series:
    digests = [None if s is None else hashlib.sha256(s.encode()).hexdigest() for s in strings.to_list()]
    return pl.Series(digests, dtype=pl.String)


def _concat(args: tuple[Lowered, ...], types: tuple[Type, ...], result: Type) -> Lowered:
    parts = [string_of(a.value, ty) for a, ty in zip(args, types, strict=True) if ty != t.NULL]
    errors = first_error(*(a.error for a in args))
    if not parts:
        return Lowered(null_of(t.STRING), errors)
    joined = pl.concat_str(parts, ignore_nulls=True)
    return Lowered(pl.when(pl.all_horizontal([p.is_null() for p in parts])).then(null_of(t.STRING))
                   .otherwise(joined), errors)


def _regex(v: list[pl.Expr], index: int = 1) -> str:
    return to_rust(constant(Lowered(v[index])))  # type: ignore[arg-type]


def _regex_extract(v: list[pl.Expr], types: tuple[Type, ...], result: Type) -> pl.Expr:
    return v[0].str.extract(_regex(v), constant(Lowered(v[2])))  # type: ignore[arg-type]


TEXT_IMPLEMENTATIONS: dict[str, Impl] = {
    "lower": _cased("lower"),
    "upper": _cased("upper"),
    "trim": propagating(lambda v, ty, r: v[0].str.strip_chars(WHITESPACE)),
    "len": propagating(_len),
    "substr": propagating(_substr),
    "replace": propagating(_replace),
    "split": propagating(lambda v, ty, r: v[0].str.split(v[1])),
    "concat": _concat,
    "contains": propagating(_contains),
    "starts_with": propagating(lambda v, ty, r: v[0].str.starts_with(v[1])),
    "ends_with": propagating(lambda v, ty, r: v[0].str.ends_with(v[1])),
    "sha256": propagating(lambda v, ty, r: v[0].map_batches(_sha256_batch, return_dtype=pl.String,
                                                            is_elementwise=True)),
    "matches": propagating(lambda v, ty, r: v[0].str.contains(_regex(v))),
    "regex_extract": propagating(_regex_extract),
    "regex_replace": propagating(lambda v, ty, r: v[0].str.replace_all(_regex(v), v[2])),
}
