"""watchdog's log records kept off stderr (watched folders, enrich tables with `reload: true`).

flowc's observers only wake its scans, which find every change themselves (a rescan every 0.5 s for a
folder, the file's state for a table). What watchdog logs is therefore noise to a user: an inotify
queue overflow when a folder is busy, a race inside its observer while it stops ("queue_events()
called when the thread is inactive"). With no logging configured, such records went to Python's
last-resort handler, stderr, past `--quiet`.
"""

from __future__ import annotations

import logging


def silence_watchdog() -> None:
    """Route the `watchdog` loggers nowhere (idempotent); call before starting an observer."""
    logger = logging.getLogger("watchdog")
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
