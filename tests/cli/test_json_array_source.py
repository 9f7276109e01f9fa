"""A `json` file source (SPEC §3: one array) is parsed once, in chunks: its schema is inferred from its
first elements only, so a file malformed after them is one record error at `file:line` when the
pipeline runs (not a failure to infer), and the run's memory does not hold the file's parsed values
(it held them three times: 565 MB peak for a 29 MB file, as against 195 MB for the same records as
JSON lines)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli

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


# Runs `flowc run` in a child that reports its own peak RSS (VmHWM: ru_maxrss would count pytest's).
_MEASURED = """
import sys
from flowc.cli import cli
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
    # measured: +25 MB (the file's text and its elements' offsets); +190 MB when parsed whole three times
    assert peaks["in.json"] - peaks["in.jsonl"] < 80, peaks
