"""The counts of a run as the summary shows them, one row each."""

from __future__ import annotations

from flowc.runtime.lifecycle import Counts


def summary_rows(totals: Counts) -> list[tuple[str, int]]:
    rows = [("read", totals.read)]
    rows += [(f"written {sink}", n) for sink, n in sorted(totals.written.items())]
    rows += [("skipped", totals.skipped), ("dead-lettered", totals.dead_lettered)]
    return rows
