"""A `select` whose values are all constants (or `now()`) gives one record of them per input record,
optimized or not, whatever the source (acceptance audit: the optimizer pruned the scan to no columns,
then removed the select as a no-op, so every record was written as `{}`, or a JSON lines source failed
with Polars' OutOfBoundsError). Each case runs the same spec with and without `--no-optimize`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from flowc.cli import cli

RECORDS = [{"a": "h", "b": "x"}, {"a": "i", "b": "y"}, {"a": "j", "b": "z"}]


def _source(folder: Path, kind: str) -> str:
    """The source `s` of `kind`, its data written in `folder`; two fields, neither read by the steps."""
    if kind == "inline":
        return f"s: {{type: inline, records: {json.dumps(RECORDS)}}}"
    if kind == "jsonl":
        (folder / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    elif kind == "csv":
        (folder / "in.csv").write_text("a,b\n" + "".join(f"{r['a']},{r['b']}\n" for r in RECORDS))
    else:
        pl.DataFrame({"n": [1, 2, 3], "b": ["x", "y", "z"]}).write_parquet(folder / "in.parquet")
    return f"s: {{type: file, path: in.{kind}}}"


def _run(folder: Path, kind: str, steps: str, *options: str) -> list[dict]:
    folder.mkdir()
    spec = folder / "c.flow.yaml"
    spec.write_text(f"version: 1\npipeline: c\nsources:\n  {_source(folder, kind)}\nsteps:\n"
                    + textwrap.indent(textwrap.dedent(steps), "  ")
                    + "sinks:\n  o: {type: file, path: o.jsonl}\n")
    result = CliRunner().invoke(cli, ["run", str(spec), *options], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "written o=3" in result.stderr, result.stderr  # counted as written: each one is in the file
    return [json.loads(line) for line in (folder / "o.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind", ["inline", "jsonl", "csv", "parquet"])
def test_a_select_of_constants_gives_them_per_record_optimized_or_not(tmp_path, kind):
    steps = """
    - select: {r: '"x"', q: 1}
    """
    optimized = _run(tmp_path / "opt", kind, steps)
    assert optimized == [{"r": "x", "q": 1}] * 3
    assert optimized == _run(tmp_path / "plain", kind, steps, "--no-optimize")


@pytest.mark.parametrize("kind", ["inline", "jsonl", "csv", "parquet"])
def test_a_select_of_now_then_a_map_keeps_both_fields(tmp_path, kind):
    steps = """
    - select: {t: now()}
    - map: {z: 1}
    """
    for records in (_run(tmp_path / "opt", kind, steps), _run(tmp_path / "plain", kind, steps, "--no-optimize")):
        assert [list(r) for r in records] == [["t", "z"]] * 3
        assert all(r["z"] == 1 and r["t"].startswith("20") for r in records)


@pytest.mark.parametrize("kind", ["inline", "jsonl", "csv", "parquet"])
def test_a_select_of_constants_after_dropping_every_field(tmp_path, kind):
    """Its input has no fields at all: the select is still not a no-op."""
    steps = f"""
    - drop: [{"n" if kind == "parquet" else "a"}, b]
    - select: {{r: '"x"'}}
    """
    optimized = _run(tmp_path / "opt", kind, steps)
    assert optimized == [{"r": "x"}] * 3
    assert optimized == _run(tmp_path / "plain", kind, steps, "--no-optimize")


def test_the_pruned_scan_still_reads_one_field(tmp_path):
    """The case above does go through column pruning: the scan reads one field, not none."""
    (tmp_path / "p").mkdir()
    spec = tmp_path / "p" / "c.flow.yaml"
    spec.write_text(f"version: 1\npipeline: c\nsources:\n  {_source(tmp_path / 'p', 'jsonl')}\n"
                    "steps:\n  - select: {r: '\"x\"'}\nsinks:\n  o: {type: file, path: o.jsonl}\n")
    result = CliRunner().invoke(cli, ["plan", str(spec)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "prune_columns at s: reads 1 of 2 fields: a" in result.output
    assert "Select[" in result.output.split("after:")[1].split("rewrites")[0]
