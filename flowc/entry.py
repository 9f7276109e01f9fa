"""The `flowc` executable: catches stop signals first when it runs a pipeline, then hands over to the CLI."""

from __future__ import annotations

import gc
import sys

from flowc import early_stop


def main() -> None:
    if sys.argv[1:2] == ["run"]:  # before the imports of start-up, which take a few tenths of a second
        early_stop.catch_during_startup()
        # Start-up makes ~100k objects that live as long as the run: collecting them again and again
        # took ~60 ms of it. `_execute` freezes them and turns the collector back on for the run.
        gc.disable()
    from flowc.cli import main as cli_main

    cli_main()
