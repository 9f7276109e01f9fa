"""The fast CSV reading (no lines stream): for a file without its quote character, a fast query either
gives exactly the records of the exact reading (`checked_csv`) or fails with the switch to it; it never
gives other records. A run switches where the file first needs the exact reading and ends with what an
exact run gives."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from runner_cases import events, records, run, write_spec

from flowc.compiler.lower_plan import ROW
from flowc.compiler.source_types import NeedsExactReading, fast_conversions, slow_path_signal
from flowc.compiler.spec import Config, Source
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.csv_lines import fast_csv
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.files import FileReader
from flowc.runtime.sources.line_blocks import count_lines

OPTIONS = {"separator": ",", "has_header": True, "quote_char": '"', "null_values": None, "encoding": "utf8"}
SCHEMA = Struct((("a", t.STRING), ("b", t.STRING), ("c", t.STRING)))


def _reader(folder: Path) -> FileReader:
    source = Source(name="s", type="file", config=Config({"path": "in.csv"}), schema=SCHEMA,
                    event_time=None, format="csv")
    return FileReader(source, str(folder))


def _read(folder: Path, fast: bool) -> pl.DataFrame:
    """The reader's records as the runner consumes them (in batches of 2); a fast reading fails where
    its scan would (`slow_path_signal` of a marked row)."""
    reader = _reader(folder)
    with fast_conversions() if fast else nullcontext():
        frame = reader.frame(SCHEMA, None, None)
    if fast:  # kept in the output until collected: a column nothing reads is never computed
        frame = frame.with_columns(slow_path_signal(pl.col(RAW_ERROR).is_not_null()).alias("__signal"))
    batches = list(frame.collect_batches(chunk_size=2, maintain_order=True))
    return (pl.concat(batches) if batches else frame.collect()).drop("__signal", strict=False)


@pytest.mark.parametrize("text", ['a,b,c\n1,"2",3\n', "", "a,b,c\n1,2,3\n"])
def test_a_file_with_its_quote_character_or_empty_does_not_qualify(tmp_path, text):
    (tmp_path / "in.csv").write_text(text)
    qualifies = fast_csv(str(tmp_path / "in.csv"), None, OPTIONS) is not None
    assert qualifies == (text == "a,b,c\n1,2,3\n")
    assert fast_csv(str(tmp_path / "in.csv"), None, {**OPTIONS, "encoding": "iso8859-1"}) is None


@pytest.mark.parametrize("line", ["4,5", "4,5,6,7", "4,5,6,", "", "4,5,", "\r", "x"])
@pytest.mark.parametrize("first", [True, False])
def test_a_row_the_exact_reading_must_judge_fails_the_fast_query(tmp_path, line, first):
    rows = [line, "1,2,3"] if first else ["1,2,3", line]
    (tmp_path / "in.csv").write_text("\n".join(["a,b,c", *rows, "7,8,9"]) + "\n")
    with pytest.raises(pl.exceptions.PolarsError):
        _read(tmp_path, fast=True)


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_well_formed_file_is_read_fast_as_the_exact_reading_reads_it(tmp_path, ending):
    (tmp_path / "in.csv").write_bytes(ending.join(["a,b,c", "1,2,3", "x y,,z", ",,q"]).encode() + ending.encode())
    fast, exact = _read(tmp_path, fast=True), _read(tmp_path, fast=False)
    assert fast.drop(RAW_ERROR).equals(exact.drop(RAW_ERROR))
    assert fast[ROW].to_list() == [0, 1, 2] and fast["c"].to_list() == ["3", "z", "q"]


@pytest.mark.parametrize("header", [True, False])
def test_columns_follow_the_header_or_the_declared_names(tmp_path, header):
    (tmp_path / "in.csv").write_text(("c,a,b\n" if header else "") + "1,2,3\n")
    frame = fast_csv(str(tmp_path / "in.csv"), None if header else ["x", "y", "z"],
                     {**OPTIONS, "has_header": header}).collect()
    assert frame.columns[:3] == (["c", "a", "b"] if header else ["x", "y", "z"])
    assert frame.row(0)[:3] == ("1", "2", "3")


_FIELD = st.sampled_from(["", "1", "ab", "x y", "-2.5"])
_LINE = st.one_of(st.lists(_FIELD, min_size=1, max_size=5).map(",".join), st.just(""))


@given(lines=st.lists(_LINE, min_size=0, max_size=12), crlf=st.booleans(), final_newline=st.booleans())
def test_fast_gives_the_exact_records_or_switches(tmp_path_factory, lines, crlf, final_newline):
    folder = tmp_path_factory.mktemp("csv")
    ending = "\r\n" if crlf else "\n"
    (folder / "in.csv").write_bytes((ending.join(["a,b,c", *lines]) + (ending if final_newline else "")).encode())
    exact = _read(folder, fast=False)
    try:
        fast = _read(folder, fast=True)
    except pl.exceptions.PolarsError:  # the runner reads on the exact way
        return
    assert exact[RAW_ERROR].null_count() == exact.height  # a malformed row never passes the fast reading
    assert fast.drop(RAW_ERROR).equals(exact.drop(RAW_ERROR))


SPEC = """
settings: {batch_size: 4, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
sources:
  s: {type: file, path: in.csv, schema: {id: int, name: string, amount: float}}
steps:
  - filter: amount > 0
  - map: {name: upper(name)}
sinks:
  out: {type: file, path: out.jsonl}
"""


# An encoding other than UTF-8 makes every reading of the file exact (its ASCII bytes read the same)
EXACT_SPEC = SPEC.replace("path: in.csv,", "path: in.csv, options: {encoding: latin-1},")


def _orders(bad_line: str | None) -> str:
    rows = [f"{i},n{i},{i}.5" for i in range(30)]
    if bad_line is not None:
        rows[17] = bad_line
    return "id,name,amount\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("bad_line", ["17,n17", "17,n17,1,2", "17,n17,1,", "17,n17,", ""])
def test_a_run_switching_mid_file_ends_as_an_exact_run(tmp_path, bad_line):
    fast = write_spec(tmp_path / "fast", SPEC, {"in.csv": _orders(bad_line)})
    exact = write_spec(tmp_path / "exact", EXACT_SPEC, {"in.csv": _orders(bad_line)})
    assert run(fast, "--quiet").exit_code == 0 and run(exact, "--quiet").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        fast_file, exact_file = tmp_path / "fast" / name, tmp_path / "exact" / name
        assert fast_file.exists() == exact_file.exists()
        if fast_file.exists():
            assert fast_file.read_bytes() == exact_file.read_bytes()
    ids = [r["id"] for r in records(tmp_path / "fast" / "out.jsonl")]
    assert 17 not in ids and ids[:3] == [0, 1, 2] and ids[-1] == 29
    fast_counts, exact_counts = (events(tmp_path / s)[-1]["data"]["counts"] for s in ("fast", "exact"))
    assert fast_counts == exact_counts


def _chunked(folder: Path, after: int | None, limit: int | None, rows: int) -> pl.DataFrame | None:
    with fast_conversions():
        pieces = _reader(folder).chunks(SCHEMA, after, limit, rows)
    if pieces is None:
        return None
    frames = [p.collect() for p in pieces.frames]
    return pl.concat(frames) if frames else pl.DataFrame()


@pytest.mark.parametrize(("after", "limit"), [(None, None), (None, 5), (3, None), (3, 4), (9, None)])
def test_a_single_file_is_read_in_chunks_with_the_rows_of_the_whole_reading(tmp_path, after, limit):
    (tmp_path / "in.csv").write_text("a,b,c\n" + "".join(f"{i},x{i},{i * 2}\n" for i in range(10)))
    exact = _read(tmp_path, fast=False)
    start = 0 if after is None else after + 1
    expected = exact.slice(start, limit)
    chunked = _chunked(tmp_path, after, limit, rows=3)
    assert chunked is not None
    if expected.height == 0:
        assert chunked.height == 0
    else:
        assert chunked.drop(RAW_ERROR).equals(expected.drop(RAW_ERROR))


def test_chunks_only_in_a_fast_query_and_a_quoted_field_over_lines_needs_the_exact_reading(tmp_path):
    (tmp_path / "in.csv").write_text("a,b,c\n" + '1,"2,x",3\n' + "1,2,3\n" * 3 + '1,"2\n",3\n')
    with fast_conversions():
        pieces = _reader(tmp_path).chunks(SCHEMA, None, None, 3)
    assert pieces is not None
    first = next(pieces.frames).collect()
    assert first.height == 3 and pieces.template.collect().schema == first.schema
    assert first["b"].to_list() == ["2,x", "2", "2"]  # a quoted field on one line is read fast
    with pytest.raises(NeedsExactReading):
        next(pieces.frames)
    exact = _reader(tmp_path).chunks(SCHEMA, None, None, 3)  # not a fast query: the exact reading, in chunks
    assert exact is not None
    read = pl.concat([frame.collect() for frame in exact.frames])
    assert read.equals(_reader(tmp_path).frame(SCHEMA, None, None).collect().select(read.columns))
    assert read[RAW_ERROR].to_list() == [None] * 5  # the quoted field over two lines: one record, on line 5
    assert read[ROW].to_list() == [0, 1, 2, 3, 4] and read["b"].to_list()[4] == "2\n"


@pytest.mark.parametrize("later", ['20,"n\n20",20.5', '20,"n20,20.5'])
def test_a_quoted_field_over_lines_after_some_chunks_switches_and_ends_as_an_exact_run(tmp_path, later):
    rows = [f'{i},"n{i}",{i}.5' if i % 3 else f"{i},n{i},{i}.5" for i in range(30)]
    text = "id,name,amount\n" + "\n".join([*rows[:20], later, *rows[21:]]) + "\n"
    fast = write_spec(tmp_path / "fast", SPEC, {"in.csv": text})
    exact = write_spec(tmp_path / "exact", EXACT_SPEC, {"in.csv": text})
    assert run(fast, "--quiet").exit_code == 0 and run(exact, "--quiet").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "exact" / name).read_bytes()
    assert [r["id"] for r in records(tmp_path / "fast" / "out.jsonl")][:20] == list(range(20))
    if "\n" in later:  # a quoted field over two lines: one record
        assert [r["name"] for r in records(tmp_path / "fast" / "out.jsonl")][20] == "N\n20"  # upper(name)
        assert not records(tmp_path / "fast" / "dead.jsonl")
    else:  # a quote that does not close is a record error on its line
        assert records(tmp_path / "fast" / "dead.jsonl")


_QUOTED_FIELD = st.sampled_from(['"x,y"', '"a""b"', '""', '"q"', '"', 'a"b', '"a"b', '"l1\nl2"', '"\n"'])


@given(lines=st.lists(st.lists(_FIELD | _QUOTED_FIELD, min_size=1, max_size=4).map(",".join) | st.just(""),
                      max_size=12), rows=st.integers(1, 5), crlf=st.booleans())
@example(lines=[',a"b,a"b'], rows=1, crlf=False)  # Polars: 3 fields; the exact reading: 2 (`"b,a"` quoted)
@example(lines=['1,"x,y",3', '"a""b",c,"d"', '4,5,6'], rows=2, crlf=True)
def test_chunks_with_quotes_give_the_exact_records_or_switch(tmp_path_factory, lines, rows, crlf):
    folder = tmp_path_factory.mktemp("csv")
    ending = "\r\n" if crlf else "\n"
    (folder / "in.csv").write_bytes((ending.join(["a,b,c", *lines]) + ending).encode())
    try:
        exact = _read(folder, fast=False)
    except pl.exceptions.PolarsError:  # Polars' parse refuses the file (a quote inside a field): so do chunks
        with pytest.raises((pl.exceptions.PolarsError, NeedsExactReading)):
            _chunked(folder, None, None, rows)
        return
    try:
        chunked = _chunked(folder, None, None, rows)
    except (pl.exceptions.PolarsError, NeedsExactReading):  # the runner reads on the exact way
        return
    assert chunked is not None
    if not chunked.height:
        assert exact.height == 0
        return
    clean = chunked.filter(pl.col(RAW_ERROR).is_null())  # a marked row fails the fast query
    if clean.height < chunked.height:
        return
    assert exact[RAW_ERROR].null_count() == exact.height  # a malformed row never passes the fast reading
    assert chunked.drop(RAW_ERROR).equals(exact.drop(RAW_ERROR))


@pytest.mark.parametrize("text", [b"", b"a", b"a\n", b"a\nb", b"\n\n", b"a\r\nb\r\n", b"x\n" * 100_000 + b"y"])
def test_lines_are_counted_as_scan_lines_counts_them(tmp_path, text):
    (tmp_path / "f.txt").write_bytes(text)
    expected = pl.scan_lines(tmp_path / "f.txt").select(pl.len()).collect().item() if text else 0
    assert count_lines(str(tmp_path / "f.txt")) == expected


def _glob_reader(folder: Path) -> FileReader:
    source = Source(name="s", type="file", config=Config({"path": "in-*.csv"}), schema=SCHEMA,
                    event_time=None, format="csv")
    return FileReader(source, str(folder))


@pytest.mark.parametrize(("after", "limit"), [(None, None), (None, 6), (3, None), (4, 3), (6, None), (9, 2), (11, None)])
def test_a_glob_is_read_in_chunks_file_after_file_with_one_row_numbering(tmp_path, after, limit):
    (tmp_path / "in-1.csv").write_text("a,b,c\n" + "".join(f"{i},x{i},{i * 2}\n" for i in range(5)))
    (tmp_path / "in-2.csv").write_text("a,b,c\n")  # no records
    (tmp_path / "in-3.csv").write_text("a,b,c\n" + "".join(f"{i},y{i},{i * 3}\n" for i in range(7)))
    reader = _glob_reader(tmp_path)
    exact = reader.frame(SCHEMA, None, None).collect()
    with fast_conversions():
        pieces = reader.chunks(SCHEMA, after, limit, 2)
    assert pieces is not None
    frames = [p.collect() for p in pieces.frames]
    expected = exact.slice(0 if after is None else after + 1, limit)
    chunked = pl.concat(frames) if frames else expected.clear()
    assert chunked.drop(RAW_ERROR).equals(expected.drop(RAW_ERROR))
    if limit is None:
        assert reader.count() == 12  # counted by the chunks


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("fields", [None, {"b"}])
def test_a_glob_whose_files_differ_in_columns_is_read_in_chunks_by_column_name(tmp_path, fast, fields):
    (tmp_path / "in-1.csv").write_text("a,b,c\n1,2,3\n4,5,6\n7,8,9\n")
    (tmp_path / "in-2.csv").write_text("a,c,b\n10,11,12\n")
    (tmp_path / "in-3.csv").write_text("b,a\n13,14\n")
    whole = _glob_reader(tmp_path).frame(SCHEMA, None, None).collect()
    with fast_conversions() if fast else nullcontext():
        pieces = _glob_reader(tmp_path).chunks(SCHEMA, None, None, 2, fields)
    assert pieces is not None
    read = pl.concat([frame.collect() for frame in pieces.frames])
    assert read.schema == pieces.template.collect_schema()
    columns = [c for c in read.columns if c != RAW_ERROR]
    wanted = [ROW, *sorted(fields or ("a", "b", "c"))]  # a column not read is not parsed in every file
    assert read.select(wanted).equals(whole.select(wanted))
    assert read["b"].to_list() == ["2", "5", "8", "12", "13"]
    # only the columns read are parsed (and in a fast query each file's last: a short row's mark)
    assert columns == ([ROW, "a", "b", "c"] if fields is None else [ROW, "b", "c", "a"] if fast else [ROW, "b"])


GLOB_SPEC = SPEC.replace("path: in.csv", "path: in-*.csv")


@pytest.mark.parametrize("bad_line", ["12,n12", "12,n12,1,2"])
def test_a_glob_switching_in_its_second_file_ends_as_an_exact_run_with_file_positions(tmp_path, bad_line):
    first = [f"{i},n{i},{i}.5" for i in range(10)]
    second = [f"{i},n{i},{i}.5" for i in range(10, 20)]
    second[2] = bad_line
    files = {"in-1.csv": "id,name,amount\n" + "\n".join(first) + "\n",
             "in-2.csv": "id,name,amount\n" + "\n".join(second) + "\n"}
    fast = write_spec(tmp_path / "fast", GLOB_SPEC, files)
    exact = write_spec(tmp_path / "exact", EXACT_SPEC.replace("path: in.csv", "path: in-*.csv"), files)
    assert run(fast, "--quiet").exit_code == 0 and run(exact, "--quiet").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "exact" / name).read_bytes()
    (dead,) = records(tmp_path / "fast" / "dead.jsonl")
    assert dead["_source"]["position"] == "in-2.csv:4"
    assert [r["id"] for r in records(tmp_path / "fast" / "out.jsonl")] == [i for i in range(20) if i != 12]


def test_chunks_parse_only_the_fields_read_and_still_mark_a_short_row(tmp_path):
    (tmp_path / "in.csv").write_text("a,b,c\n" + "".join(f"{i},x{i},{i * 2}\n" for i in range(7)) + "7,x7\n")
    with fast_conversions():
        pieces = _reader(tmp_path).chunks(SCHEMA, None, None, 3, fields=["a"])
    assert pieces is not None
    got = pl.concat([frame.collect() for frame in pieces.frames])
    assert got.columns == [ROW, "a", "c", RAW_ERROR]  # `c`, the last column, tells a short row
    assert pieces.template.collect().columns == got.columns
    assert got["a"].to_list() == [str(i) for i in range(8)] and got[ROW].to_list() == list(range(8))
    assert got[RAW_ERROR].is_not_null().to_list() == [False] * 7 + [True]


PRUNED = """
settings: {batch_size: 4, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
sources:
  people: {type: file, path: in.csv, schema: {id: int, name: string, note: string}}
steps:
  - select: [id]
sinks:
  out: {type: file, path: out.jsonl}
"""


@pytest.mark.parametrize("bad_line", ["", "9,n9", "9,n9,x,y"])
def test_a_pruned_scan_reads_as_an_unoptimized_run(tmp_path, bad_line):
    lines = [f"{i},n{i},note {i}" for i in range(15)]
    lines[9] = bad_line or lines[9]
    text = "id,name,note\n" + "\n".join(lines) + "\n"
    optimized = write_spec(tmp_path / "optimized", PRUNED, {"in.csv": text})
    plain = write_spec(tmp_path / "plain", PRUNED, {"in.csv": text})
    assert run(optimized, "--quiet").exit_code == 0 and run(plain, "--quiet", "--no-optimize").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        assert (tmp_path / "optimized" / name).exists() == (tmp_path / "plain" / name).exists()
        if (tmp_path / "plain" / name).exists():
            assert (tmp_path / "optimized" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    ids = [r["id"] for r in records(tmp_path / "optimized" / "out.jsonl")]
    assert ids == [i for i in range(15) if i != 9 or not bad_line]


def test_quoted_fields_on_one_line_are_read_fast_as_the_exact_reading_reads_them(tmp_path):
    (tmp_path / "in.csv").write_text('a,b,c\n1,"x,y",3\n"a""b",c,"d"\n\n4,,"6"\n7,"",9\n')
    chunked = _chunked(tmp_path, None, None, rows=2)  # no NeedsExactReading: every line is one record
    assert chunked is not None
    exact = _read(tmp_path, fast=False)
    assert chunked.filter(pl.col(RAW_ERROR).is_null()).drop(RAW_ERROR).equals(
        exact.filter(pl.col(ROW) != 2).drop(RAW_ERROR))  # the blank line (row 2) is the fast reading's mark
    assert chunked["b"].to_list() == ["x,y", "c", None, None, ""]


_COMPRESSED_CASES = [("in.csv.gz", "id,name,amount\n" + "".join(f"{i},n{i},{i}.5\n" for i in range(9))),
                     ("in.jsonl.gz", "".join(f'{{"id": "{i}", "name": "n{i}", "amount": "{i}.5"}}\n' for i in range(9)))]


@pytest.mark.parametrize("how", ["gzip", "zlib"])
@pytest.mark.parametrize(("name", "text"), _COMPRESSED_CASES)
def test_a_compressed_file_is_read_and_resumed_as_its_text_is(tmp_path, name, text, how):
    """gzip and zlib are decompressed as a stream in blocks (`line_blocks`). Either way the rows are the text's lines: a run stopped by --limit resumes after them (their count was
    taken from the compressed bytes before, and the resumed run read nothing)."""
    import gzip
    import zlib

    spec = write_spec(tmp_path, SPEC.replace("path: in.csv", f"path: {name}"))
    (tmp_path / name).write_bytes(gzip.compress(text.encode()) if how == "gzip" else zlib.compress(text.encode()))
    assert run(spec, "--quiet", "--limit", "4").exit_code == 0
    assert run(spec, "--quiet").exit_code == 0
    assert [r["id"] for r in records(tmp_path / "out.jsonl")] == list(range(9))
    schema = Struct((("id", t.STRING), ("name", t.STRING), ("amount", t.STRING)))
    source = Source(name="s", type="file", config=Config({"path": name}), schema=schema, event_time=None,
                    format=name.split(".")[1])
    with fast_conversions():
        chunked = FileReader(source, str(tmp_path)).chunks(schema, 2, None, 3)
    assert [frame.collect()["id"].to_list() for frame in chunked.frames] == [["3", "4", "5"], ["6", "7", "8"]]
