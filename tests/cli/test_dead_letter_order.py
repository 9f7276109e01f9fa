"""A dead-letter sink fed by several steps writes a batch's records in the order the source delivered
them (by row), not step after step, so its file does not depend on where batches end: a run resumed
after `--limit`, or one with another `batch_size`, writes the same bytes as an uninterrupted run
(SPEC §7). An audit found a csv source's conversion errors written before a map's, whatever their
lines. Every format, gzip (decompressed: its members follow the batches) and rotation; the steps' records have different fields."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from flowc.cli import cli

SPEC = """\
version: 1
pipeline: dl
settings:
  batch_size: {batch}
  on_error: dead_letter
  dead_letter: {{type: file, path: {dead}{extra}}}
sources:
  s: {{type: file, path: in.csv, schema: {{id: int, s: string}}}}
steps:
  - map: {{n: to_int(s)}}
  - validate: {{positive: n > 0}}
sinks:
  out: {{type: file, path: out.jsonl}}
"""
# lines 2..: a source error (id), a map error (s), a validate error (n <= 0), in turn, among good rows
ROWS = ["1,1", "x,2", "3,y", "4,-3", "5,5", "z,6", "7,q", "8,-8", "9,9", "w,10", "11,-1"]
EXPECTED = ["x,2", "3,y", "4,-3", "z,6", "7,q", "8,-8", "w,10", "11,-1"]


def _run(folder: Path, dead: str, *options: str, batch: int = 4, extra: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "in.csv").write_text("id,s\n" + "".join(r + "\n" for r in ROWS))
    spec = folder / "p.flow.yaml"
    spec.write_text(SPEC.format(batch=batch, dead=dead, extra=extra))
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet", *options], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _lines_of(folder: Path, dead: str) -> list[str]:
    """Each dead-letter record's source line, read back from the file (`id,s` as in the csv)."""
    path = folder / dead
    if dead.endswith(".parquet"):
        records = pl.read_parquet(path).to_dicts()
    elif dead.endswith(".csv"):
        records = pl.read_csv(path, infer_schema=False).to_dicts()
    else:
        text = (gzip.decompress(path.read_bytes()) if dead.endswith(".gz") else path.read_bytes()).decode()
        records = json.loads(text) if dead.endswith(".json") else [json.loads(line) for line in text.splitlines()]
    position = [r["_source"]["position"] if isinstance(r["_source"], dict) else json.loads(r["_source"])["position"]
                for r in records]
    return [ROWS[int(p.rsplit(":", 1)[1]) - 2] for p in position]


@pytest.mark.parametrize("dead", ["dead.jsonl", "dead.json", "dead.csv", "dead.parquet", "dead.jsonl.gz"])
def test_the_dead_letter_file_is_in_source_order_whatever_the_batches(tmp_path: Path, dead: str) -> None:
    _run(tmp_path / "whole", dead)
    assert _lines_of(tmp_path / "whole", dead) == EXPECTED
    _run(tmp_path / "limited", dead, "--limit", "3")
    _run(tmp_path / "limited", dead)
    _run(tmp_path / "one", dead, batch=1)
    whole = _content(tmp_path / "whole" / dead)
    assert _content(tmp_path / "limited" / dead) == whole
    assert _content(tmp_path / "one" / dead) == whole


def _content(path: Path) -> bytes:
    """The file's bytes; a gzip file's decompressed (each batch is a gzip member: members differ)."""
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def test_a_rotated_dead_letter_cuts_the_same_files(tmp_path: Path) -> None:
    rotate = ", rotate: {max_records: 3}"
    _run(tmp_path / "whole", "dl/dead.jsonl", extra=rotate)
    _run(tmp_path / "limited", "dl/dead.jsonl", "--limit", "5", extra=rotate)
    _run(tmp_path / "limited", "dl/dead.jsonl", extra=rotate)
    whole = sorted((tmp_path / "whole" / "dl").iterdir())
    assert [p.name for p in whole] == [p.name for p in sorted((tmp_path / "limited" / "dl").iterdir())]
    assert len(whole) == 3
    for path in whole:
        assert (tmp_path / "limited" / "dl" / path.name).read_bytes() == path.read_bytes()
    lines = [json.loads(line) for p in whole for line in p.read_text().splitlines()]
    assert [ROWS[int(r["_source"]["position"].rsplit(":", 1)[1]) - 2] for r in lines] == EXPECTED
