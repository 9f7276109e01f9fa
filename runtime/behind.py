"""A bounded source's sink writes, one batch behind the reading.

Encoding a batch (JSON or CSV text), appending it and making it durable took about half of the main
thread's time on W1 (docs/performance.md), and while the main thread did it, it took no batch from
the source query. `Behind` runs that work for batch N on one worker thread while the main thread takes
and runs batch N+1; Polars and file writes release the GIL, so the two overlap.

Exactly-once is unchanged: a job writes its batch, makes the sinks durable and records the batch's
checkpoint, in that order, as the synchronous path does. At most one job is in flight and the next
one is submitted only after it finished (`submit` drains first), so checkpoints are recorded in batch
order and nothing else touches the sinks, the event log or the snapshot store while a job runs: every
other writer of those (a synchronous checkpoint, a pause, a stop, a failure) drains first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Behind:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: tuple[Future[Any], Callable[[Any], None]] | None = None

    def submit(self, job: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Run `job` on the worker thread once the job in flight is done; `then(job's result)` is called on
        the caller's thread by the `drain` that collects it."""
        self.drain()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowc-sinks")
        self._pending = (self._pool.submit(job), then)

    def drain(self) -> None:
        """Wait for the job in flight; its error, if it failed, is raised here."""
        if self._pending is None:
            return
        future, then = self._pending
        self._pending = None
        then(future.result())

    def close(self) -> None:
        """Wait for the job in flight without reporting it (the run is ending on an error) and stop the thread."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending[0].exception()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
