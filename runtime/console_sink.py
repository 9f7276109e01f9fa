"""The console sink (SPEC §7): records for people, on standard output, at most `limit` of them.

Formats: `table` (a rich table per batch), `json` (one indented object per record), `jsonl` (one
line per record), `kv` (`key=value` pairs, one record per line). Colours only on a terminal (rich
decides). It has the file writer's interface so the runner treats every sink alike; its position is
how many records it printed, so a resumed run does not print past `limit` again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, TextIO

import polars as pl
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "jsonl", "kv")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds() * 1_000_000)}us"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class ConsoleSink:
    def __init__(self, name: str, format: str = "table", limit: int | None = None, out: TextIO | None = None) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown console format {format!r}")
        self.name, self.format, self.limit = name, format, limit
        self.out = out or sys.stdout
        self.console = Console(file=self.out, soft_wrap=True)
        self.printed = 0

    def write(self, df: pl.DataFrame) -> None:
        room = df.height if self.limit is None else max(self.limit - self.printed, 0)
        rows = df.head(room)
        if rows.height == 0:
            return
        self.printed += rows.height
        if self.format == "table":
            self.console.print(_table(self.name, rows))
            return
        for record in rows.iter_rows(named=True):
            self.out.write(_line(self.format, {k: _plain(v) for k, v in record.items()}) + "\n")
        self.out.flush()

    def durable(self) -> dict[str, Any]:
        self.out.flush()
        return {"printed": self.printed}

    def restore(self, position: Mapping[str, Any] | None) -> None:
        self.printed = int(position.get("printed", 0)) if position else 0

    def release(self, position: Mapping[str, Any]) -> None:
        pass

    def close(self) -> dict[str, Any]:
        return self.durable()


def _line(format: str, record: dict[str, Any]) -> str:
    if format == "jsonl":
        return json.dumps(record, ensure_ascii=False, default=str)
    if format == "json":
        return json.dumps(record, ensure_ascii=False, indent=2, default=str)
    return " ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str) if not isinstance(v, str) else v}"
                    for k, v in record.items())


def _table(title: str, rows: pl.DataFrame) -> Table:
    table = Table(title=title, title_justify="left")
    for name in rows.columns:
        table.add_column(name)
    for record in rows.iter_rows():
        table.add_row(*("null" if v is None else str(_plain(v)) for v in record))
    return table
