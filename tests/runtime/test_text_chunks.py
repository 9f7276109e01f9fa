"""Text sources (one record `{line}` per line) are read in chunks of lines (`line_chunks.text_chunks`),
giving the records of the whole-file reading: memory holds a few batches, not the files."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from runner_cases import records, run, write_spec

from flowc.compiler.spec import Config, Source
from flowc.runtime.sources.files import TEXT_SCHEMA, FileReader


def _reader(folder) -> FileReader:
    source = Source(name="s", type="file", config=Config({"path": "in-*.txt"}), schema=None, event_time=None,
                    format="text")
    return FileReader(source, str(folder))


_LINE = st.sampled_from(["", "a", "b c", "\r", "x\r", "é", "  "])


@given(files=st.lists(st.lists(_LINE, max_size=6), min_size=1, max_size=3), final_newline=st.booleans(),
       rows=st.integers(1, 4), after=st.none() | st.integers(0, 8), limit=st.none() | st.integers(0, 5))
def test_chunks_give_the_whole_reading(tmp_path_factory, files, final_newline, rows, after, limit):
    folder = tmp_path_factory.mktemp("text")
    for number, lines in enumerate(files):
        (folder / f"in-{number}.txt").write_bytes(("\n".join(lines) + ("\n" if final_newline and lines else ""))
                                                  .encode())
    # sliced here: Polars 2.1's scan_lines of several files loses rows when a slice is pushed into it
    whole = _reader(folder).frame(TEXT_SCHEMA, None, None).collect().slice(0 if after is None else after + 1, limit)
    reader = _reader(folder)
    chunked = reader.chunks(TEXT_SCHEMA, after, limit, rows)
    assert chunked is not None
    frames = [frame.collect() for frame in chunked.frames]
    assert all(0 < frame.height <= rows for frame in frames)
    read = pl.concat(frames) if frames else whole.clear()
    assert read.schema == chunked.template.collect_schema()
    assert read.equals(whole.select(read.columns))


@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_a_text_run_reads_every_line_with_its_position(tmp_path, batch_size):
    spec = write_spec(tmp_path, f"""
    settings: {{batch_size: {batch_size}, on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
    sources:
      s: {{type: file, path: in-*.txt, format: text}}
    steps:
      - validate: {{short: len(line) < 4}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """, {"in-1.txt": "one\r\n\r\nthree\r\n", "in-2.txt": "four\nfiv"})
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"line": "one"}, {"line": ""}, {"line": "fiv"}]
    assert [d["_source"]["position"] for d in records(tmp_path / "dead.jsonl")] == ["in-1.txt:3", "in-2.txt:1"]


def test_a_text_run_stopped_in_its_first_file_resumes_in_its_second(tmp_path):
    spec = write_spec(tmp_path, """
    settings: {batch_size: 2}
    sources:
      s: {type: file, path: in-*.txt, format: text}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    (tmp_path / "in-1.txt").write_text("\n\n\na")
    (tmp_path / "in-2.txt").write_text("\n")  # the whole-file scan lost this line on resume
    assert run(spec, "--quiet", "--limit", "4").exit_code == 0
    assert run(spec, "--quiet").exit_code == 0
    assert records(tmp_path / "out.jsonl") == [{"line": ""}] * 3 + [{"line": "a"}, {"line": ""}]
