"""Polars implementations of the string and regex functions (`flowc.dsl.lib_text`, `lib_regex`)."""

from __future__ import annotations

import hashlib

import polars as pl

from flowc.compiler.lower_fn_convert import string_of
from flowc.compiler.lower_fn_support import Impl, constant, null_of, propagating
from flowc.compiler.lowered import Lowered, first_error
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.dsl.lib_text import WHITESPACE
from flowc.dsl.regex import to_rust
from flowc.dsl.types import Type


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
    "lower": propagating(lambda v, ty, r: v[0].str.to_lowercase()),
    "upper": propagating(lambda v, ty, r: v[0].str.to_uppercase()),
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
