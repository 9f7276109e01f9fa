"""The chunked line reader (runtime/sources/line_chunks.py): chunks of whole lines of a CSV or JSON lines
file hold the records of the whole file."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.runtime.sources.csv_lines import BLANK as BLANK_COLUMN
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.line_blocks import block_ranges, nth_newline, skip_lines
from flowc.runtime.sources.line_chunks import Chunk, chunks, jsonl_chunks, prefetched

BLANK = None  # a generated blank line


def _options(separator: str = ",", null_values: list[str] | None = None, has_header: bool = True) -> dict:
    # As runtime/sources/files.py builds them (has_header among them: the chunk parser overrides it).
    return {"separator": separator, "has_header": has_header, "quote_char": '"', "null_values": null_values,
            "encoding": "utf8"}


def _read(path: Path, names: list[str], *, first_row: int = 0, rows_per_chunk: int = 3, has_header: bool = True,
          options: dict | None = None) -> list[tuple[Chunk, pl.DataFrame]]:
    found = chunks(str(path), names, options or _options(has_header=has_header), first_row=first_row,
                   rows_per_chunk=rows_per_chunk, has_header=has_header)
    return [(chunk, chunk.frame.collect()) for chunk in found]


def _rows(read: list[tuple[Chunk, pl.DataFrame]]) -> list[tuple]:
    return [row for _, frame in read for row in frame.rows()]


def _oracle(data: bytes, width: int, separator: str, nulls: list[str], has_header: bool) -> list[tuple]:
    """The rows Polars gives the file's lines, written out plainly: fields split on the separator
    (no quotes occur), a CRLF's CR stripped, empty and null-value fields null, a blank line all null,
    padded to `width` fields."""
    lines = data.decode().split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start another
    rows = []
    for line in lines[1 if has_header else 0:]:
        fields = line.removesuffix("\r").split(separator) if line.removesuffix("\r") else []
        fields = [None if f == "" or f in nulls else f for f in fields] + [None] * width
        rows.append(tuple(fields[:width]))
    return rows


values = st.sampled_from(["", "a", "NA", "x y", "é€", "12", " "]) | st.text("abz09 ", min_size=1, max_size=4)


@st.composite
def csv_files(draw):
    separator = draw(st.sampled_from([",", ";", "|", "\t"]))
    width = draw(st.integers(1, 4))
    names = [f"c{i}" for i in range(width)]
    line = st.none() | st.lists(values, min_size=1, max_size=width)  # blank, short and exact rows
    lines = draw(st.lists(line, max_size=25))
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines) + 1, max_size=len(lines) + 1))
    has_header = draw(st.booleans())
    texts = ([separator.join(names)] if has_header else []) + [separator.join(fields or []) for fields in lines]
    text = "".join(t + e for t, e in zip(texts, endings, strict=False))
    if texts and draw(st.booleans()):
        text = text.removesuffix(endings[len(texts) - 1])  # no final newline
    nulls = draw(st.sampled_from([None, ["NA"]]))
    return text.encode(), separator, names, has_header, nulls


@given(csv_files(), st.integers(0, 30), st.integers(1, 30))
def test_chunks_read_as_the_whole_file(tmp_path_factory, file, first_row, rows_per_chunk):
    data, separator, names, has_header, nulls = file
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(data)
    read = _read(path, names, first_row=first_row, rows_per_chunk=rows_per_chunk, has_header=has_header,
                 options=_options(separator, nulls, has_header))
    expected = _oracle(data, len(names), separator, nulls or [], has_header)[first_row:]
    assert _rows(read) == expected
    assert all(frame.height == chunk.rows and frame.columns == names for chunk, frame in read)
    assert [chunk.rows for chunk, _ in read] == [min(rows_per_chunk, len(expected) - start)
                                                 for start in range(0, len(expected), rows_per_chunk)]
    assert [chunk.first_row for chunk, _ in read] == list(range(first_row, first_row + len(expected), rows_per_chunk))
    # The oracle is Polars' own reading of the whole file.
    if has_header and data.strip():
        whole = pl.scan_csv(path, infer_schema=False, has_header=True, truncate_ragged_lines=True, separator=separator,
                            null_values=nulls).collect()
    else:
        whole = pl.scan_csv(path, has_header=False, schema=dict.fromkeys(names, pl.String), missing_columns="insert",
                            separator=separator,
                            null_values=nulls).collect() if data else pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    got = pl.concat([frame for _, frame in read]) if read else pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    assert got.select(names).rows() == whole.slice(first_row).rows()


@st.composite
def newline_buffers(draw):
    lengths = draw(st.lists(st.integers(0, 400) | st.sampled_from([0, 1, 3000]), min_size=1, max_size=300))
    buf = b"\n".join(b"x" * n for n in lengths) + draw(st.sampled_from([b"", b"\n", b"tail"]))
    return buf, [i for i, byte in enumerate(buf) if byte == ord("\n")]


@given(newline_buffers(), st.data())
def test_nth_newline_is_the_kth(buffer, data):
    buf, newlines = buffer
    if newlines:
        k = data.draw(st.integers(1, len(newlines)))
        assert nth_newline(buf, k, len(newlines)) == newlines[k - 1]


@given(newline_buffers(), st.integers(0, 320), st.integers(1, 5000), st.integers(0, 50))
def test_skip_lines_with_any_block(buffer, lines, block, start_line):
    buf, newlines = buffer
    starts = [0] + [n + 1 for n in newlines if n + 1 < len(buf)]
    pos = starts[min(start_line, len(starts) - 1)]
    later = [n for n in newlines if n >= pos]
    end = later[lines - 1] + 1 if 0 < lines <= len(later) else pos if lines == 0 else len(buf)
    assert skip_lines(buf, pos, lines, block=block) == end


@given(newline_buffers(), st.integers(1, 5000), st.integers(0, 50))
def test_block_ranges_are_whole_lines_covering_the_rest(buffer, size, start_line):
    buf, newlines = buffer
    starts = [0] + [n + 1 for n in newlines if n + 1 < len(buf)]
    pos = starts[min(start_line, len(starts) - 1)]
    ranges = list(block_ranges(buf, pos, size))
    assert [start for start, _ in ranges] == ([pos] + [end for _, end in ranges[:-1]] if pos < len(buf) else [])
    assert (ranges[-1][1] if ranges else pos) == len(buf)
    for start, end in ranges[:-1]:
        assert buf[end - 1:end] == b"\n"
        # as long as asked, unless a single line is longer: then it ends with that line
        assert end - start <= size or b"\n" not in buf[start:start + size]


def test_empty_and_header_only_files_have_no_chunks(tmp_path):
    for data in [b"", b"a,b", b"a,b\n", b"a,b\r\n"]:
        (tmp_path / "f.csv").write_bytes(data)
        assert _read(tmp_path / "f.csv", ["a", "b"]) == []
    (tmp_path / "f.csv").write_bytes(b"")
    assert _read(tmp_path / "f.csv", ["a", "b"], has_header=False) == []


def test_no_rows_after_first_row(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"a,b\n1,2\n3,4\n")
    assert _read(tmp_path / "f.csv", ["a", "b"], first_row=2) == []
    assert _read(tmp_path / "f.csv", ["a", "b"], first_row=9) == []
    assert _rows(_read(tmp_path / "f.csv", ["a", "b"], first_row=1)) == [("3", "4")]


def test_blank_lines_are_rows_at_a_chunks_end_and_the_files_end(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"a,b\r\n1,2\r\n\r\n\n3\n\n\n")
    read = _read(tmp_path / "f.csv", ["a", "b"], rows_per_chunk=2)
    assert [(chunk.first_row, chunk.rows, frame.height) for chunk, frame in read] == [(0, 2, 2), (2, 2, 2), (4, 2, 2)]
    assert _rows(read) == [("1", "2"), (None,) * 2, (None,) * 2, ("3", None), (None,) * 2, (None,) * 2]


def test_last_line_without_newline(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"1,2\n5,\n7,8")
    read = _read(tmp_path / "f.csv", ["a", "b"], has_header=False, rows_per_chunk=2)
    assert [chunk.rows for chunk, _ in read] == [2, 1]
    assert _rows(read) == [("1", "2"), ("5", None), ("7", "8")]


@pytest.mark.parametrize("long", [b"5,6,7", b"5,6,"])  # an empty extra field too
@pytest.mark.parametrize("first", [True, False])
def test_a_line_with_too_many_fields_fails_its_chunk(tmp_path, long, first):
    rows = [long, b"1,2"] if first else [b"1,2", long]
    (tmp_path / "f.csv").write_bytes(b"a,b\n" + b"\n".join(rows) + b"\n")
    with pytest.raises(pl.exceptions.PolarsError):
        _read(tmp_path / "f.csv", ["a", "b"], rows_per_chunk=5)


def test_a_byte_order_mark_is_not_part_of_the_first_field(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"\xef\xbb\xbf1,2\n3,4\n")
    assert _rows(_read(tmp_path / "f.csv", ["a", "b"], has_header=False)) == [("1", "2"), ("3", "4")]


def test_a_deep_start_skips_in_blocks(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"n\n" + b"".join(b"%d\n" % i for i in range(200_000)))
    read = _read(tmp_path / "f.csv", ["n"], first_row=150_001, rows_per_chunk=20_000)
    assert [(chunk.first_row, chunk.rows) for chunk, _ in read] == [(150_001, 20_000), (170_001, 20_000),
                                                                    (190_001, 9_999)]
    assert _rows(read)[0] == ("150001",) and _rows(read)[-1] == ("199999",)


def test_memory_holds_one_chunk_not_the_file(tmp_path):
    line = b"12345,user@example.test,2026-03-25T05:29:24Z,paid,12.50\n"
    (tmp_path / "f.csv").write_bytes(b"a,b,c,d,e\n" + line * 100_000)  # 5.6 MB
    peak = _python_peak(chunks(str(tmp_path / "f.csv"), list("abcde"), _options(), first_row=10,
                               rows_per_chunk=2_000, has_header=True))
    assert peak < 6 * 2_000 * len(line)  # Python-side bytes: a chunk and its read-ahead, not 5.6 MB


def _python_peak(found) -> int:
    """The peak of Python-side allocations while every chunk of `found` is collected."""
    tracemalloc.start()
    try:
        for chunk in found:
            chunk.frame.collect()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_file_is_opened_when_the_first_chunk_is_asked_for(tmp_path):
    found = chunks(str(tmp_path / "missing.csv"), ["a"], _options(), first_row=0, rows_per_chunk=1,
                   has_header=True)
    with pytest.raises(FileNotFoundError):
        next(found)


@pytest.mark.parametrize(("first_row", "rows_per_chunk"), [(0, 0), (-1, 5)])
def test_bad_arguments_are_refused(tmp_path, first_row, rows_per_chunk):
    (tmp_path / "f.csv").write_bytes(b"a\n1\n")
    with pytest.raises(ValueError):
        next(chunks(str(tmp_path / "f.csv"), ["a"], _options(), first_row=first_row,
                    rows_per_chunk=rows_per_chunk, has_header=True))


def _numbers(tmp_path: Path, rows: int) -> Path:
    (tmp_path / "n.csv").write_bytes(b"n,m\n" + b"".join(b"%d,x\n" % i for i in range(rows)))
    return tmp_path / "n.csv"


def test_prefetched_frames_are_the_chunks_collected(tmp_path):
    path = _numbers(tmp_path, 1000)
    plain = _read(path, ["n", "m"], rows_per_chunk=70)
    for depth in (1, 3):
        got = list(prefetched((c.frame for c in chunks(str(path), ["n", "m"], _options(), first_row=0,
                                                        rows_per_chunk=70, has_header=True)), depth))
        assert len(got) == len(plain) and all(g.equals(frame) for g, (_, frame) in zip(got, plain, strict=True))


def test_prefetched_reads_at_most_depth_chunks_ahead(tmp_path):
    path = _numbers(tmp_path, 100)
    produced = []

    def counted():
        for chunk in chunks(str(path), ["n", "m"], _options(), first_row=0, rows_per_chunk=10, has_header=True):
            produced.append(chunk.first_row)
            yield chunk.frame

    for depth in (1, 2):
        produced.clear()
        for index, _ in enumerate(prefetched(counted(), depth)):
            assert len(produced) <= index + 1 + depth
        assert len(produced) == 10


def test_prefetched_raises_a_parse_error_at_its_chunk_and_stops_cleanly(tmp_path):
    (tmp_path / "f.csv").write_bytes(b"a\n1\n2\n\xff\xfe\n4\n")  # not UTF-8 in the second chunk
    found = prefetched(c.frame for c in chunks(str(tmp_path / "f.csv"), ["a"], _options(), first_row=0,
                                                rows_per_chunk=2, has_header=True))
    assert next(found)["a"].to_list() == ["1", "2"]
    with pytest.raises(pl.exceptions.ComputeError):
        next(found)
    inner = (c.frame for c in chunks(str(_numbers(tmp_path, 100)), ["n", "m"], _options(), first_row=0,
                                     rows_per_chunk=10, has_header=True))
    early = prefetched(inner)
    assert next(early).height == 10
    early.close()  # the worker is shut down (nothing hangs) and the source closed
    assert inner.gi_frame is None
    with pytest.raises(ValueError):
        next(prefetched(iter([]), depth=0))


JSON_DTYPES = {"n": pl.String, "tags": pl.List(pl.String), "user": pl.Struct({"tier": pl.String})}


@st.composite
def jsonl_files(draw):
    records = draw(st.lists(st.one_of(
        st.just(b""), st.just(b"   "),  # blank lines hold no record
        st.builds(lambda n, tags, tier: (b'{"n": "%d", "tags": %s, "user": %s}' % (
            n, b"null" if tags is None else b"[" + b",".join(b'"%s"' % t.encode() for t in tags) + b"]",
            b"null" if tier is None else b'{"tier": "%s"}' % tier.encode())),
            st.integers(0, 999), st.none() | st.lists(st.sampled_from(["a", "b c", "é"]), max_size=3),
            st.none() | st.sampled_from(["gold", "free"]))), max_size=30))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return ending.join(records) + draw(st.sampled_from([b"", ending]))


@given(jsonl_files(), st.integers(0, 35), st.integers(1, 12), st.sampled_from([None, ["n"], ["user", "n"]]))
def test_jsonl_chunks_hold_the_lines_of_the_whole_file(tmp_path_factory, data, first_row, rows_per_chunk, columns):
    path = tmp_path_factory.mktemp("jsonl") / "f.jsonl"
    path.write_bytes(data)
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it does not start another
    blank = [not line.strip(b" \r") for line in lines][first_row:]
    whole = pl.read_ndjson(data, schema=JSON_DTYPES) if data.strip() else pl.DataFrame(schema=JSON_DTYPES)
    found = list(jsonl_chunks(str(path), JSON_DTYPES, first_row=first_row, rows_per_chunk=rows_per_chunk,
                              columns=columns))
    frames = [chunk.frame.collect() for chunk in found]
    assert [c.rows for c in found] == [f.height for f in frames] == [
        min(rows_per_chunk, len(blank) - start) for start in range(0, len(blank), rows_per_chunk)]
    assert [c.first_row for c in found] == list(range(first_row, first_row + len(blank), rows_per_chunk))
    got = pl.concat(frames) if frames else None
    if got is None:
        assert not blank
        return
    assert got[BLANK_COLUMN].to_list() == blank and got[RAW_ERROR].null_count() == got.height
    records_before = sum(1 for line in lines[:first_row] if line.strip(b" \r"))
    expected = whole.select(columns or list(JSON_DTYPES)).slice(records_before)
    assert got.filter(~pl.col(BLANK_COLUMN)).select(expected.columns).equals(expected)


@pytest.mark.parametrize("bad", [b"not json", b"[1, 2]", b'{"n": "7"} junk', b'{"n": "7", "tags": "x"}'])
def test_a_line_that_is_not_a_json_object_is_a_row_with_its_reason_and_text(tmp_path, bad):
    lines = [b'{"n": "%d"}' % i for i in range(10)]
    lines[7] = bad
    lines.insert(3, b"")
    (tmp_path / "f.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    found = list(jsonl_chunks(str(tmp_path / "f.jsonl"), {"n": pl.String, "tags": pl.List(pl.String)}, first_row=0,
                              rows_per_chunk=3))
    got = pl.concat([chunk.frame.collect() for chunk in found])
    assert got.height == 11 and got[BLANK_COLUMN].to_list() == [i == 3 for i in range(11)]
    errors = got[RAW_ERROR].to_list()
    assert [i for i, e in enumerate(errors) if e is not None] == [8]  # the line after the blank one moved down
    assert errors[8].startswith("jsonl: ") and errors[8].endswith(": " + bad.decode())
    assert got["n"].to_list() == ["0", "1", "2", None, "3", "4", "5", "6", None, "8", "9"]


def test_jsonl_memory_holds_a_few_chunks_not_the_file(tmp_path):
    line = b'{"n": "12345", "tags": ["a", "b"], "user": {"tier": "gold"}}\n'
    (tmp_path / "f.jsonl").write_bytes(line * 100_000)  # 6 MB
    peak = _python_peak(jsonl_chunks(str(tmp_path / "f.jsonl"), JSON_DTYPES, first_row=10, rows_per_chunk=2_000))
    assert peak < 6 * 2_000 * len(line)  # Python-side bytes: a block and its read-ahead, not 6 MB


def test_a_byte_order_mark_is_not_part_of_the_first_json_line(tmp_path):
    (tmp_path / "f.jsonl").write_bytes(b'\xef\xbb\xbf{"n": "1"}\r\n{"n": "2"}\r\n')
    found = list(jsonl_chunks(str(tmp_path / "f.jsonl"), {"n": pl.String}, first_row=0, rows_per_chunk=5))
    got = found[0].frame.collect()
    assert got["n"].to_list() == ["1", "2"] and got[RAW_ERROR].null_count() == 2
