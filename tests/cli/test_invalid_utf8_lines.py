"""A line of a bounded CSV or text file that is not UTF-8 is a malformed record (SPEC §3: a record
error with its raw text, file and line), not a failed run: Polars refuses a whole parse for one such
byte. Run through `flowc run` on real files, every batch size from one record to the whole file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowc.runtime.sources.utf8_lines import file_is_utf8, utf8_faults, without_faults

LATIN1 = "café".encode("latin-1")  # b"caf\xe9": not UTF-8


def run(folder: Path, source: str, batch_size: int) -> tuple[list[dict], list[dict]]:
    spec = folder / "p.flow.yaml"
    spec.write_text(f"version: 1\npipeline: p\nsettings: {{batch_size: {batch_size}, on_error: dead_letter, "
                    "dead_letter: {type: file, path: dead.jsonl}}\n"
                    f"sources:\n  s: {source}\nsinks:\n  out: {{type: file, path: out.jsonl}}\n")
    done = subprocess.run([sys.executable, "-m", "flowc", "run", "--quiet", "--reset", str(spec)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    def read(name: str) -> list[dict]:
        path = folder / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return read("out.jsonl"), read("dead.jsonl")


@pytest.mark.parametrize("batch_size", [1, 2, 100])
@pytest.mark.parametrize("schema", ["", ", schema: {id: int, name: string}"])
def test_a_csv_line_that_is_not_utf8_is_a_record_error_with_its_line(tmp_path, batch_size, schema):
    (tmp_path / "a.csv").write_bytes(b"id,name\n1,ann\n2," + LATIN1 + b"\n3,\"bo\nb\"\n4,d\xc3\n5,eve\n")
    out, dead = run(tmp_path, "{type: file, path: a.csv" + schema + "}", batch_size)
    assert out == [{"id": 1, "name": "ann"}, {"id": 3, "name": "bo\nb"}, {"id": 5, "name": "eve"}]
    assert [(d["_source"]["position"], d["_error"]["code"], d["_error"]["message"], d["id"]) for d in dead] == [
        ("a.csv:3", "parse", "csv: not UTF-8 (byte 5): 2,caf\ufffd", None),
        ("a.csv:6", "parse", "csv: not UTF-8 (byte 3): 4,d\ufffd", None),
    ]


@pytest.mark.parametrize("batch_size", [1, 100])
def test_a_text_line_that_is_not_utf8_is_a_record_error_with_its_line(tmp_path, batch_size):
    (tmp_path / "a.log").write_bytes(b"one\n" + LATIN1 + b"\r\nthree\n")
    out, dead = run(tmp_path, "{type: file, path: a.log, format: text}", batch_size)
    assert out == [{"line": "one"}, {"line": "three"}]
    assert [(d["_source"]["position"], d["_error"]["message"], d["line"]) for d in dead] == [
        ("a.log:2", "text: not UTF-8 (byte 3): caf\ufffd", None)]


def test_the_faults_of_a_block_name_each_line_and_leave_the_others() -> None:
    data = b"ok\n" + LATIN1 + b"\n\xff\xfe\r\nfine \xc3\xa9\n"
    assert utf8_faults(data) == {1: "not UTF-8 (byte 3): caf\ufffd", 2: "not UTF-8 (byte 0): \ufffd\ufffd"}
    assert without_faults(data, utf8_faults(data)) == b"ok\n\n\nfine \xc3\xa9\n"
    assert utf8_faults(b"plain ascii\n") == {} and utf8_faults("é\n".encode()) == {}


def test_a_file_is_checked_across_its_blocks(tmp_path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * ((1 << 23) - 1) + "é".encode())  # the two bytes of é across two blocks
    assert file_is_utf8(str(path))
    path.write_bytes(b"a" * ((1 << 23) - 1) + b"\xc3")  # cut short at the end
    assert not file_is_utf8(str(path))
