"""Bounded sources (SPEC §3): each gives the runner ONE lazy query of its raw records.

A reader's `frame(after, limit)` is a LazyFrame of the records after row `after` (all when None), at
most `limit` of them, with the hidden row number `ROW`; text formats give their scalar fields as
strings, which the `Scan` lowering converts to the schema (so a bad value is a record error). Keeping
the whole read one lazy query lets Polars push projections and filters into the file scan even though
the runner consumes it in micro-batches.

Polled sources (kafka, http, a file with `watch: true`) are `Feed`s instead (`runtime/sources/feed.py`),
opened with `open_feed`; their modules are imported only when a spec uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowc.compiler.spec import Source
from flowc.runtime.sources.base import Reader
from flowc.runtime.sources.files import FileReader
from flowc.runtime.sources.generated import GenerateReader, InlineReader

if TYPE_CHECKING:
    from flowc.runtime.sources.feed import Feed

__all__ = ["Reader", "is_feed", "open_feed", "open_reader"]


def is_feed(source: Source) -> bool:
    """Polled rather than scanned: kafka, http (also a one-pass http source), a watched file, a generator
    with a `rate` or without a `count`."""
    if source.type == "generate":
        return not source.bounded or source.config.get("rate") is not None
    return source.type in ("kafka", "http") or (source.type == "file" and not source.bounded)


def open_feed(source: Source, base_dir: str, pipeline: str) -> Feed:
    """The (not yet opened) feed of a polled `source`; relative paths are relative to `base_dir`."""
    if source.type == "kafka":
        from flowc.runtime.sources.kafka import KafkaFeed

        return KafkaFeed(source, pipeline)
    if source.type == "http":
        from flowc.runtime.sources.http import HttpFeed

        return HttpFeed(source, base_dir)
    if source.type == "file":
        from flowc.runtime.sources.watch import WatchFeed

        return WatchFeed(source, base_dir)
    if source.type == "generate":
        from flowc.runtime.sources.generated import GenerateFeed

        return GenerateFeed(source)
    raise ValueError(f"no feed for source type '{source.type}'")


def open_reader(source: Source, base_dir: str) -> Reader:
    """The reader of a bounded `source`; relative paths are relative to `base_dir` (the spec's folder)."""
    if source.type == "file":
        return FileReader(source, base_dir)
    if source.type == "inline":
        return InlineReader(source)
    if source.type == "generate":
        return GenerateReader(source)
    raise ValueError(f"no reader for source type '{source.type}'")
