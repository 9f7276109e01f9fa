"""One source reaching two branches of a union: each branch keeps its own watermark at the windowed
aggregate below it (SPEC §4: "Each input (a source, a Kafka partition, a branch of a union) has its own
watermark"). Before, every record counted as the first branch: the second never delivered and held
the step's watermark at minus infinity, so no window closed before the end of the input (and never,
from an unbounded source)."""

from __future__ import annotations

import pytest
from runner_cases import events, records, run, write_spec

SPEC = """
settings: {{batch_size: {batch}}}
sources:
  s:
    type: inline
    schema: {{k: string, t: datetime}}
    records:
      - {{k: a, t: "2026-01-01T00:00:10Z"}}
      - {{k: b, t: "2026-01-01T00:05:00Z"}}
      - {{k: a, t: "2026-01-01T00:06:00Z"}}
      - {{k: b, t: "2026-01-01T00:00:20Z"}}
      - {{k: a, t: "2026-01-01T00:00:30Z"}}
steps:
  - {{name: as, from: s, filter: k == "a"}}
  - {{name: bs, from: s, filter: k == "b"}}
  - {{name: both, union: [as, bs]}}
  - name: per_minute
    aggregate: {{by: [k], window: {{type: tumbling, size: 1m, time: t}}, compute: {{n: count()}}}}
sinks:
  out: {{type: file, path: out.jsonl, from: per_minute}}
  late: {{type: file, path: late.jsonl, from: per_minute.late}}
  all: {{type: file, path: all.jsonl, from: both}}
"""


@pytest.mark.parametrize("batch", [1, 2, 100])
def test_each_branch_of_a_union_from_one_source_has_its_own_watermark(tmp_path, batch):
    result = run(write_spec(tmp_path, SPEC.format(batch=batch)), "--quiet")
    assert result.exit_code == 0, result.output
    # Once a has delivered 00:06 and b 00:05, the step's watermark is 00:05: b's record at 00:00:20
    # arrives after the window [00:00, 00:01) was emitted, in any batching (a stuck branch held it back).
    late = [(r["k"], r["t"][11:19]) for r in records(tmp_path / "late.jsonl")]
    assert ("b", "00:00:20") in late
    # a's record at 00:00:30 is late too when it arrives after b's 00:05 (batches of 1 or 2); in one
    # batch the union gives a's records before b's, so b had not delivered yet and it is on time.
    assert (("a", "00:00:30") in late) == (batch < 5)
    windows = [(r["k"], r["window_start"][11:16], r["n"]) for r in records(tmp_path / "out.jsonl")]
    assert windows[0] == ("a", "00:00", 1 if batch < 5 else 2) and ("b", "00:05", 1) in windows
    assert len(records(tmp_path / "all.jsonl")) == 5
    assert all("__flowc" not in key for r in records(tmp_path / "all.jsonl") for key in r)  # the tag is hidden
    assert events(tmp_path)[-1]["data"]["counts"]["late"] == len(late)
