"""Malformed CSV rows are source record errors with the raw line, file and line number (SPEC §3, §6)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from runner_cases import events, records, run, write_spec

from flowc.cli import cli

MIXED = (
    "id,s,a\n"
    "1,x,2\n"  # line 2: fine
    "2,y\n"  # line 3: short
    "3,z,4,5\n"  # line 4: long
    '4,"q""r",5\n'  # line 5: quoted with a doubled quote: fine
    '5,"a,b",c\n'  # line 6: a separator inside quotes: fine
    '6,"open,7\n'  # line 7: unterminated quote
    "8,u,9\n"  # line 8: fine (the open quote above must not swallow it)
    "\n"  # line 9: blank: no record (as in a watched folder's files)
    "10,w,11\n"  # line 10: fine
)


def _spec(tmp_path: Path, policy: str, data: str = MIXED, batch_size: int = 3, extra: str = "") -> Path:
    dead = ", dead_letter: {type: file, path: dead.jsonl}" if policy == "dead_letter" else ""
    return write_spec(tmp_path, f"""
    settings: {{on_error: {policy}, batch_size: {batch_size}{dead}}}
    sources:
      s: {{type: file, path: in.csv, schema: {{id: int, s: string, a: string}}{extra}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """, {"in.csv": data})


def test_dead_letter_carries_raw_text_file_and_line_and_the_rest_goes_on(tmp_path):
    result = run(_spec(tmp_path, "dead_letter"), "--quiet")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [1, 4, 5, 8, 10]
    assert records(tmp_path / "out.jsonl")[1:3] == [{"id": 4, "s": 'q"r', "a": "5"}, {"id": 5, "s": "a,b", "a": "c"}]
    dead = records(tmp_path / "dead.jsonl")
    assert [(d["_source"], d["_error"]) for d in dead] == [
        ({"name": "s", "position": "in.csv:3"}, {"step": "s", "code": "parse", "message": "csv: expected 3 fields, found 2: 2,y"}),
        ({"name": "s", "position": "in.csv:4"},
         {"step": "s", "code": "parse", "message": "csv: expected 3 fields, found 4: 3,z,4,5"}),
        ({"name": "s", "position": "in.csv:7"}, {"step": "s", "code": "parse", "message": 'csv: unterminated quote: 6,"open,7'}),
    ]
    assert all(d["id"] is None and d["s"] is None and d["a"] is None for d in dead)  # the raw text is in the message
    completed = events(tmp_path)[-1]
    assert completed["type"] == "completed"
    # 8 records: the blank line 9 holds none (`read` counts records)
    assert completed["data"]["counts"]["read"] == 8 and completed["data"]["counts"]["dead_lettered"] == 3


def test_skip_drops_and_counts_them(tmp_path):
    result = run(_spec(tmp_path, "skip"), "--log-format", "json")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [1, 4, 5, 8, 10]
    assert '"skipped": 3' in result.output


def test_fail_names_the_position_and_the_raw_line(tmp_path):
    result = run(_spec(tmp_path, "fail"))
    assert result.exit_code == 1
    assert "step 's' failed on the record at s in.csv:3: parse: csv: expected 3 fields, found 2: 2,y" in result.output
    assert not (tmp_path / "out.jsonl").exists()  # the failing first batch was not written


def test_a_file_without_quotes_or_errors_reads_every_line(tmp_path):
    data = "id,s,a\n" + "".join(f"{i},s{i},{i * 2}\n" for i in range(50))
    assert run(_spec(tmp_path, "fail", data, batch_size=7), "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == list(range(50))


def test_long_lines_are_cut_in_the_message_and_crlf_is_fine(tmp_path):
    data = "id,s,a\r\n1,x,2\r\n2," + "y" * 3000 + "\r\n3,z,4\r\n"
    assert run(_spec(tmp_path, "dead_letter", data), "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [1, 3]
    (dead,) = records(tmp_path / "dead.jsonl")
    assert dead["_error"]["message"] == "csv: expected 3 fields, found 2: 2," + "y" * 998 + "..."
    assert dead["_source"]["position"] == "in.csv:3"


def test_filters_fused_into_the_scan_let_malformed_rows_through_to_their_envelope(tmp_path):
    path = write_spec(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: in.csv, schema: {id: int, s: string, a: string}}
    steps:
      - filter: id > 4
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.csv": MIXED})
    assert run(path, "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [5, 8, 10]
    assert [d["_source"]["position"] for d in records(tmp_path / "dead.jsonl")] == [
        "in.csv:3", "in.csv:4", "in.csv:7"]


def test_several_files_number_lines_per_file_and_resume_after_a_limit(tmp_path):
    path = write_spec(tmp_path, """
    settings: {on_error: dead_letter, batch_size: 2, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: "in/*.csv", schema: {id: int, s: string}}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in/a.csv": "id,s\n1,a\n2,b,extra\n3,c\n", "in/b.csv": 'id,s\n4,"d\n5,e\n'})
    assert run(path, "--quiet", "--limit", "3").exit_code == 0
    assert run(path, "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [1, 3, 5]
    assert [(d["_source"]["position"], d["_error"]["message"]) for d in records(tmp_path / "dead.jsonl")] == [
        ("in/a.csv:3", "csv: expected 2 fields, found 3: 2,b,extra"),
        ("in/b.csv:2", 'csv: unterminated quote: 4,"d'),
    ]


@pytest.mark.parametrize("header", [True, False])
def test_headerless_files_count_fields_against_the_schema(tmp_path, header):
    data = ("id,s,a\n" if header else "") + "1,x,2\n2,y\n"
    extra = "" if header else ", options: {header: false}"
    assert run(_spec(tmp_path, "dead_letter", data, extra=extra), "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == [1]
    (dead,) = records(tmp_path / "dead.jsonl")
    assert dead["_source"]["position"] == f"in.csv:{3 if header else 2}"


def test_an_inferred_schema_leaves_malformed_lines_out_and_they_are_record_errors(tmp_path):
    path = write_spec(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: in.csv}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.csv": 'id,n\n1,10\n2,20,x\n3,"30\n4,40\n'})
    assert run(path, "--quiet").exit_code == 0
    assert records(tmp_path / "out.jsonl") == [{"id": 1, "n": 10}, {"id": 4, "n": 40}]  # ints, not strings
    assert [d["_source"]["position"] for d in records(tmp_path / "dead.jsonl")] == ["in.csv:3", "in.csv:4"]


@pytest.mark.parametrize("packed", [None, gzip.compress, zlib.compress])
def test_a_file_in_another_encoding_is_decoded_and_still_checked(tmp_path, packed):
    """`options.encoding` names the files' codec (SPEC §3): latin-1 bytes read as the text they are
    (they read as U+FFFD before), in chunks (plain, gzip) and in the whole-file reading (zlib)."""
    path = write_spec(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: in.csv, options: {encoding: latin1}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    data = "id,sé\n1,café\n2,x,é\n3,ok\n".encode("latin-1")
    (tmp_path / "in.csv").write_bytes(packed(data) if packed else data)
    result = run(path, "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"id": 1, "sé": "café"}, {"id": 3, "sé": "ok"}]
    (dead,) = records(tmp_path / "dead.jsonl")
    assert (dead["_source"]["position"], dead["_error"]["message"]) == (
        "in.csv:3", "csv: expected 2 fields, found 3: 2,x,é")


@pytest.mark.parametrize(("encoding", "reason"), [
    ("bogus", "unknown text encoding 'bogus'"),
    ("utf-16", "text encoding 'utf-16' does not write ASCII text as ASCII bytes; flowc reads encodings that do "
               "(utf8, latin-1, cp1252, ...)")])
def test_an_encoding_flowc_cannot_read_is_a_validate_error_at_its_value(tmp_path, encoding, reason):
    path = write_spec(tmp_path, f"""
    sources:
      s: {{type: file, path: in.csv, options: {{encoding: {encoding}}}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    for command in ("validate", "run"):
        result = CliRunner().invoke(cli, [command, str(path)])
        assert result.exit_code == 1
        number, line = next((i, text) for i, text in enumerate(path.read_text().splitlines(), 1) if "encoding" in text)
        column = line.index(f"encoding: {encoding}") + len("encoding: ") + 1
        assert f"p.flow.yaml:{number}:{column}: error[E317]: {reason} in source 's'" in result.output
