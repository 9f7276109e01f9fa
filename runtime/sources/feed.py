"""The contract of an unbounded source (kafka, http with `interval`, file with `watch: true`).

A bounded source gives the runner one lazy query (`Reader`); an unbounded one is polled. The executor
calls, for one feed:

    open(position)                 once; `position` is what the last checkpoint recorded (None: none)
    poll(max_records, timeout)     repeatedly: at most `max_records` raw records, waiting at most
                                   `timeout` seconds for the first; None when nothing arrived
    position()                     JSON-able position covering every record `poll` returned so far;
                                   the executor stores it in `checkpoint_saved.sources[<name>]`
    committed(position)            after that checkpoint is durable in the event log (Kafka commits
                                   its offsets here, never earlier)
    exhausted()                    True once a bounded feed (http without `interval`) delivered all
    status()                       what `flowc status` shows (lag per partition, pending files, ...)
    close()                        at the end of the run
    lanes()                        a Kafka feed only: the lane numbers (`kafka.lane_number`) of the
                                   partitions assigned to this process now, asked before each batch

`poll` returns the raw records as `Reader.frame` would: the source's fields (text formats with scalar
fields as strings, for the `Scan` lowering to convert), metadata fields (`_key`, `_topic`, ... for
Kafka), and `flowc.compiler.lower_plan.ROW` (Int64) numbering records consecutively across the whole
run, continuing after a resume from the number the position recorded. `positions(rows)` maps ROW
values of the most recent batch to their `_source.position` text (e.g. `orders:2@1041`,
`inbox/a.csv:17`). A record that cannot be decoded at all (bad JSON, bad UTF-8) is returned with
every field null and its raw text in the column `flowc.runtime.sources.feed.RAW_ERROR` (String,
null on good records), which the executor turns into a source record error (SPEC §6).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

RAW_ERROR = "__flowc_raw_error"  # "<message>: <raw text excerpt>" for records the feed could not decode
HOLD_FOR_SCHEMA = 5.0  # seconds records that tell no schema wait for one that does (`SchemaHold`)


@dataclass
class SchemaHold:
    """Without a declared schema a feed infers one from its first batch (SPEC §3), but a batch of
    records that tell none (undecodable messages, tombstones, pages of errors or empty objects) would
    freeze an empty schema and every later record would lose its fields. The feed holds such a batch
    (and returns it before the records after it) until one that tells a schema comes, or until
    `limit` seconds have passed since the hold began; then it lets the batch go as it is."""

    limit: float = HOLD_FOR_SCHEMA
    clock: Callable[[], float] = time.monotonic
    since: float | None = None

    def holds(self, tells_nothing: bool) -> bool:
        """True to hold the batch now; `tells_nothing` says whether holding it could still help."""
        if not tells_nothing:
            self.since = None
            return False
        now = self.clock()
        self.since = now if self.since is None else self.since
        if now - self.since >= self.limit:
            self.since = None
            return False
        return True


class Feed(Protocol):
    def open(self, position: Mapping[str, Any] | None) -> None: ...

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None: ...

    def position(self) -> dict[str, Any]: ...

    def committed(self, position: Mapping[str, Any]) -> None: ...

    def positions(self, rows: pl.Expr) -> pl.Expr: ...

    def exhausted(self) -> bool: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
