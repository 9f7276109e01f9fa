"""`ListFeed`, a real Feed over a list in memory, and `run_feeds`, which runs a spec with such feeds
in place of its unbounded sources until they are drained."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flowc.compiler.lower_plan import RAW_ERROR, ROW
from flowc.compiler.normalize import normalize_spec
from flowc.dsl import types as t
from flowc.dsl.loader import load_document
from flowc.dsl.types import Struct
from flowc.runtime.events import EventLog
from flowc.runtime.executor import RunOptions, start
from flowc.runtime.lifecycle import fold
from flowc.runtime.run_setup import prepare
from flowc.runtime.sources.kafka import lane_number


class ListFeed:
    """Records from a list: a dict is a record (values as text, as a text format delivers them), a
    string is a record that could not be decoded. Bounded feeds are exhausted at the end of the list."""

    def __init__(self, items: list, state_dir: Path, bounded: bool = False, infer: bool = False,
                 topics: tuple[str, ...] = ("clicks",)) -> None:
        self.items, self.state_dir, self.bounded, self.infer = items, state_dir, bounded, infer
        self.topics = list(topics)
        self.calls: list = []
        self.next = 0
        self.schema: Struct | None = None

    def open(self, position) -> None:
        self.calls.append(("open", position))
        self.next = position["next"] if position else 0

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None:
        taken = self.items[self.next:self.next + max_records]
        if not taken:
            return None
        first, self.next = self.next, self.next + len(taken)
        self.calls.append(("poll", max_records, len(taken)))
        names = sorted({k for item in taken if isinstance(item, dict) for k in item})
        if self.infer:
            self.schema = Struct(tuple((n, t.INT) for n in names))
        columns = {n: [str(i[n]) if isinstance(i, dict) else None for i in taken] for n in names}
        return pl.DataFrame({**columns, ROW: list(range(first, self.next)),
                             RAW_ERROR: [None if isinstance(i, dict) else f"bad json: {i}" for i in taken]},
                            schema={**{n: pl.String for n in names}, ROW: pl.Int64, RAW_ERROR: pl.String})

    def position(self) -> dict:
        return {"next": self.next}

    def committed(self, position) -> None:
        last = EventLog.open(self.state_dir).events[-1]  # the checkpoint must be durable before this
        self.calls.append(("committed", position, last.type, last.data["sources"]))

    def positions(self, rows: pl.Expr) -> pl.Expr:
        return pl.format("mem:{}", rows)

    def exhausted(self) -> bool:
        return self.bounded and self.next >= len(self.items)

    def status(self) -> dict:
        return {"pending": len(self.items) - self.next}

    def lanes(self) -> frozenset[int]:
        """As a Kafka feed: every partition of the list is assigned to this process."""
        return frozenset(lane_number(self.topics, i["_topic"], i["_partition"])
                         for i in self.items if isinstance(i, dict) and "_partition" in i)

    def close(self) -> None:
        self.calls.append(("close",))


def run_feeds(spec_path: Path, feeds: dict, limit: int | None = None, stop_when=None):
    document, _ = load_document(str(spec_path))
    spec, problems = normalize_spec(document)
    assert not problems, problems
    log = EventLog.open(spec.settings.state_dir)
    prepared = prepare(spec, document.text, fold(log.events).schema)
    drained = stop_when or (lambda: all(f.next >= len(f.items) for f in feeds.values()))
    return start(prepared, log, RunOptions(limit=limit, should_stop=drained,
                                           open_feed=lambda source, base_dir, pipeline: feeds[source.name]))
