"""`flowc run --limit N` (SPEC §10) reads at most N records in the run, whatever the source: also an
unbounded one without a schema, whose first batch (polled before the run to infer the schema) was a
whole `batch_size` (100000 records of an endless generator went out for `--limit 5`). A second run
goes on where the first stopped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from http_server import ScriptedServer, paged

FLOWC = [sys.executable, "-m", "flowc"]

SOURCES = {
    "endless generate": "{type: generate, fields: {id: _n}}",
    "generate with a rate": "{type: generate, rate: 500/s, fields: {id: _n}}",
    "watched folder": "{type: file, path: in/*.jsonl, watch: true}",
    "http, one pass": "{type: http, url: URL, records: data.items}",
}


def run(folder: Path, *args: str) -> list[int]:
    done = subprocess.run([*FLOWC, "run", "--quiet", "p.flow.yaml", *args], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["id"] for line in (folder / "out.jsonl").read_text().splitlines()]


def write_spec(folder: Path, source: str, batch_size: int = 100000) -> None:
    (folder / "in").mkdir(exist_ok=True)
    (folder / "in" / "a.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in range(50)))
    (folder / "p.flow.yaml").write_text(f"""version: 1
pipeline: p
settings: {{batch_size: {batch_size}, batch_timeout: 200ms}}
sources:
  s: {source}
sinks:
  out: {{type: file, path: out.jsonl}}
""")


@pytest.mark.parametrize("kind", SOURCES)
def test_limit_stops_after_n_records_of_a_source_without_schema(tmp_path, kind):
    with ScriptedServer() as server:
        server.route("/items", paged([{"id": i} for i in range(50)], size=50))
        write_spec(tmp_path, SOURCES[kind].replace("URL", server.url("/items")))
        assert run(tmp_path, "--limit", "5") == [0, 1, 2, 3, 4]
        assert run(tmp_path, "--limit", "3") == [0, 1, 2, 3, 4, 5, 6, 7]


def test_the_limit_counts_over_every_feed_inferred_before_the_run(tmp_path):
    (tmp_path / "p.flow.yaml").write_text("""version: 1
pipeline: p
sources:
  a: {type: generate, fields: {id: _n}}
  b: {type: generate, fields: {id: _n + 1000}}
steps:
  - union: [a, b]
sinks:
  out: {type: file, path: out.jsonl}
""")
    assert run(tmp_path, "--limit", "5") == [0, 1, 2, 3, 4]
