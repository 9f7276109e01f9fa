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

from collections.abc import Mapping
from typing import Any, Protocol

import polars as pl

RAW_ERROR = "__flowc_raw_error"  # "<message>: <raw text excerpt>" for records the feed could not decode


class Feed(Protocol):
    def open(self, position: Mapping[str, Any] | None) -> None: ...

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None: ...

    def position(self) -> dict[str, Any]: ...

    def committed(self, position: Mapping[str, Any]) -> None: ...

    def positions(self, rows: pl.Expr) -> pl.Expr: ...

    def exhausted(self) -> bool: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...
