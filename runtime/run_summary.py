"""The counts of a run as the summary shows them, one row each (SPEC §6: read, written per sink,
skipped, dead-lettered, late)."""

from __future__ import annotations

from collections.abc import Iterable

from flowc.runtime.lifecycle import Counts


def summary_rows(totals: Counts, sinks: Iterable[str] = ()) -> list[tuple[str, int]]:
    """The rows in order; every sink in `sinks` has its row, 0 when it received no record (the totals
    name only the sinks that did). Sinks in the spec's order, as in the event log and the JSON summary."""
    written = {**dict.fromkeys(sinks, 0), **totals.written}
    rows = [("read", totals.read)]
    rows += [(f"written {sink}", n) for sink, n in written.items()]
    rows += [("skipped", totals.skipped), ("dead-lettered", totals.dead_lettered), ("late", totals.late)]
    return rows


def summary_counts(totals: Counts, sinks: Iterable[str] = ()) -> dict[str, object]:
    """The counts as `--log-format json` prints them: the keys and shape of the event log's `counts`
    (`written` per sink, every sink in `sinks` present), so one parser reads both."""
    written = {**dict.fromkeys(sinks, 0), **totals.written}
    return {"read": totals.read, "written": written, "skipped": totals.skipped,
            "dead_lettered": totals.dead_lettered, "late": totals.late}
