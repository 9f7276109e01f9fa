"""Quote characters in a CSV file's fields: the exact reading reads each line as Python's `csv` module
does with `strict=True` (RFC 4180, and a watched folder's lines), whatever Polars' parser would make
of it (runtime/sources/csv_lines.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st
from runner_cases import records, run, write_spec

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Config, Source
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.files import FileReader

SCHEMA = Struct((("a", t.STRING), ("b", t.STRING), ("c", t.STRING)))


def _exact(folder: Path) -> pl.DataFrame:
    source = Source(name="s", type="file", config=Config({"path": "in.csv"}), schema=SCHEMA, event_time=None,
                    format="csv")
    return FileReader(source, str(folder)).frame(SCHEMA, None, None).collect()


def _python_csv(line: str) -> list[str] | None:
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error:
        return None


def _python_records(lines: list[str]) -> dict[int, tuple[list[str] | None, int]]:
    """The records of a file's data lines (each with its ending) as `csv.reader(strict=True)` reads
    them, by the line each starts on: (fields, lines spanned), fields None where the reader fails (a
    quote that does not close, text after a closing quote): that line alone is a record error, and the
    next line is read anew. A blank line holds no record."""
    records, i = {}, 0
    while i < len(lines):
        if not lines[i].rstrip("\r\n"):
            i += 1
            continue
        reader = csv.reader(iter(lines[i:]), strict=True)
        try:
            fields = next(reader)
            spanned = reader.line_num
        except csv.Error:
            fields, spanned = _python_csv(lines[i]), 1  # None, or the line alone when it read on
        records[i] = (fields, spanned)
        i += spanned
    return records


_FIELD = st.sampled_from(["", "1", "ab", "x y", '"x,y"', '"a""b"', '""', '"q"', '"', 'a"b', '"a"b', 'n"20', '"20.5',
                          ' "s"', 'a""b', '"a"b"c"', '"l1\nl2"', 'x"', '"\n"', '"l1\n""q""\n,l3"', '"open\n'])


@given(lines=st.lists(st.lists(_FIELD, min_size=1, max_size=4).map(",".join), max_size=8), crlf=st.booleans())
@example(lines=['20,n"20,"20.5', "3,y,4.5"], crlf=False)  # Polars: "not properly escaped" (the run failed)
@example(lines=['"aa",a",aaaa"'], crlf=False)  # Polars: 2 fields (`a",aaaa"` one); csv: 3
@example(lines=['1,a"b,2', "3,4,5"], crlf=True)  # an odd quote inside a field: Polars read on into the next line
@example(lines=['1,"multi', 'line",2', "3,4,5"], crlf=True)  # a quoted field over two lines: one record
@example(lines=['1,"a', 'b"x,2', "3,4,5"], crlf=False)  # text after the closing quote: line 1 alone is an error
@example(lines=['1,"a', "3,4,5"], crlf=False)  # never closed: each line is read alone
def test_each_record_is_read_as_pythons_csv_reads_it_or_is_a_record_error(tmp_path_factory, lines, crlf):
    folder = tmp_path_factory.mktemp("csv")
    ending = "\r\n" if crlf else "\n"
    text = ending.join(["a,b,c", *lines]) + ending
    (folder / "in.csv").write_bytes(text.encode())
    physical = [line + "\n" for line in text.split("\n")[1:-1]]  # as the file holds them (a quoted newline splits one)
    read = {row[ROW]: row for row in _exact(folder).iter_rows(named=True)}
    expected = _python_records(physical)
    assert set(read) == set(expected)  # a blank line and the lines a record spans after its first hold none
    for number, (fields, spanned) in expected.items():
        row = read[number]
        if fields is None or len(fields) != 3:
            assert row[RAW_ERROR] is not None, (physical[number:number + spanned], row)
            assert (row["a"], row["b"], row["c"]) == (None, None, None)
        else:
            assert row[RAW_ERROR] is None, (physical[number:number + spanned], row)
            assert [row["a"] or "", row["b"] or "", row["c"] or ""] == fields  # "" or null: csv cannot tell


def test_a_quote_inside_a_field_or_after_a_closing_quote_in_a_run(tmp_path):
    spec = write_spec(tmp_path, """
    settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: in.csv, schema: {a: int, b: string, c: float}}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.csv": 'a,b,c\n1,x,2.5\n20,n"20,"20.5\n2,Dwayne "The Rock" Johnson,1\n3,"a"b,4\n5,5\'10",6\n7,y,8\n'})
    result = run(spec, "--quiet")
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [
        {"a": 1, "b": "x", "c": 2.5}, {"a": 2, "b": 'Dwayne "The Rock" Johnson', "c": 1.0},
        {"a": 5, "b": "5'10\"", "c": 6.0}, {"a": 7, "b": "y", "c": 8.0}]
    assert [(d["_source"]["position"], d["_error"]["message"]) for d in records(tmp_path / "dead.jsonl")] == [
        ("in.csv:3", 'csv: malformed quotes: 20,n"20,"20.5'), ("in.csv:5", 'csv: malformed quotes: 3,"a"b,4')]


@given(lines=st.lists(st.lists(_FIELD, min_size=1, max_size=4).map(",".join), max_size=10), crlf=st.booleans(),
       rows=st.integers(1, 4), after=st.none() | st.integers(0, 6))
@example(lines=['"l1\nl2"', "1", '2,"x', 'y",z', "3,4,5"], crlf=False, rows=1, after=2)
@example(lines=['1,a"b,2', "", '"x', "3,4,5"], crlf=False, rows=1, after=None)
@example(lines=['1,a"b"c,2', "3,x\ry,4", "5,6,7"], crlf=False, rows=3, after=None)  # a lone CR is not a line end
def test_the_exact_reading_in_chunks_gives_the_whole_files_records(tmp_path_factory, lines, crlf, rows, after):
    folder = tmp_path_factory.mktemp("csv")
    ending = "\r\n" if crlf else "\n"
    (folder / "in.csv").write_bytes((ending.join(["a,b,c", *lines]) + ending).encode())
    exact = _exact(folder)
    if after is not None:  # a checkpoint is a record's row: a resume starts after that record's lines
        after = exact[ROW][after % exact.height] if exact.height else None
    whole = exact.filter(pl.col(ROW) > (-1 if after is None else after))
    source = Source(name="s", type="file", config=Config({"path": "in.csv"}), schema=SCHEMA, event_time=None,
                    format="csv")
    chunked = FileReader(source, str(folder)).chunks(SCHEMA, after, None, rows)  # not a fast query: exact
    assert chunked is not None
    frames = [frame.collect() for frame in chunked.frames]
    read = pl.concat(frames) if frames else whole.clear()
    assert read.equals(whole.select(read.columns))
