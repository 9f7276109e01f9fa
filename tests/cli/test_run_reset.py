"""`flowc run --reset` starts over and removes the outputs the event log says this pipeline wrote
since its last reset (SPEC §9): those of sinks the spec moved or dropped too, every rotated part, gzip
files, the dead-letter and `<step>.errors` sinks, and nothing else in their folders."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

FLOWC = [sys.executable, "-m", "flowc"]

INPUT = "".join(f'{{"id": {i}, "amount": {i - 3}}}\n' for i in range(10))


def spec(folder: Path, body: str) -> Path:
    path = folder / "p.flow.yaml"
    path.write_text("version: 1\npipeline: p\nsources:\n  s: {type: file, path: in.jsonl}\n" + textwrap.dedent(body))
    (folder / "in.jsonl").write_text(INPUT)
    return path


def flowc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, *args], capture_output=True, text=True, timeout=120)


def run_ok(*args: str) -> None:
    result = flowc("run", "--quiet", *args)
    assert result.returncode == 0, result.stderr


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and ".flow" not in p.parts}


def ids(path: Path) -> list[int]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [json.loads(line)["id"] for line in data.splitlines()]


def test_a_sink_given_another_path_loses_its_old_file_on_reset(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out/notes.txt").write_text("mine")
    (tmp_path / "out/a.jsonl.orig").write_text("mine too")
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/a.jsonl}\n")))
    assert ids(tmp_path / "out/a.jsonl") == list(range(10))
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/b.jsonl}\n")), "--reset")
    assert files(tmp_path) == {"p.flow.yaml", "in.jsonl", "out/notes.txt", "out/a.jsonl.orig", "out/b.jsonl"}
    assert ids(tmp_path / "out/b.jsonl") == list(range(10))


def test_a_sink_removed_from_the_spec_loses_its_file_on_reset(tmp_path):
    run_ok(str(spec(tmp_path, """\
        sinks:
          o: {type: file, path: out/o.jsonl}
          copy: {type: file, path: copies/c.csv}
        """)))
    assert (tmp_path / "copies/c.csv").exists()
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/o.jsonl}\n")), "--reset")
    assert files(tmp_path) == {"p.flow.yaml", "in.jsonl", "out/o.jsonl"}


def test_rotated_gzip_parts_are_all_removed_on_reset(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out/r.jsonl.gz").write_text("not the sink's: rotated files are numbered")
    run_ok(str(spec(tmp_path, """\
        settings: {batch_size: 4}
        sinks:
          r: {type: file, path: out/r.jsonl.gz, rotate: {max_records: 3}}
          b: {type: file, path: out/b.csv, rotate: {max_bytes: 12}}
        """)))
    written = files(tmp_path)
    assert {"out/r.000001.jsonl.gz", "out/r.000004.jsonl.gz", "out/b.000001.csv", "out/b.000002.csv"} <= written
    assert ids(tmp_path / "out/r.000004.jsonl.gz") == [9]
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: console, format: jsonl}\n")), "--reset")
    assert files(tmp_path) == {"p.flow.yaml", "in.jsonl", "out/r.jsonl.gz"}


def test_dead_letter_and_errors_sinks_are_removed_on_reset(tmp_path):
    run_ok(str(spec(tmp_path, """\
        settings: {on_error: dead_letter, dead_letter: {type: file, path: out/dead.jsonl}}
        steps:
          - name: check
            validate: {positive: amount > 0}
          - name: wide
            map: {ratio: 10 / (amount - 2)}
          - name: strict
            from: wide
            validate: {small: ratio < 100}
        sinks:
          o: {type: file, path: out/o.jsonl}
          bad: {type: file, from: check.errors, path: out/bad.json}
        """)))
    assert len((tmp_path / "out/dead.jsonl").read_text().splitlines()) > 0
    assert len(json.loads((tmp_path / "out/bad.json").read_text())) == 4
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/o2.jsonl}\n")), "--reset")
    assert files(tmp_path) == {"p.flow.yaml", "in.jsonl", "out/o2.jsonl"}


def test_reset_without_an_event_log_removes_nothing_but_its_own_sink(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out/other.jsonl").write_text("{}\n")
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/o.jsonl}\n")), "--reset")
    assert files(tmp_path) == {"p.flow.yaml", "in.jsonl", "out/other.jsonl", "out/o.jsonl"}


def test_a_reset_refused_for_spec_errors_removes_nothing(tmp_path):
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/o.jsonl}\n")))
    broken = flowc("run", "--quiet", "--reset", str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/x.jsonl}\n"
                                                                   "steps:\n  - filter: nope > 1\n")))
    assert broken.returncode == 1
    assert ids(tmp_path / "out/o.jsonl") == list(range(10))


def test_outputs_removed_by_an_earlier_reset_are_not_the_pipelines_any_more(tmp_path):
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/a.jsonl}\n")))
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/b.jsonl}\n")), "--reset")
    (tmp_path / "out/a.jsonl").write_text("a file of the user's, at a path the pipeline once wrote\n")
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/b.jsonl}\n")), "--reset")
    assert (tmp_path / "out/a.jsonl").read_text().startswith("a file of the user's")
    assert ids(tmp_path / "out/b.jsonl") == list(range(10))


def test_a_sink_written_by_a_run_that_failed_before_its_first_checkpoint_is_removed_on_reset(tmp_path):
    # z's folder is a dangling link: its first write fails after a's (sinks write in order), before
    # any checkpoint names a's file
    (tmp_path / "blocker").symlink_to(tmp_path / "nowhere" / "folder")
    body = "sinks:\n  a: {type: file, path: out/a.jsonl}\n  z: {type: file, path: blocker/z.jsonl}\n"
    failed = flowc("run", "--quiet", str(spec(tmp_path, body)))
    assert failed.returncode == 1 and "File exists" in failed.stderr
    assert (tmp_path / "out/a.jsonl").exists()  # opened, never checkpointed
    run_ok(str(spec(tmp_path, "sinks:\n  z: {type: file, path: out/z.jsonl}\n")), "--reset")
    assert files(tmp_path) == {"p.flow.yaml", "in.jsonl", "out/z.jsonl"}


def test_an_old_output_the_spec_now_reads_is_an_input_and_stays(tmp_path):
    run_ok(str(spec(tmp_path, "sinks:\n  o: {type: file, path: out/a.jsonl}\n")))
    chained = tmp_path / "p.flow.yaml"
    chained.write_text("version: 1\npipeline: p\nsources:\n  s: {type: file, path: out/a.jsonl}\n"
                       "sinks:\n  o: {type: file, path: out/b.jsonl}\n")
    run_ok(str(chained), "--reset")
    assert ids(tmp_path / "out/a.jsonl") == ids(tmp_path / "out/b.jsonl") == list(range(10))
