"""The counts of a run as the summary shows them, one row each (SPEC §6: read, written per sink,
skipped, dead-lettered, late)."""

from __future__ import annotations

from collections.abc import Iterable

from flowc.runtime.lifecycle import Counts


def summary_rows(totals: Counts, sinks: Iterable[str] = ()) -> list[tuple[str, int]]:
    """The rows in order; every sink in `sinks` has its row, 0 when it received no record (the totals
    name only the sinks that did)."""
    written = {**dict.fromkeys(sinks, 0), **totals.written}
    rows = [("read", totals.read)]
    rows += [(f"written {sink}", n) for sink, n in sorted(written.items())]
    rows += [("skipped", totals.skipped), ("dead-lettered", totals.dead_lettered), ("late", totals.late)]
    return rows
