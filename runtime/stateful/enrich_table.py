"""Reading an `enrich` lookup table whole (SPEC §4), and making its key joinable with the input's.

The file is read as bytes once, hashed, and parsed from those bytes, so the hash a checkpoint records is
the hash of exactly the table in use. A table is refused (`EnrichTableError`, a `ValueError` that fails
the run with its message) when it cannot be read, lacks the key or a listed field, does not fit its
declared schema, or holds a key value twice. Rows with a null key are dropped: a null key matches
nothing (as in SQL).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from flowc.compiler import ir
from flowc.compiler.normalize_io import file_format
from flowc.compiler.polars_types import to_polars
from flowc.compiler.spec import thaw

_SHOWN = 5  # duplicated key values named in the message
KEY_COPY = "__flowc_enrich_key_value"  # the table's key as an added field, when `fields` lists it


class EnrichTableError(ValueError):
    """An enrich table that cannot be used; the message names the step, the file and the problem."""


@dataclass(frozen=True, slots=True)
class LoadedTable:
    path: str  # as the spec writes it
    frame: pl.DataFrame  # the key column, then the added fields (a listed key as KEY_COPY)
    digest: str  # "sha256:<hex>" of the file's bytes


def table_path(node: ir.Enrich, base_dir: str) -> str:
    return os.path.join(base_dir, node.table.path)


def load_table(node: ir.Enrich, base_dir: str, types: Mapping[str, pl.DataType] | None = None) -> LoadedTable:
    """The table of `node`, its fields cast to `types` (the plan's types of the added fields) and to
    the table's declared schema."""
    path = table_path(node, base_dir)
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as error:
        raise _error(node, f"cannot be read: {error.strerror or error}") from error
    try:
        frame = _parse(gzip.decompress(content) if path.endswith(".gz") else content, node)
    except (pl.exceptions.PolarsError, ValueError, OSError, EOFError) as error:
        raise _error(node, f"cannot be parsed: {str(error).splitlines()[0] if str(error) else error}") from error
    frame = _shaped(frame, node, types or {})
    return LoadedTable(node.table.path, frame, "sha256:" + hashlib.sha256(content).hexdigest())


def _parse(content: bytes, node: ir.Enrich) -> pl.DataFrame:
    format_ = file_format(node.table.format, node.table.path)
    options = thaw(node.table.config.get("options")) or {}
    if format_ == "csv":
        header = options.get("header", True) is not False
        return pl.read_csv(io.BytesIO(content), has_header=header, separator=str(options.get("delimiter", ",")),
                           quote_char=options.get("quote", '"'), null_values=options.get("null_values"),
                           infer_schema_length=None, try_parse_dates=True)
    if format_ == "jsonl":
        return pl.read_ndjson(io.BytesIO(content), infer_schema_length=None)
    if format_ == "json":
        return pl.read_json(io.BytesIO(content), infer_schema_length=None)
    if format_ == "parquet":
        return pl.read_parquet(io.BytesIO(content))
    raise ValueError(f"the format '{format_}' is not a table format (csv, jsonl, json, parquet)")


def _shaped(frame: pl.DataFrame, node: ir.Enrich, types: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The key and the added fields, typed as declared and planned, null keys dropped, duplicate keys refused."""
    declared = {n: to_polars(t) for n, t in node.table.schema.fields} if node.table.schema is not None else {}
    wanted_types = {n: d for n, d in {**declared, **types}.items() if n in frame.columns}
    if wanted_types:
        frame = _typed(frame, node, wanted_types)
    wanted = added_fields(node, frame.columns)
    missing = [n for n in (node.right_on, *wanted) if n not in frame.columns]
    if missing:
        names = ", ".join(f"'{n}'" for n in missing)
        raise _error(node, f"has no field {names}; its fields are {', '.join(frame.columns)}")
    # a listed key is an added field too (SPEC §4: `fields` overwrite), kept as a copy in the table's own
    # type: the key column itself is cast to the input key's type to be joined
    frame = frame.select(node.right_on, *(pl.col(n).alias(KEY_COPY) if n == node.right_on else n for n in wanted))
    frame = frame.filter(pl.col(node.right_on).is_not_null())
    duplicated = frame.filter(pl.col(node.right_on).is_duplicated()).get_column(node.right_on).unique(
        maintain_order=True)
    if duplicated.len():
        shown = ", ".join(repr(v) for v in duplicated.head(_SHOWN).to_list())
        more = f" (and {duplicated.len() - _SHOWN} more)" if duplicated.len() > _SHOWN else ""
        raise _error(node, f"has duplicate keys in '{node.right_on}': {shown}{more}; each key may appear once")
    return frame


def added_fields(node: ir.Enrich, columns: list[str]) -> tuple[str, ...]:
    """The fields the step adds: those listed (the key too, when listed), else every table field but the key."""
    return node.fields or tuple(n for n in columns if n != node.right_on)


def _typed(frame: pl.DataFrame, node: ir.Enrich, dtypes: dict[str, pl.DataType]) -> pl.DataFrame:
    try:
        return frame.cast(dtypes, strict=True)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError as error:
        raise _error(node, f"does not fit its schema (declared, or as planned when the run started): "
                           f"{str(error).splitlines()[0]}") from error


def _error(node: ir.Enrich, problem: str) -> EnrichTableError:
    return EnrichTableError(f"enrich '{node.step}': table '{node.table.path}' {problem}")


def joinable(table: pl.DataFrame, input_dtype: pl.DataType, node: ir.Enrich) -> pl.DataFrame:
    """`table` with its key cast to the input key's type, where values can be equal across the two types.

    int <- float keeps only integral values (1.5 can equal no int); float <- int, int <- int of another
    width and datetime <- datetime of another unit convert values (out of range: dropped, it can match
    nothing); a key column with no value (null-typed) converts to anything. Other pairs (string against
    int, date against datetime) are refused.
    """
    key = node.right_on
    source = table.schema[key]
    if source == input_dtype:
        return table
    numeric = source.is_numeric() and input_dtype.is_numeric()
    if not (source == pl.Null or numeric or (isinstance(source, pl.Datetime) and isinstance(input_dtype, pl.Datetime))):
        raise EnrichTableError(f"enrich '{node.step}': key '{node.left_on}' is {input_dtype} in the input but "
                               f"'{key}' is {source} in table '{node.table.path}'")
    if source.is_float() and input_dtype.is_integer():
        table = table.filter(pl.col(key) == pl.col(key).round())
    return table.with_columns(pl.col(key).cast(input_dtype, strict=False)).filter(pl.col(key).is_not_null())
