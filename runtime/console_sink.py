"""The console sink (SPEC §7): records for people, on standard output, at most `limit` of them.

Formats: `table` (a rich table per batch), `json` (one indented object per record), `jsonl` (one
line per record), `kv` (`key=value` pairs, one record per line). Colours only on a terminal (rich
decides). It has the file writer's interface so the runner treats every sink alike; its position is
how many records it printed, so a resumed run does not print past `limit` again. Records past `limit`
are received and dropped: they are not counted as written. A reader that closes its end of a pipe
(`flowc run | head`) fails the run at that batch (`OutputClosed`, exit 1): its records cannot be
delivered, and the checkpoint stays at the batch before, as for any failed write.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import polars as pl
from rich.console import Console
from rich.table import Table

from flowc.runtime.sinks.encoding import encode_jsonl

FORMATS = ("table", "json", "jsonl", "kv")


def _records(rows: pl.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """Each record as the file sinks' JSON lines write it (datetimes `...00.000000Z`, durations ISO
    8601, non-finite floats null), with its line: a console shows the values a file would hold."""
    lines = encode_jsonl(rows).decode().splitlines()
    return [(line, json.loads(line)) for line in lines]


class OutputClosed(OSError):
    """The console sink's reader closed its end (`flowc run | head`): the batch cannot be delivered."""


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich's own exits the process (`SystemExit`), which would leave the event log saying running."""
        self.quiet = True
        raise BrokenPipeError


class ConsoleSink:
    def __init__(self, name: str, format: str = "table", limit: int | None = None, out: TextIO | None = None) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown console format {format!r}")
        self.name, self.format, self.limit = name, format, limit
        self.out = out or sys.stdout
        # off a terminal (a pipe, a file) a table is as wide as its values, not folded to 80 columns
        tty = hasattr(self.out, "isatty") and self.out.isatty()
        self.console = _Console(file=self.out, soft_wrap=True, width=None if tty else 1 << 12)
        self.printed = 0

    def taking(self, records: int) -> int:
        """How many of the next `records` records it prints: the records it writes (docs/reference.md)."""
        return records if self.limit is None else min(records, max(self.limit - self.printed, 0))

    def write(self, df: pl.DataFrame) -> None:
        rows = df.head(self.taking(df.height))
        if rows.height == 0:
            return
        self.printed += rows.height
        with self._reader_present():
            if self.format == "table":
                self.console.print(_table(self.name, rows))
                return
            for line, record in _records(rows):
                self.out.write((line if self.format == "jsonl" else _shown(self.format, record)) + "\n")
            self.out.flush()

    def durable(self) -> dict[str, Any]:
        with self._reader_present():
            self.out.flush()
        return {"printed": self.printed}

    @contextmanager
    def _reader_present(self) -> Iterator[None]:
        """A reader that went away (`flowc run | head`) fails the run saying so, not 'Broken pipe'."""
        try:
            yield
        except BrokenPipeError:
            if self.out is sys.stdout:  # what is still buffered goes nowhere at exit, without a second error
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
            raise OutputClosed(f"console sink '{self.name}': its output was closed (broken pipe); this batch's "
                               "records were not all printed") from None

    def restore(self, position: Mapping[str, Any] | None) -> None:
        self.printed = int(position.get("printed", 0)) if position else 0

    def release(self, position: Mapping[str, Any]) -> None:
        pass

    def close(self) -> dict[str, Any]:
        return self.durable()


def _shown(format: str, record: dict[str, Any]) -> str:
    if format == "json":
        return json.dumps(record, ensure_ascii=False, indent=2)
    return " ".join(f"{k}={_kv_value(v)}" for k, v in record.items())


def _kv_value(value: Any) -> str:
    """A value of a `key=value` pair, logfmt style so a line splits on spaces and then on its first
    `=`: a list or struct as the compact JSON a JSON lines file holds (`[1,2]`), then that text or a
    string bare unless it is empty or holds a space, `=`, a quote, a backslash or a control character
    (then JSON-quoted); null, numbers and booleans as JSON."""
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    elif not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value and not any(c.isspace() or c in '="\\' or not c.isprintable() for c in value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _table(title: str, rows: pl.DataFrame) -> Table:
    table = Table(title=title, title_justify="left")
    for name in rows.columns:
        table.add_column(name, overflow="fold")
    for _, record in _records(rows):
        table.add_row(*(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in record.values()))
    return table
