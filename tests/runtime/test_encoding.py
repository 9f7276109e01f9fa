"""Datetimes in text sinks are ISO-8601 UTC with microseconds and `Z`, whatever zone the column has."""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl
import pytest

from flowc.runtime.sinks.encoding import encode_csv, encode_jsonl

INSTANTS = [datetime(2026, 3, 29, 0, 30, 0, 5), datetime(2026, 10, 25, 23, 59, 59, 999999), None]
EXPECTED = ["2026-03-29T00:30:00.000005Z", "2026-10-25T23:59:59.999999Z", None]


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Paris", "America/St_Johns"])
def test_datetimes_are_written_as_the_utc_instant(zone):
    utc = pl.Series("ts", INSTANTS, dtype=pl.Datetime("us"))
    column = utc.dt.replace_time_zone("UTC").dt.convert_time_zone(zone) if zone else utc
    frame = pl.DataFrame({"ts": column, "nested": pl.Series([{"at": v} for v in column.to_list()])})
    rows = [json.loads(line) for line in encode_jsonl(frame).decode().splitlines()]
    assert [r["ts"] for r in rows] == EXPECTED
    assert [r["nested"]["at"] if r["nested"] else None for r in rows] == EXPECTED
    assert encode_csv(frame.select("ts")).decode().splitlines() == [e or "" for e in EXPECTED]


def test_non_finite_floats_are_null_in_csv_as_in_json_lines():
    """The language has no inf or NaN (a source reads neither back): float arithmetic that gives them
    is written null in both text formats. CSV wrote `inf`/`NaN`, JSON lines null (second audit)."""
    frame = pl.DataFrame({"f": [1.5, float("inf"), float("-inf"), float("nan"), None]})
    assert encode_csv(frame) == b"1.5\n\n\n\n\n"
    assert [json.loads(line)["f"] for line in encode_jsonl(frame).splitlines()] == [1.5, None, None, None, None]
