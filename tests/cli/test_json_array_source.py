"""A `json` file source (SPEC §3: one array) is read in bounded memory: its elements are found a block
at a time (runtime/sources/json_stream.py), and read in chunks. Its schema is inferred from its first
elements only, so a file malformed after them is one record error at `file:line` when the pipeline
runs (not a failure to infer), and no record of such a file is given, however far into the file its
fault is. The run's memory holds neither the file's parsed values (it held them three times: 565 MB
peak for a 29 MB file, as against 195 MB for the same records as JSON lines) nor its text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli
from flowc.runtime.sources.json_stream import BLOCK

SPEC = """version: 1
pipeline: p
settings: {{infer_rows: 3, on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
sources:
  s: {{type: file, path: {path}}}
sinks:
  out: {{type: file, path: out.jsonl}}
"""


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_file_malformed_after_the_inferred_elements_is_one_record_error_at_its_line(tmp_path):
    (tmp_path / "in.json").write_text('[\n {"a": 1},\n {"a": 2},\n {"a": 3},\n {"a": 4}\n {"a": 5}\n]\n')
    (tmp_path / "p.flow.yaml").write_text(SPEC.format(path="in.json"))
    ran = CliRunner().invoke(cli, ["run", str(tmp_path / "p.flow.yaml")])
    assert ran.exit_code == 0, ran.output
    assert _lines(tmp_path / "out.jsonl") == []  # a file that does not parse has no elements to number
    [dead] = _lines(tmp_path / "dead.jsonl")
    assert dead["_source"] == {"name": "s", "position": "in.json:6"}
    assert dead["_error"]["message"] == ("json: malformed JSON (Expecting ',' delimiter at line 6 column 2): "
                                         ' {"a": 5}')


def test_a_pretty_printed_array_over_several_chunks_gives_every_element_once(tmp_path):
    elements = [{"id": i, "tags": ["x"] * (i % 3), "n": {"v": i}} for i in range(25)]
    elements[11] = [11]
    (tmp_path / "in.json").write_text(json.dumps(elements, indent=2))
    (tmp_path / "p.flow.yaml").write_text(SPEC.format(path="in.json").replace("infer_rows: 3", "batch_size: 4"))
    ran = CliRunner().invoke(cli, ["run", str(tmp_path / "p.flow.yaml")])
    assert ran.exit_code == 0, ran.output
    assert _lines(tmp_path / "out.jsonl") == [e for e in elements if isinstance(e, dict)]
    [dead] = _lines(tmp_path / "dead.jsonl")
    assert dead["_source"]["position"] == "in.json[11]"
    assert dead["_error"]["message"].startswith("json: the line is not a JSON object: [")  # its raw text, one line
    assert "read=25" in ran.output


def _run(folder: Path, *args: str) -> str:
    ran = CliRunner().invoke(cli, ["run", str(folder / "p.flow.yaml"), *args])
    assert ran.exit_code == 0, ran.output
    return ran.output


_STRINGS = ["[,]", 'q"u{o}"te', "é€😀", "a,b}]", "\\", "line\nbreak"]


def _elements(count: int) -> list:
    """Objects with strings holding brackets, commas, escaped quotes and multi-byte UTF-8, and nested
    arrays and objects (about 300 bytes each); every 1000th element (999, 1999, ...) is not an object,
    and every 1500th (1250, 2750, ...) has an id that is not an int."""
    elements: list = [{"id": i, "s": _STRINGS[i % len(_STRINGS)] * (i % 4 + 1), "nested": {"xs": [[i], []], "o": {}},
                       "pad": "é€" * 40} for i in range(count)]
    for i in range(999, count, 1000):
        elements[i] = [i, "]"]
    for i in range(1250, count, 1500):
        elements[i]["id"] = "x"
    return elements


def _array_across_blocks(elements: list) -> bytes:
    """`elements` as a JSON array in several blocks, with whitespace and newlines between them and a
    4-byte character cut by the first block's end."""
    text = "[" + ",\n \r\n".join(json.dumps(e, ensure_ascii=False, indent=e["id"] % 3 if isinstance(e, dict)
                                              and isinstance(e["id"], int) else None) for e in elements) + "\n]\n"
    data = text.encode()
    emoji = data.rindex("😀".encode(), 0, BLOCK - 2)
    data = b"[" + b" " * (BLOCK - 2 - emoji) + data[1:]  # the emoji's bytes now start 2 before BLOCK
    assert data[BLOCK - 2:BLOCK + 2] == "😀".encode() and len(data) > 3 * BLOCK
    return data


def test_an_array_of_several_blocks_gives_every_element_once_at_its_index(tmp_path):
    elements = _elements(12_000)
    (tmp_path / "in.json").write_bytes(_array_across_blocks(elements))
    spec = SPEC.format(path="in.json").replace("infer_rows: 3", "batch_size: 2500").replace(
        "{type: file, path: in.json}", "{type: file, path: in.json, schema: {id: int, s: string}}")
    (tmp_path / "p.flow.yaml").write_text(spec)
    output = _run(tmp_path)
    expected = [{"id": e["id"], "s": e["s"]} for e in elements if isinstance(e, dict) and isinstance(e["id"], int)]
    assert _lines(tmp_path / "out.jsonl") == expected
    dead = {d["_source"]["position"]: d["_error"]["code"] for d in _lines(tmp_path / "dead.jsonl")}
    assert dead == {**{f"in.json[{i}]": "parse" for i in range(999, 12_000, 1000)},
                    **{f"in.json[{i}]": "conversion" for i in range(1250, 12_000, 1500)}}
    assert "read=12000" in output.replace(",", ""), output


def test_a_file_malformed_after_several_blocks_is_one_record_error_and_gives_no_record(tmp_path):
    data = _array_across_blocks(_elements(12_000))
    fault = data.rindex(b"},") + 1  # a stray comma after the last object but one: in the last block
    data = data[:fault] + b"," + data[fault:]
    (tmp_path / "in.json").write_bytes(data)
    (tmp_path / "p.flow.yaml").write_text(SPEC.format(path="in.json").replace("infer_rows: 3", "batch_size: 1000"))
    _run(tmp_path)
    assert _lines(tmp_path / "out.jsonl") == []
    [dead] = _lines(tmp_path / "dead.jsonl")
    line = data.count(b"\n", 0, fault) + 1
    assert dead["_source"] == {"name": "s", "position": f"in.json:{line}"}
    assert dead["_error"]["message"].startswith(f"json: malformed JSON (Expecting value at line {line} column ")


def test_a_limited_run_of_a_large_array_resumes_after_its_last_record(tmp_path):
    elements = [e for e in _elements(12_000) if isinstance(e, dict) and isinstance(e["id"], int)]
    (tmp_path / "in.json").write_bytes(_array_across_blocks(elements))
    (tmp_path / "p.flow.yaml").write_text(SPEC.format(path="in.json").replace("infer_rows: 3", "batch_size: 1000"))
    _run(tmp_path, "--limit", "7777", "--quiet")
    assert [r["id"] for r in _lines(tmp_path / "out.jsonl")] == [e["id"] for e in elements[:7777]]
    _run(tmp_path, "--quiet")
    assert [r["id"] for r in _lines(tmp_path / "out.jsonl")] == [e["id"] for e in elements]
    assert _lines(tmp_path / "dead.jsonl") == []


# Runs `flowc run` in a child that reports its own peak RSS (VmHWM: ru_maxrss would count pytest's).
_MEASURED = """
import sys
from flowc.cli import cli
from flowc.runtime.sources.json_stream import BLOCK
try:
    cli(["run", "--quiet", sys.argv[1]])
except SystemExit:
    pass
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
sys.stderr.write("\\nMAXRSS_KB=%s\\n" % peak)
"""


def _peak_mb(folder: Path) -> float:
    done = subprocess.run([sys.executable, "-c", _MEASURED, "p.flow.yaml"], cwd=folder, capture_output=True,
                          text=True, timeout=300)
    assert "MAXRSS_KB=" in done.stderr, done.stderr
    return int(done.stderr.rsplit("MAXRSS_KB=", 1)[1]) / 1024


def test_a_large_array_takes_about_the_memory_of_the_same_records_as_json_lines(tmp_path):
    records = [{"id": i, "name": f"name-{i}", "amount": i * 0.25, "tags": ["a", "b"]} for i in range(100_000)]
    peaks = {}
    for name, text in {"in.json": json.dumps(records, indent=1),
                       "in.jsonl": "".join(json.dumps(r) + "\n" for r in records)}.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_text(text)
        (folder / "p.flow.yaml").write_text(SPEC.format(path=name))
        peaks[name] = _peak_mb(folder)
        assert len((folder / "out.jsonl").read_text().splitlines()) == len(records)
    # measured: +5 MB (a block of the text and a chunk's lines); +14 MB when the file's text and its
    # elements' offsets were held (growing with the file); +190 MB when it was parsed whole three times
    assert peaks["in.json"] - peaks["in.jsonl"] < 10, peaks
