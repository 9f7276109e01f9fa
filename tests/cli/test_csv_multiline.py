"""A CSV quoted field holding a line break (RFC 4180, SPEC §3) is one record, read on the line it starts
on, through `flowc run`: in the middle of a file, across chunk boundaries (small batch sizes), in a gzip
file, in flowc's own CSV output read back, and over runs stopped by `--limit` and resumed (audit 4 F14:
each of its lines was a malformed row)."""

from __future__ import annotations

import gzip
import json
import textwrap
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flowc.cli import cli

DATA = (
    "id,t\n"
    "1,a\n"
    '2,"multi\nline"\n'  # lines 3-4
    '3,"x\n\ny ""q""\nz"\n'  # lines 5-8, a blank line and doubled quotes inside
    '4,"a"b\n'  # line 9: malformed quotes, alone
    "5,ok\n"
    '6,"p\nq",extra\n'  # lines 11-12: one record with 3 fields
    '7,"open\n'  # line 13: a quote that never closes is an error on its line alone
    "8,end\n"
)
GOOD = [{"id": 1, "t": "a"}, {"id": 2, "t": "multi\nline"}, {"id": 3, "t": 'x\n\ny "q"\nz'}, {"id": 5, "t": "ok"},
        {"id": 8, "t": "end"}]
ERRORS = [("in.csv:9", 'csv: malformed quotes: 4,"a"b'), ("in.csv:11", 'csv: expected 2 fields, found 3: 6,"p\nq",extra'),
          ("in.csv:13", 'csv: unterminated quote: 7,"open')]


def _spec(folder: Path, batch_size: int, path: str = "in.csv") -> Path:
    spec = folder / "p.flow.yaml"
    spec.write_text(textwrap.dedent(f"""
        version: 1
        pipeline: p
        settings: {{batch_size: {batch_size}, on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
        sources:
          s: {{type: file, path: {path}, schema: {{id: int, t: string}}}}
        sinks:
          o: {{type: file, path: out.jsonl}}
        """))
    return spec


def _run(spec: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _errors(folder: Path) -> list[tuple[str, str]]:
    return [(d["_source"]["position"], d["_error"]["message"]) for d in _records(folder / "dead.jsonl")]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 100_000])
def test_a_quoted_line_break_is_one_record_at_any_chunk_boundary(tmp_path, batch_size):
    (tmp_path / "in.csv").write_text(DATA)
    _run(_spec(tmp_path, batch_size))
    assert _records(tmp_path / "out.jsonl") == GOOD
    assert _errors(tmp_path) == ERRORS  # positions: the line each record starts on


def test_crlf_lines_and_a_gzip_file(tmp_path):
    (tmp_path / "in.csv.gz").write_bytes(gzip.compress(DATA.replace("\n", "\r\n").encode()))
    _run(_spec(tmp_path, 2, "in.csv.gz"))
    assert _records(tmp_path / "out.jsonl") == [{**r, "t": r["t"].replace("\n", "\r\n")} for r in GOOD]
    assert [position for position, _ in _errors(tmp_path)] == [p.replace(".csv", ".csv.gz") for p, _ in ERRORS]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_runs_stopped_by_limit_and_resumed_read_what_one_run_reads(tmp_path, batch_size):
    (tmp_path / "in.csv").write_text(DATA)
    spec = _spec(tmp_path, batch_size)
    for _ in range(12):  # a record per run (a line it spans after its first holds none, and is no record)
        _run(spec, "--limit", "1")
    assert _records(tmp_path / "out.jsonl") == GOOD
    assert _errors(tmp_path) == ERRORS


def test_flowcs_own_csv_output_reads_back(tmp_path):
    values = [{"id": 1, "t": 'a,"b"'}, {"id": 2, "t": "line1\nline2"}, {"id": 3, "t": "\n"},
              {"id": 4, "t": 'end "q"\r\nx'}]
    (tmp_path / "w.flow.yaml").write_text(
        "version: 1\npipeline: w\nsources:\n  s:\n    type: inline\n    schema: {id: int, t: string}\n"
        f"    records: {json.dumps(values)}\nsinks:\n  c: {{type: file, path: c.csv}}\n")
    _run(tmp_path / "w.flow.yaml")
    assert (tmp_path / "c.csv").read_text().count("\n") > len(values) + 1  # the line breaks are written as they are
    _run(_spec(tmp_path, 2, "c.csv"))
    assert _records(tmp_path / "out.jsonl") == values
    assert _errors(tmp_path) == []


def test_without_dead_letter_the_run_succeeds(tmp_path):
    (tmp_path / "in.csv").write_text('id,t\n1,"multi\nline"\n3,ok\n')
    spec = _spec(tmp_path, 100_000)
    spec.write_text(spec.read_text().replace("on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}",
                                             "on_error: fail"))
    _run(spec)
    assert _records(tmp_path / "out.jsonl") == [{"id": 1, "t": "multi\nline"}, {"id": 3, "t": "ok"}]


# 997 records a batch: blocks of ~500 lines (~31 KB), so the open record is held across ~40 of them; a
# batch of 7 held it across thousands (2,860 batches, 30 s of CI) and tested nothing more.
@pytest.mark.parametrize("batch_size", [997, 100_000])
def test_a_quote_not_closed_within_1_mib_is_an_error_on_its_line_and_the_lines_after_it_are_records(tmp_path,
                                                                                                   batch_size):
    filler = [f"{i},{'x' * 60}" for i in range(100, 100 + 20_000)]  # 1.2 MiB
    (tmp_path / "in.csv").write_text("\n".join(["id,t", '1,"open', *filler, '4,z"', "3,ok"]) + "\n")
    _run(_spec(tmp_path, batch_size))
    assert [r["id"] for r in _records(tmp_path / "out.jsonl")] == [*range(100, 100 + 20_000), 4, 3]
    assert _errors(tmp_path) == [("in.csv:2", 'csv: unterminated quote: 1,"open')]  # the quote closing on line 20003
    # would have made one 1.2 MiB record of lines 2-20003


def test_a_run_limited_to_one_record_goes_on_past_a_blank_line(tmp_path):
    (tmp_path / "in.csv").write_text("id,t\n1,a\n\n3,c\n")
    spec = _spec(tmp_path, 1)
    for _ in range(3):  # the blank line was a row of its own: each run read it and nothing else
        _run(spec, "--limit", "1")
    assert _records(tmp_path / "out.jsonl") == [{"id": 1, "t": "a"}, {"id": 3, "t": "c"}]


def test_a_zlib_file_read_whole_and_a_gzip_files_inferred_schema(tmp_path):
    (tmp_path / "in.csv.z").write_bytes(zlib.compress(DATA.encode()))  # quotes are found in its text, not its bytes
    spec = _spec(tmp_path, 3, "in.csv.z")
    spec.write_text(spec.read_text().replace("path: in.csv.z,", "path: in.csv.z, format: csv,"))
    _run(spec)
    assert _records(tmp_path / "out.jsonl") == GOOD
    assert _errors(tmp_path) == [(p.replace(".csv", ".csv.z"), m) for p, m in ERRORS]
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "in.csv.gz").write_bytes(gzip.compress(b'id,t\n1,"multi\nline"\n3,ok\n'))
    spec = _spec(tmp_path / "g", 3, "in.csv.gz")
    spec.write_text(spec.read_text().replace(", schema: {id: int, t: string}", ""))  # inferred from the file
    _run(spec)
    assert _records(tmp_path / "g" / "out.jsonl") == [{"id": 1, "t": "multi\nline"}, {"id": 3, "t": "ok"}]
