"""SIGINT and SIGTERM caught from the first moment of `flowc run`.

Start-up (importing Polars and flowc, compiling the spec) takes a few tenths of a second; a stop asked
for then used to kill the process (SIGTERM: no `stopped` event, exit -15) or raise KeyboardInterrupt
in the middle of an import (a traceback). Caught here, it is handed to the run's own handlers
(`run_command.install_stop_handlers`), which end the run cleanly with exit 130 (SPEC §10). This module
imports nothing but `signal`, so it can be installed before anything else loads.
"""

from __future__ import annotations

import signal
from typing import Any

STOPS = (signal.SIGINT, signal.SIGTERM)
_caught: list[bool] = []
_originals: dict[int, Any] = {}


def catch_during_startup() -> None:
    """Note every stop asked for from now until `handed_over`."""
    for signum in STOPS:
        _originals.setdefault(signum, signal.getsignal(signum))
        signal.signal(signum, _note)


def _note(signum: int, frame: object) -> None:
    _caught.append(True)


def handed_over() -> tuple[list[bool], dict[int, Any]]:
    """The stops asked for during start-up, and the handlers that were in place before it (empty when
    nothing was caught here): the caller installs its own handlers next."""
    caught, originals = list(_caught), dict(_originals)
    _caught.clear()
    _originals.clear()
    return caught, originals
