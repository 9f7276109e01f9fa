"""The language's types (SPEC §3) as Polars data types, and back.

int Int64, float Float64, bool Boolean, string String, datetime Datetime("us", "UTC"), date Date,
duration Duration("us"), list<T> List, structs Struct. The literal `null` has its own type, Null.
"""

from __future__ import annotations

import polars as pl

from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct, Type

_SCALARS: dict[t.Scalar, pl.DataType] = {
    t.INT: pl.Int64(),
    t.FLOAT: pl.Float64(),
    t.BOOL: pl.Boolean(),
    t.STRING: pl.String(),
    t.DATETIME: pl.Datetime("us", "UTC"),
    t.DATE: pl.Date(),
    t.DURATION: pl.Duration("us"),
    t.NULL: pl.Null(),
}


def to_polars(type_: Type) -> pl.DataType:
    """The Polars dtype that holds values of `type_`."""
    if isinstance(type_, ListOf):
        return pl.List(to_polars(type_.item))
    if isinstance(type_, Struct):
        return pl.Struct([pl.Field(name, to_polars(ft)) for name, ft in type_.fields])
    return _SCALARS[type_]


def from_polars(dtype: pl.DataType) -> Type:
    """The language type of a Polars dtype; ValueError for dtypes the language has no type for.

    Narrower integers and floats (a Parquet `Int32`, `Float32`) read as `int` and `float`; datetimes
    of any unit or zone read as `datetime` (the reader converts them to UTC microseconds).
    """
    if isinstance(dtype, pl.List):
        return ListOf(from_polars(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return Struct(tuple((f.name, from_polars(f.dtype)) for f in dtype.fields))
    if dtype.is_integer():
        return t.INT
    if dtype.is_float():
        return t.FLOAT
    if isinstance(dtype, pl.Datetime):
        return t.DATETIME
    if isinstance(dtype, pl.Duration):
        return t.DURATION
    simple = {pl.Boolean: t.BOOL, pl.String: t.STRING, pl.Date: t.DATE, pl.Null: t.NULL}
    for polars_type, language_type in simple.items():
        if isinstance(dtype, polars_type):
            return language_type
    raise ValueError(f"no flowc type for Polars dtype {dtype}")
