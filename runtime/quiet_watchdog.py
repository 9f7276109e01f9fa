"""Stopping a watchdog observer without its shutdown race reaching stderr (watched folders, enrich
tables with `reload: true`)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator


class _Silence:
    """While an observer stops, its inotify thread may wake once more and log that it is inactive (a
    race inside watchdog, harmless): with no logging configured, that line reached stderr past
    `--quiet`. The `watchdog` loggers are routed nowhere while any observer stops (a watched folder's,
    an enrich table's), then restored."""

    def __init__(self) -> None:
        self.lock, self.closing, self.propagate = threading.Lock(), 0, True
        self.nowhere = logging.NullHandler()

    @contextlib.contextmanager
    def during(self) -> Iterator[None]:
        logger = logging.getLogger("watchdog")
        with self.lock:
            if self.closing == 0:
                self.propagate, logger.propagate = logger.propagate, False
                logger.addHandler(self.nowhere)
            self.closing += 1
        try:
            yield
        finally:
            with self.lock:
                self.closing -= 1
                if self.closing == 0:
                    logger.removeHandler(self.nowhere)
                    logger.propagate = self.propagate


watchdog_silenced = _Silence().during
