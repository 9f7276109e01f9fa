"""dedupe through `flowc run`, on SPEC §4's words: a record is dropped when its key has *a* kept record
less than `within` away (any kept record still remembered, not only the last), and a kept record is
forgotten once the watermark *passes* its time + within (strictly: SPEC says "reaches (>=)" where it
means that, for windows). Both from an acceptance audit."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli

SPEC = """version: 1
pipeline: d
sources:
  s:
    type: inline
    schema: {{ts: datetime, k: string, v: int}}
    event_time: {{field: ts, max_out_of_orderness: {ooo}}}
    records:
{records}
steps:
  - dedupe: {{key: [k], within: 1m}}
sinks:
  out: {{type: file, path: out.jsonl}}
"""


def _kept(folder: Path, ooo: str, records: list[tuple[str, str, int]], batch: int = 100) -> list[int]:
    """The `v` of the records a run of its own (in `folder`) writes."""
    folder.mkdir()
    lines = "".join(f'      - {{ts: "2024-01-01T{t}Z", k: {k}, v: {v}}}\n' for t, k, v in records)
    spec = folder / "d.flow.yaml"
    spec.write_text(SPEC.format(ooo=ooo, records=lines).replace("sources:", f"settings: {{batch_size: {batch}}}\nsources:"))
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line)["v"] for line in (folder / "out.jsonl").read_text().splitlines()]


def test_a_record_near_an_earlier_kept_record_is_dropped_though_far_from_the_last(tmp_path):
    records = [("00:01:00", "a", 1), ("00:02:00", "a", 2), ("00:00:30", "a", 3)]
    assert _kept(tmp_path / "one batch", "1h", records) == [1, 2]
    assert _kept(tmp_path / "a batch each", "1h", records, batch=1) == [1, 2]


def test_state_is_kept_while_the_watermark_equals_t_kept_plus_within(tmp_path):
    # watermark exactly 00:01:00 = 00:00:00 + 1m: not past it, so 'a' at 00:00:30 is still a duplicate
    records = [("00:00:00", "a", 1), ("00:01:00", "b", 2), ("00:00:30", "a", 3)]
    assert _kept(tmp_path / "equal", "0s", records) == [1, 2]
    # one microsecond later the watermark has passed it: 'a' is forgotten and the late record kept
    records = [("00:00:00", "a", 1), ("00:01:00.000001", "b", 2), ("00:00:30", "a", 3)]
    assert _kept(tmp_path / "past", "0s", records) == [1, 2, 3]
