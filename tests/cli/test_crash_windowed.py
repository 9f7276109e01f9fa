"""A windowed pipeline killed with SIGKILL at random points and resumed each time leaves exactly the
output of an uninterrupted run (SPEC §4: "a resumed run emits exactly what an uninterrupted run would
have emitted"; §7 exactly once): window state travels in the checkpoints' snapshots, late records go
to the dead-letter sink, and `now()` of a replayed batch is the one its first attempt used."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]
ROWS = 400_000  # 200 batches: enough to land 5+ kills now that a batch takes a few ms

SPEC = """
version: 1
pipeline: p
settings: {batch_size: 2000, dead_letter: {type: file, path: out/late.jsonl}}
sources:
  orders:
    type: file
    path: orders.csv
    schema: {id: int, ts: datetime, country: string, amount: float}
    event_time: {field: ts, max_out_of_orderness: 20s}
steps:
  - filter: amount > 5
  - name: per_minute
    aggregate:
      by: [country]
      window: {type: tumbling, size: 1m}
      compute: {orders: count(), revenue: sum(amount), top: max(amount), first_id: first(id), last_id: last(id)}
  - map:
      revenue: round(revenue, 2)
sinks:
  report: {type: file, path: out/report.jsonl}
"""


def _pipeline(folder: Path) -> Path:
    """Orders a second apart, shuffled by up to 30 s, so that some arrive after their window closed."""
    folder.mkdir(parents=True)
    rng = random.Random(11)
    lines = ["id,ts,country,amount"]
    for i in range(ROWS):
        second = 1_767_225_600 + i - rng.choice((0, 0, 0, 0, rng.randint(0, 30)))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        lines.append(f"{i},{stamp},{rng.choice(('de', 'fr', 'us', 'jp'))},{rng.randint(0, 99_999) / 100}")
    (folder / "orders.csv").write_text("\n".join(lines) + "\n")
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(SPEC).lstrip())
    return path


def _checkpoints(folder: Path) -> int:
    try:
        return (folder / ".flow/p/events.log").read_text().count('"type":"checkpoint_saved"')
    except FileNotFoundError:
        return 0


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "out").iterdir())}


def test_windowed_run_killed_at_random_points_and_resumed_gives_byte_identical_outputs(tmp_path):
    reference = _pipeline(tmp_path / "reference")
    done = subprocess.run([*FLOWC, "run", str(reference), "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    crashed = _pipeline(tmp_path / "crashed")
    folder = crashed.parent
    rng, kills, landed = random.Random(2026), 0, []
    while kills < 7:
        process = subprocess.Popen([*FLOWC, "run", str(crashed), "--quiet"])
        target = _checkpoints(folder) + rng.randint(0, 4)  # 0: a kill during start-up or the first batch
        deadline = time.monotonic() + 60
        while process.poll() is None and _checkpoints(folder) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.02))  # somewhere inside the batch after that checkpoint
        if process.poll() is not None:
            break  # it finished before this kill
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        landed.append(_checkpoints(folder))
    final = subprocess.run([*FLOWC, "run", str(crashed), "--quiet"], capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert kills >= 5 and len(set(landed)) >= 3, landed  # interrupted several times, at different batches
    expected = _outputs(tmp_path / "reference")
    assert expected["report.jsonl"].count(b"\n") > 2000 and expected["late.jsonl"].count(b"\n") > 100
    assert _outputs(folder) == expected
    log = [json.loads(line) for line in (folder / ".flow/p/events.log").read_text().splitlines()]
    assert log[-1]["type"] == "completed" and log[-1]["data"]["counts"]["read"] == ROWS
    assert 2 <= sum(e["type"] == "run_started" for e in log) <= kills + 1  # a kill in start-up logs none
    assert len(list((folder / ".flow/p/state").iterdir())) == 1  # older snapshots pruned
