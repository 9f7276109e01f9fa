"""`enrich` (SPEC §4): a lookup join of each record against a table read whole into memory.

Output: the input's fields in their order (a listed field of the same name takes the table's value in
place), then the added fields in `fields` order (all the table's but the key, in table order, when none
are listed). A listed key is added like any field: the matched row's key value, in the table's type. `how: left` gives nulls where no key matches (also in overwritten fields), `inner` drops
the record. Keys of different numeric types (or datetime units) are matched by value; other type
pairs fail the run (`flowc validate` reports them when it knows both types: E314).

`reload: true` watches the file (watchdog). A change marks the table stale; the next `process` call,
that is the next batch boundary, reads it again, and when its content differs the engine reports the
path once through `take_reload()` (the executor logs `enrich_reloaded`). A new file with duplicate
keys, or that cannot be parsed, fails the run; a file missing at that moment (deleted, not yet
replaced) keeps the old table until the file appears again. Write tables by renaming a complete file
into place: a reload reads whatever the file holds at that batch boundary.

Enrich keeps no per-record state. Its snapshot is the table's content hash, so that a run resumed
with a different table says so: `restore` reports the table as reloaded when the hash differs.
"""

from __future__ import annotations

import os
import threading

import polars as pl
from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from flowc.compiler import ir
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import to_polars
from flowc.dsl import types as t
from flowc.runtime.quiet_watchdog import silence_watchdog
from flowc.runtime.stateful.base import Emitted, StateParts
from flowc.runtime.stateful.enrich_table import KEY_COPY, LoadedTable, joinable, load_table, table_path

TABLE = "table"  # snapshot part: the table's content hash
_KEY = "__flowc_enrich_key"
_WRITES = (EVENT_TYPE_MODIFIED, EVENT_TYPE_CREATED, EVENT_TYPE_MOVED, EVENT_TYPE_CLOSED)  # not opened/read


def build(node: ir.Enrich, plan: Plan, base_dir: str) -> Enrich:
    """The engine of `node`, its table read from `base_dir` (the spec's folder); raises
    `EnrichTableError` (a ValueError) when the table cannot be used."""
    return Enrich(node, base_dir, planned_types(node, plan))


def planned_types(node: ir.Enrich, plan: Plan | None) -> dict[str, pl.DataType]:
    """The Polars types the plan gives the added fields (where it knows them), so that a table read
    whole, or re-read, yields the schema the rest of the plan was built for."""
    schema = plan.schemas.get(node) if plan is not None else None
    if schema is None:
        return {}
    return {name: to_polars(type_) for name, type_ in schema.fields if name in node.fields and type_ != t.NULL}


class Enrich:
    def __init__(self, node: ir.Enrich, base_dir: str, types: dict[str, pl.DataType] | None = None) -> None:
        self.node, self.base_dir, self.types = node, base_dir, types or {}
        self.watcher: TableWatcher | None = None
        try:
            folder = os.path.dirname(os.path.abspath(table_path(node, base_dir)))
            if node.reload and os.path.isdir(folder):  # (a missing folder fails the load just below)
                self.watcher = TableWatcher(table_path(node, base_dir))  # before reading: no change missed
            self.table: LoadedTable = load_table(node, base_dir, self.types)
        except Exception:
            self.close()
            raise
        self.reloaded: str | None = None

    def process(self, frame: pl.DataFrame, input_index: int = 0) -> Emitted:
        if self.watcher is not None and self.watcher.take_change():
            self._reload()
        output = enrich_frame(frame, self.table.frame, self.node)
        return Emitted(output=output if output.height else None)

    def end_of_input(self, input_index: int = 0) -> Emitted:
        return Emitted()

    def take_reload(self) -> str | None:
        """The table's path when it was re-read with new content since the last call, else None."""
        reloaded, self.reloaded = self.reloaded, None
        return reloaded

    def snapshot(self) -> StateParts:
        return {TABLE: self.table.digest.encode()}

    def restore(self, parts: StateParts) -> None:
        recorded = parts.get(TABLE)
        if isinstance(recorded, bytes) and recorded.decode() != self.table.digest:
            self.reloaded = self.table.path  # resumed with another table than the checkpoint's

    def close(self) -> None:
        """Stop watching the file (the watcher is a daemon thread, so a process may also just exit)."""
        if self.watcher is not None:
            self.watcher.stop()

    def _reload(self) -> None:
        if not os.path.exists(table_path(self.node, self.base_dir)):
            return  # replaced by delete-then-create: the creation will mark it again
        table = load_table(self.node, self.base_dir, self.types)
        if table.digest != self.table.digest:
            self.table, self.reloaded = table, table.path


def enrich_frame(frame: pl.DataFrame, table: pl.DataFrame, node: ir.Enrich) -> pl.DataFrame:
    """`frame` joined with `table` (its key column first, then the added fields), as the module says."""
    key_type = frame.schema[node.left_on]
    if key_type == pl.Null:  # a batch whose key is all null: nothing can match
        left = frame.with_columns(pl.col(node.left_on).cast(table.schema[node.right_on]).alias(_KEY))
    else:
        left = frame.with_columns(pl.col(node.left_on).alias(_KEY))
        table = joinable(table, key_type, node)
    added = {node.right_on if c == KEY_COPY else c: c for c in table.columns[1:]}  # output name: table column
    hidden = {name: f"__flowc_enrich_{i}" for i, name in enumerate(added)}
    lookup = table.rename({node.right_on: _KEY, **{added[name]: h for name, h in hidden.items()}})
    joined = left.join(lookup, on=_KEY, how="inner" if node.how == "inner" else "left", maintain_order="left")
    columns = [pl.col(hidden[c]).alias(c) if c in hidden else pl.col(c) for c in frame.columns]
    columns += [pl.col(hidden[c]).alias(c) for c in added if c not in frame.schema]
    return joined.select(columns)


class TableWatcher(FileSystemEventHandler):
    """Marks the table changed when its file is written, created, or renamed into place."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.changed = threading.Event()
        silence_watchdog()
        self.observer = Observer()
        self.observer.schedule(self, os.path.dirname(self.path), recursive=False)
        self.observer.start()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _WRITES:
            return
        paths = (event.src_path, getattr(event, "dest_path", "") or "")
        if any(p and os.path.abspath(os.fsdecode(p)) == self.path for p in paths):
            self.changed.set()

    def take_change(self) -> bool:
        if not self.changed.is_set():
            return False
        self.changed.clear()
        return True

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
