"""Setting (dotted) targets of a `map` or `select` in Polars (SPEC §4: `user.tier` sets a nested field).

A dotted target follows the struct the record has: each struct on its path is rebuilt with its other
fields kept in place and the missing ones appended, as the type checker's `with_field` orders them. A
part of the path that is missing, not a struct, or null becomes a struct, its other fields null: like
jq's and Vector's `.user.tier = x`, setting a nested field never drops the value because its parent was
null. Which fields each struct has is read from the frame's dtypes, once per `map`, and then followed
through the targets set so far (a later target of the same `map` sees the struct an earlier one made).
"""

from __future__ import annotations

import polars as pl

Shape = dict[str, "Shape | None"]  # a struct's fields by name, each with its own shape (None: not a struct)
Target = tuple[tuple[str, ...], pl.Expr]  # a dotted path and the value it gets


def set_targets(lf: pl.LazyFrame, targets: list[Target]) -> pl.LazyFrame:
    """`lf` with each target set in order (the values are columns of `lf`, computed from its input)."""
    if all(len(target) == 1 for target, _ in targets):  # no struct to follow: no schema needed
        return lf.with_columns(value.alias(target[0]) for target, value in targets)
    dtypes = lf.collect_schema()  # once: each resolution walks the whole query so far
    columns: Shape = {name: _shape(dtype) for name, dtype in dtypes.items()}
    for target, value in targets:
        head, rest = target[0], target[1:]
        if not rest:
            lf = lf.with_columns(value.alias(head))
            columns[head] = _shape(dtypes[value.meta.output_name()])
            continue
        lf = lf.with_columns(_with_path(pl.col(head), columns.get(head), rest, value).alias(head))
        columns[head] = _shape_with(columns.get(head), rest, _shape(dtypes[value.meta.output_name()]))
    return lf


def _shape(dtype: pl.DataType) -> Shape | None:
    if isinstance(dtype, pl.Struct):
        return {f.name: _shape(f.dtype) for f in dtype.fields}
    return None


def _with_path(parent: pl.Expr, fields: Shape | None, path: tuple[str, ...], value: pl.Expr) -> pl.Expr:
    """A struct: `parent`'s fields (`fields`; None when `parent` is not a struct) with `path` set to
    `value`. Built anew rather than by `struct.with_fields`, which keeps a null struct null and needs
    every field on the path to exist."""
    head, rest = path[0], path[1:]
    known = fields or {}
    if rest:
        inner = known.get(head)
        value = _with_path(parent.struct.field(head) if inner is not None else pl.lit(None), inner, rest, value)
    members = [(value if name == head else parent.struct.field(name)).alias(name) for name in known]
    if head not in known:
        members.append(value.alias(head))
    return pl.struct(members)


def _shape_with(fields: Shape | None, path: tuple[str, ...], value: Shape | None) -> Shape:
    """The shape `_with_path` gives."""
    head, rest = path[0], path[1:]
    known = dict(fields or {})
    known[head] = _shape_with(known.get(head), rest, value) if rest else value
    return known


def built(targets: list[Target]) -> list[pl.Expr]:
    """`select: {a.b: x, a.c: y, d: z}` as columns `a: {b, c}` and `d`, in first-appearance order."""
    groups: dict[str, list[Target]] = {}
    for target, value in targets:
        groups.setdefault(target[0], []).append((target[1:], value))
    out = []
    for head, members in groups.items():
        leaf = next((v for path, v in members if not path), None)
        nested = [(p, v) for p, v in members if p]
        out.append(leaf.alias(head) if leaf is not None and not nested else pl.struct(built(nested)).alias(head))
    return out
