"""Exactly once across crashes: a run that dies and resumes from its last durable position leaves the
same files as an uninterrupted run with other batch boundaries (SPEC §7)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from writer_cases import CASES, assert_same_output, frame, run, write_batches

from flowc.runtime.sinks import FileSinkWriter

texts = st.one_of(st.none(), st.text(st.sampled_from('ab,"\n\r é{}[]\\'), max_size=12))
rows = st.lists(st.tuples(st.integers(-(2**40), 2**40), texts,
                          st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32)),
                          st.one_of(st.none(), st.integers(0, 10**6))),
                max_size=30)
rotations = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"max_records": st.integers(1, 8), "max_bytes": st.integers(1, 600)}),
)
cut_lists = st.lists(st.integers(0, 30), max_size=6)


@st.composite
def crashing_runs(draw: st.DrawFn) -> dict[str, Any]:
    records = draw(rows)
    return {
        "case": draw(st.sampled_from(CASES)),
        "rotate": draw(rotations),
        "records": [(i, *r[1:]) for i, r in enumerate(records)],  # ids in order make diffs readable
        "reference_cuts": draw(cut_lists),
        "crash_cuts": draw(cut_lists),
        "durable_after": draw(st.sets(st.integers(0, 7), max_size=4)),  # batch numbers followed by durable()
        "crash_after": draw(st.integers(0, 7)),
        "junk": draw(st.binary(max_size=20)),  # what a dying process may leave past the last sync
        "resume_cuts": draw(cut_lists),
    }


@given(crashing_runs())
def test_a_crashed_and_resumed_run_writes_what_an_uninterrupted_run_writes(case: dict[str, Any]) -> None:
    fmt, compression, extension = case["case"]
    records = frame(case["records"])
    with tempfile.TemporaryDirectory() as root:
        expected, actual = Path(root, "expected"), Path(root, "actual")
        run(expected / f"a.{extension}", fmt, compression, case["rotate"], records, case["reference_cuts"])
        path = actual / f"a.{extension}"
        recorded = crash(path, fmt, compression, case, records)
        resumed = FileSinkWriter(path, fmt, compression, case["rotate"])
        resumed.restore(recorded)
        done = recorded["records"] if recorded else 0
        write_batches(resumed, records.slice(done), [c - done for c in case["resume_cuts"] if c >= done])
        resumed.release(resumed.close())
        assert_same_output(actual, expected, fmt, compression)


def crash(path: Path, fmt: str, compression: str | None, case: dict[str, Any],
          records: pl.DataFrame) -> dict[str, Any] | None:
    """Write in batches, recording a durable position now and then; die after `crash_after` batches."""
    writer = FileSinkWriter(path, fmt, compression, case["rotate"])
    writer.restore(None)
    recorded = None
    start = 0
    bounds = [*sorted(set(case["crash_cuts"])), records.height]
    for number, end in enumerate(bounds):
        if number > case["crash_after"]:
            break
        writer.write(records.slice(start, max(end - start, 0)))
        start = max(start, end)
        if number in case["durable_after"]:
            recorded = writer.durable()
            writer.release(recorded)
    del writer  # the process dies: nothing more is synced or closed
    # A dying process may leave bytes past the last sync in the file it was appending to.
    appended = sorted(path.parent.glob(".*.staging" if fmt == "json" else "[!.]*"))
    if case["junk"] and appended and fmt != "parquet":
        with open(appended[-1], "ab") as handle:
            handle.write(case["junk"])
    return recorded
