"""What `flowc run` shows while it runs (SPEC §10: a live progress display).

On a terminal (stderr is a tty, text log format): a rich `Live` panel of records read and records/s,
batches, records written per sink, errors (skipped, dead-lettered, late) and elapsed time, redrawn
at most `REFRESH_PER_SECOND` times a second by rich's own refresh thread (so elapsed time moves
between slow batches), and removed before the summary table. Otherwise: one plain or JSON line at
most once a second (`LINE_INTERVAL`); every batch is in the event log anyway.

    progress = open_progress(log)        # `log`: flowc.run_command's _Log (quiet, json, terminal, event)
    progress(report)                     # RunOptions.on_batch: once per committed batch
    progress.paused(True)                # RunOptions.on_pause: `flowc pause` took effect (False: resumed)
    progress.close()                     # before the summary
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

REFRESH_PER_SECOND = 4
LINE_INTERVAL = 1.0


class _Log(Protocol):
    quiet: bool
    json: bool
    terminal: bool

    def event(self, message: str, /, **data: Any) -> None: ...


@dataclass
class Snapshot:
    """The numbers the display shows, updated once per batch report."""

    started: float
    batches: int = 0
    read: int = 0  # in this process (rates must not count what a resumed run read before)
    written: dict[str, int] = field(default_factory=dict)  # totals per sink, resumed runs included
    skipped: int = 0
    dead_lettered: int = 0
    late: int = 0
    total_read: int = 0
    paused: bool = False  # by `flowc pause`, until `flowc resume`

    def update(self, report: Any) -> None:
        totals = report.totals
        self.batches, self.read = report.batch, self.read + report.counts.read
        self.written, self.total_read = dict(totals.written), totals.read
        self.skipped, self.dead_lettered, self.late = totals.skipped, totals.dead_lettered, totals.late

    def rate(self, now: float) -> float:
        elapsed = now - self.started
        return self.read / elapsed if elapsed > 0 else 0.0


class LineProgress:
    """At most one `batch committed` line per `LINE_INTERVAL` seconds, plain or JSON (via the log)."""

    def __init__(self, log: _Log, clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.clock = log, clock
        self.last: float | None = None

    def __call__(self, report: Any) -> None:
        if report.counts.nothing:  # a checkpoint of no batch
            return
        now = self.clock()
        if self.last is not None and now - self.last < LINE_INTERVAL:
            return
        self.last = now
        totals = report.totals
        self.log.event("batch committed", batch=report.batch, read=totals.read,
                       written=sum(totals.written.values()), skipped=totals.skipped,
                       dead_lettered=totals.dead_lettered, late=totals.late)

    def paused(self, paused: bool) -> None:
        """Always shown, whatever the interval: a run that stops reading must say why."""
        if not paused:
            self.log.event("resumed")
        elif self.log.json:
            self.log.event("paused")
        else:
            self.log.event("paused (reading no source until 'flowc resume')")

    def close(self) -> None:
        pass


class LiveProgress:
    """A rich Live panel on stderr; rich's thread redraws it, reading the shared snapshot."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.clock = clock
        self.snapshot = Snapshot(started=clock())
        self.live = Live(self, console=console or Console(stderr=True), refresh_per_second=REFRESH_PER_SECOND,
                         transient=True, redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def __call__(self, report: Any) -> None:
        self.snapshot.update(report)  # plain attribute writes: the refresh thread reads whole values

    def paused(self, paused: bool) -> None:
        self.snapshot.paused = paused

    def __rich__(self) -> Any:
        return render(self.snapshot, self.clock())

    def close(self) -> None:
        self.live.stop()


def render(snapshot: Snapshot, now: float) -> Any:
    """The panel: one row per figure, sinks in the order the counts give them (the spec's)."""
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    elapsed = now - snapshot.started
    table.add_row("read", f"{snapshot.total_read:,}")
    table.add_row("records/s", f"{snapshot.rate(now):,.0f}")
    table.add_row("batches", f"{snapshot.batches:,}")
    for sink, count in snapshot.written.items():
        table.add_row(f"written {sink}", f"{count:,}")
    errors = snapshot.skipped + snapshot.dead_lettered + snapshot.late
    detail = f"skipped {snapshot.skipped:,}, dead-lettered {snapshot.dead_lettered:,}"
    table.add_row("errors", f"{errors:,}", detail + (f", late {snapshot.late:,}" if snapshot.late else ""))
    table.add_row("elapsed", f"{int(elapsed // 60)}:{elapsed % 60:04.1f}")
    if snapshot.paused:
        table.add_row("paused", "", "reading no source until 'flowc resume'")
    return table


def open_progress(log: _Log) -> LineProgress | LiveProgress | None:
    """The display for this run: none when quiet, live on a terminal, lines otherwise."""
    if log.quiet:
        return None
    if log.terminal and not log.json:
        return LiveProgress()
    return LineProgress(log)
