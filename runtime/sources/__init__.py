"""Bounded sources (SPEC §3): each gives the runner ONE lazy query of its raw records.

A reader's `frame(after, limit)` is a LazyFrame of the records after row `after` (all when None), at
most `limit` of them, with the hidden row number `ROW`; text formats give their scalar fields as
strings, which the `Scan` lowering converts to the schema (so a bad value is a record error). Keeping
the whole read one lazy query lets Polars push projections and filters into the file scan even though
the runner consumes it in micro-batches.
"""

from __future__ import annotations

from flowc.compiler.spec import Source
from flowc.runtime.sources.base import Reader
from flowc.runtime.sources.files import FileReader
from flowc.runtime.sources.generated import GenerateReader, InlineReader

__all__ = ["Reader", "open_reader"]


def open_reader(source: Source, base_dir: str) -> Reader:
    """The reader of a bounded `source`; relative paths are relative to `base_dir` (the spec's folder)."""
    if source.type == "file":
        return FileReader(source, base_dir)
    if source.type == "inline":
        return InlineReader(source)
    if source.type == "generate":
        return GenerateReader(source)
    raise ValueError(f"no reader for source type '{source.type}'")
