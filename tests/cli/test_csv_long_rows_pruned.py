"""A CSV row with more fields than the header is a record error (SPEC §3: a malformed row is a record
error carrying its raw text and line) also when the pipeline reads only some of the file's columns
(`prune_columns`): Polars' CSV reader notices extra fields only when every column is read, so the
fast reading counts each block's separators itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli


def _run(folder: Path, on_error: str, rows: list[str], batch_size: int = 100) -> tuple[int, str, list[dict]]:
    (folder / "in.csv").write_text("a,b,c\n" + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    spec = folder / "p.flow.yaml"
    spec.write_text(
        f"version: 1\npipeline: p\nsettings: {{batch_size: {batch_size}, on_error: {on_error}}}\n"
        "sources:\n  s: {type: file, path: in.csv, schema: {a: string, b: string, c: int}}\n"
        "steps:\n  - select: [a, c]\n"
        "sinks:\n  o: {type: file, path: out.jsonl}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(spec), "--log-format", "json"], catch_exceptions=False)
    out = folder / "out.jsonl"
    written = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return result.exit_code, result.output, written


ROWS = [f"x{i},y{i},{i}" for i in range(500)]


@pytest.mark.parametrize("where", [0, 250, 499])
def test_a_long_row_is_skipped_when_only_some_columns_are_read(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    rows = [*ROWS]
    rows[where] = "p,q,7,extra"
    code, output, written = _run(tmp_path, "skip", rows)
    assert code == 0, output
    assert len(written) == 499 and {"a": "p", "c": 7} not in written
    assert '"skipped": 1' in output


def test_a_long_row_fails_the_run_at_its_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = [*ROWS]
    rows[300] = "p,q,7,"
    code, output, _ = _run(tmp_path, "fail", rows)
    assert code == 1
    assert "in.csv:302" in output and "expected 3 fields, found 4" in output


def test_a_long_and_a_short_row_in_one_block_are_both_record_errors(tmp_path, monkeypatch):
    """Their fields add up to the right count: the block is not taken on its total alone."""
    monkeypatch.chdir(tmp_path)
    rows = [*ROWS]
    rows[10], rows[400] = "p,q,7,8", "s,9"
    code, output, written = _run(tmp_path, "skip", rows, batch_size=1000)
    assert code == 0, output
    assert len(written) == 498
    assert '"skipped": 2' in output


def test_a_long_row_among_quoted_fields_is_skipped(tmp_path, monkeypatch):
    """A block holding the quote character is read with every column (its separators cannot be counted)."""
    monkeypatch.chdir(tmp_path)
    rows = [f'"x,{i}",y{i},{i}' for i in range(500)]
    rows[250] = '"p,q",q,7,extra'
    code, output, written = _run(tmp_path, "skip", rows)
    assert code == 0, output
    assert len(written) == 499 and written[0] == {"a": "x,0", "c": 0}
    assert '"skipped": 1' in output
