"""Exactly once when the writing process is SIGKILLed at an arbitrary moment (SPEC §7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from writer_cases import assert_same_output, frame, run

from flowc.runtime.sinks import FileSinkWriter

ROTATE = {"max_records": 1500}

CHILD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from flowc.runtime.durable import write_atomically
    from flowc.runtime.sinks import FileSinkWriter
    sys.path.insert(0, sys.argv[5])
    from test_writer_kill import ROTATE, big_frame
    path, fmt, compression, checkpoint = Path(sys.argv[1]), sys.argv[2], sys.argv[3] or None, Path(sys.argv[4])
    records = big_frame()
    writer = FileSinkWriter(path, fmt, compression, ROTATE)
    writer.restore(None)
    for start in range(0, records.height, 137):
        writer.write(records.slice(start, 137))
        position = writer.durable()
        write_atomically(checkpoint, lambda handle: handle.write(json.dumps(position).encode()))
        writer.release(position)
    print("finished", flush=True)
""")


def big_frame() -> pl.DataFrame:
    return frame([(i, f"row {i}, \"quoted\"\nline" if i % 3 else None, i / 7, i) for i in range(12_000)])


@pytest.mark.parametrize(("fmt", "compression", "extension"),
                         [("jsonl", "gzip", "jsonl.gz"), ("csv", None, "csv"), ("json", None, "json"),
                          ("parquet", "zstd", "parquet")])
def test_a_killed_writer_process_resumes_exactly_once(tmp_path: Path, fmt: str, compression: str | None,
                                                      extension: str) -> None:
    records = big_frame()
    run(tmp_path / "expected" / f"a.{extension}", fmt, compression, ROTATE, records, [1000])
    path, checkpoint = tmp_path / "actual" / f"a.{extension}", tmp_path / "checkpoint.json"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), fmt, compression or "", str(checkpoint), str(Path(__file__).parent)],
        stdout=subprocess.PIPE, text=True,
    )
    while not checkpoint.exists() or json.loads(checkpoint.read_text())["records"] < 3_000:
        assert child.poll() is None, "the writer finished before it could be killed"
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    recorded = json.loads(checkpoint.read_text())
    assert 3_000 <= recorded["records"] < records.height
    resumed = FileSinkWriter(path, fmt, compression, ROTATE)
    resumed.restore(recorded)
    resumed.write(records.slice(recorded["records"]))
    resumed.release(resumed.close())
    assert_same_output(path.parent, tmp_path / "expected", fmt, compression)
