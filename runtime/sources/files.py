"""File sources: csv, jsonl, json (one array per file), parquet, text (one record `{line}` per line);
a glob read in name order.

All matching files form one scan with one row numbering across them, so the runner's position in the
source is a single row number. The files are listed once, when the reader is made: a bounded source's
files must not change while its pipeline is running or stopped mid-way (documented in docs/runtime.md).
"""

from __future__ import annotations

import atexit
import glob
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.compiler.polars_types import to_polars
from flowc.compiler.source_types import fast_only
from flowc.compiler.spec import Source
from flowc.compiler.text_encoding import UTF8, codec_of
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.base import (
    Chunked,
    SourceUnreadable,
    inferred,
    numbered,
    raw_dtypes,
    sliced_chunks,
)
from flowc.runtime.sources.csv_lines import (
    BLANK,
    checked_csv,
    csv_sample,
    exact_header,
    fast_checked,
    fast_csv,
    fast_header,
    sampled_csv_schema,
)
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.file_rows import Ledger, numbered_chunks, row_numbered
from flowc.runtime.sources.json_file import (
    JsonShape,
    JsonSplit,
    json_sample,
    json_shape,
    json_split,
    sampled_json_schema,
)
from flowc.runtime.sources.jsonl_lines import INFER_LOOK, jsonl_sample, sampled_jsonl_schema
from flowc.runtime.sources.line_blocks import compressed, count_lines, gzipped, whole_file
from flowc.runtime.sources.line_chunks import Chunk, chunks, jsonl_chunks, text_chunks

_LINE_FORMATS = ("csv", "jsonl", "text")  # positions are `file:line`; other formats give `file[index]`
TEXT_SCHEMA = Struct((("line", t.STRING),))


class _NoRecord(ValueError):
    """None of several files sampled to infer a schema holds a record."""


def _some_record(held: int | bool, read: list[str]) -> None:
    """Raises _NoRecord when the sample of several files is empty (one file's own reason names it)."""
    if not held and len(read) > 1:
        raise _NoRecord(f"none of its {len(read)} files holds a record")


class FileReader:
    def __init__(self, source: Source, base_dir: str) -> None:
        self.source, self.base_dir = source, base_dir
        pattern = str(source.config.get("path", ""))
        self.pattern = pattern
        # files only: a folder that a wide glob (`in/*`) matches holds no records (as in a watched folder)
        self.paths = sorted((p for p in glob.glob(os.path.join(base_dir, pattern), recursive=True) if os.path.isfile(p)),
                            key=lambda p: (os.path.basename(p), p))
        self.format = source.format or ""
        self._ledger = Ledger()  # what the chunked reads learned: rows holding no record, the limit's end
        self._json: dict[str, JsonShape] = {}  # each JSON file's rows, once scanned
        self._split: JsonSplit | None = None  # the JSON file read last: the exact reading's too
        self._decompressed: dict[str, str] = {}  # each compressed Parquet file's readable copy (`_parquet_file`)

    # --- schema ---

    def schema(self, infer_rows: int) -> Struct:
        if self.source.schema is not None:
            return self.source.schema
        if self.format == "text":
            return TEXT_SCHEMA
        if not self.paths:
            raise FileNotFoundError(f"source '{self.source.name}': no file matches '{self.pattern}'")
        read = self.paths[:1]  # the files sampled: named when a reason comes from the last of them
        try:
            return inferred(self._inferred(infer_rows, read))
        except (pl.exceptions.PolarsError, ValueError) as error:  # an empty, malformed or truncated file
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            subject = (f"'{self.pattern}'" if isinstance(error, _NoRecord)
                       else os.path.relpath(read[-1], self.base_dir))
            raise SourceUnreadable(f"source '{self.source.name}': cannot infer a schema from "
                                   f"{subject} ({self.format}): {reason}; "
                                   f"declare the source's schema, or fix the file") from error

    def _inferred(self, infer_rows: int, read: list[str]) -> pl.Schema:
        """The dtypes of the first `infer_rows` records of the files in name order (SPEC §3: of the
        source, not of its first file): a file holding none (empty, only a header or blank lines)
        gives none and the next is sampled. `read` is kept to the files looked at, in order."""
        if self.format == "parquet":  # typed columns: nothing to infer
            return pl.scan_parquet(self._parquet_file(self.paths[0])).collect_schema()
        read.clear()
        if self.format == "csv":
            options, samples, held = self._csv_options(), [], 0
            for path in self.paths:
                read.append(path)
                samples.append(csv_sample(path, options, infer_rows - held))
                held += samples[-1].height
                if held >= infer_rows:
                    break
            _some_record(sum(sample.height for sample in samples) or any(sample.width for sample in samples), read)
            return sampled_csv_schema(samples, options["separator"])
        if self.format == "jsonl":
            objects, looked = [], 0
            for path in self.paths:  # at most INFER_LOOK lines per record wanted, over all the files
                read.append(path)
                more, lines = jsonl_sample(path, infer_rows - len(objects), infer_rows * INFER_LOOK - looked)
                objects, looked = objects + more, looked + lines
                if len(objects) >= infer_rows or looked >= infer_rows * INFER_LOOK:
                    break
            _some_record(len(objects), read)
            return sampled_jsonl_schema(objects, looked)
        elements: list[str] = []
        for path in self.paths:
            read.append(path)
            elements += json_sample(path, infer_rows - len(elements))
            if len(elements) >= infer_rows:
                break
        _some_record(len(elements), read)
        return sampled_json_schema(elements)

    def _csv_options(self) -> dict:
        options = self.source.config.get("options") or {}
        nulls = options.get("null_values")
        return {
            "separator": str(options.get("delimiter", ",")),
            "has_header": options.get("header", True) is not False,
            "quote_char": options.get("quote", '"'),
            "null_values": list(nulls) if isinstance(nulls, tuple | list) else nulls,
            "encoding": codec_of(str(options.get("encoding", UTF8))),  # validation refused the others
        }

    # --- records ---

    def frame(self, schema: Struct, after: int | None, limit: int | None) -> pl.LazyFrame:
        if not self.paths:
            raise FileNotFoundError(f"source '{self.source.name}': no file matches '{self.pattern}'")
        self._ledger.chunked = False
        frame = numbered(self._scan(schema), after, limit)
        if self.format == "csv":  # dropped after numbering: a blank line keeps its row (= line) number
            frame = _without_blank_lines(frame)
        return frame

    def chunks(self, schema: Struct, after: int | None, limit: int | None, rows: int,
               fields: Iterable[str] | None = None) -> Chunked:
        """The records `frame` gives, read in chunks of `rows` (`line_chunks`: memory bounded by the
        chunk, not the files), one file after the other with one row numbering; None when the files
        are not read so. `fields`: the columns the query reads (default all); the others are not parsed.

        JSON lines and text files always are (their parse is the same in a fast query and in the exact
        reading), and Parquet files (slices of their scan). CSV files are (`_csv_chunks`). Compressed
        files are read as their text (`line_blocks`: gzip and zlib as a stream, zstd whole); JSON files
        are split into their elements, then read in chunks of them (`_json_chunks`)."""
        if not self.paths:  # no file (yet): no record
            return sliced_chunks(lambda start, count: self.frame(schema, start - 1, count), after, 0, limit, rows)
        first = 0 if after is None else after + 1
        self._ledger.start(first)
        if self.format == "json":
            dtypes = raw_dtypes(schema)
            columns = [name for name in dtypes if fields is None or name in set(fields)]
            template = pl.LazyFrame(schema={**{name: dtypes[name] for name in columns}, RAW_ERROR: pl.String})
            return Chunked(row_numbered(template, 0), numbered_chunks(
                self.paths, lambda path: self._json_split(path).shape.records,
                lambda path, start: self._json_chunks(path, dtypes, columns, start, rows),
                lambda _, frame: frame, first, limit, self._ledger), self._ledger.ends)
        if self.format == "parquet":
            return Chunked(numbered(self._scan(schema), None, 0), self._parquet_chunks(schema, first, limit, rows),
                           self._ledger.ends)
        if self.format == "jsonl":
            dtypes = raw_dtypes(schema)
            read = set(dtypes if fields is None else fields)
            columns = [name for name in dtypes if name in read]
            template = pl.LazyFrame(schema={**{name: dtypes[name] for name in columns}, RAW_ERROR: pl.String,
                                            BLANK: pl.Boolean})
            return Chunked(_without_blank_lines(row_numbered(template, 0)), self._numbered_chunks(
                lambda path, start: jsonl_chunks(path, dtypes, first_row=start, rows_per_chunk=rows, columns=columns),
                lambda _, frame: _without_blank_lines(frame), first, limit), self._ledger.ends)
        if self.format == "text":
            template = pl.LazyFrame(schema={"line": pl.String, RAW_ERROR: pl.String})
            return Chunked(row_numbered(template, 0), self._numbered_chunks(
                lambda path, start: text_chunks(path, first_row=start, rows_per_chunk=rows),
                lambda _, frame: frame, first, limit), self._ledger.ends)
        return self._csv_chunks(schema, first, limit, rows, None if fields is None else set(fields))

    def _csv_chunks(self, schema: Struct, first: int, limit: int | None, rows: int,
                    read: set[str] | None) -> Chunked:
        """CSV files in chunks: in a fast query the fast way (UTF-8 files), else the exact way
        (`csv_lines.checked_block`; in a fast query too, whose scan then fails on a malformed line).
        Files whose columns differ give the union of their columns (in order of appearance), null
        where a file lacks one."""
        options = self._csv_options()
        exact = not fast_only() or options["encoding"] != UTF8  # a fast query reads UTF-8 files in chunks
        names = None if options["has_header"] else [n for n, _ in schema.fields]
        headers = {path: (exact_header if exact else fast_header)(path, names, options) for path in self.paths}

        def parsed(header: list[str]) -> list[str]:  # the fast reading also needs the last (`fast_checked`)
            return [n for n in header if read is None or n in read or (not exact and n == header[-1])]

        union = list(dict.fromkeys(c for header in headers.values() if header for c in parsed(header)))
        typed = {} if exact else numbers_read_typed(schema)
        dtypes = {name: typed.get(name, pl.String) for name in union}
        template = pl.LazyFrame(schema={ROW: pl.Int64, **dtypes, RAW_ERROR: pl.String})
        quote = (options.get("quote_char") or "").encode()

        def pieces(path: str, start: int) -> Iterator[Chunk]:
            header = headers[path]
            if header is None:  # an empty file
                return iter(())
            return chunks(path, header, options, first_row=start, rows_per_chunk=rows,
                          has_header=options["has_header"], quote=quote, columns=parsed(header), exact=exact,
                          typed=typed)

        def finish(path: str, frame: pl.LazyFrame) -> pl.LazyFrame:
            header = headers[path]
            frame = _without_blank_lines(frame) if exact else fast_checked(frame, header).drop(BLANK)
            held = set(parsed(header))
            return frame.select(ROW, *(pl.col(c) if c in held else pl.lit(None, dtypes[c]).alias(c) for c in union),
                                RAW_ERROR)

        return Chunked(template, self._numbered_chunks(pieces, finish, first, limit), self._ledger.ends)

    def _parquet_chunks(self, schema: Struct, first: int, limit: int | None, rows: int) -> Iterator[pl.LazyFrame]:
        """Slices of `rows` rows of the files' one scan: Polars pushes each slice into the Parquet
        reader, with the query's projection and predicate, so only the row groups it covers are read."""
        total, scan = self.count(), self._scan(schema)
        end = total if limit is None else min(total, first + limit)
        for start in range(first, end, rows):
            self._ledger.ends.append(min(start + rows, end) - 1)
            yield numbered(scan, start - 1, min(rows, end - start))
        if end < total:
            self._ledger.limit_end = end - 1
        else:
            self._ledger.rows_counted = total

    def _json_chunks(self, path: str, dtypes: dict[str, pl.DataType], columns: list[str], start: int,
                     rows: int) -> Iterator[Chunk]:
        """A JSON file's records from row `start` on, `rows` per chunk: the file is split into its
        elements once (`_json_split`), and each chunk's elements read and parsed when it is asked for."""
        split = self._json_split(path)
        for first, taken, frame in split.chunks(start, rows, dtypes, columns):
            yield Chunk(first, taken, frame.lazy())
        self._split = None  # read to its end: the next files are split in their turn
        split.close()

    def _json_split(self, path: str) -> JsonSplit:
        """The JSON file `path` split into its elements (`json_split`), kept until it is read to its end:
        a resume counts the file's rows before reading it, and the exact reading after a fast one reads
        it again. Only the reader's worker thread calls it (the runner's asks `_json_shape`)."""
        if self._split is None or self._split.path != path:
            if self._split is not None:
                self._split.close()
            self._split = json_split(path)
            self._json[path] = self._split.shape
        return self._split

    def _numbered_chunks(self, pieces: Callable[[str, int], Iterator[Chunk]],
                         finish: Callable[[str, pl.LazyFrame], pl.LazyFrame], first: int,
                         limit: int | None) -> Iterator[pl.LazyFrame]:
        return numbered_chunks(self.paths, self._count, pieces, finish, first, limit, self._ledger)

    def records_in(self, after: int | None, last: int) -> int:
        """How many records rows `after + 1` to `last` hold (a blank line holds none)."""
        return self._ledger.empty.records(after, last)

    def limit_end(self, after: int | None, limit: int) -> int | None:
        """The row of the last record the limited read from row `after` took, when records remain after
        it; None when the source was read to its end. In chunks the reader knows; a frame's limit is rows."""
        if self._ledger.chunked:
            return self._ledger.limit_end
        end = (-1 if after is None else after) + limit
        return end if self.count() > end + 1 else None

    def _scan(self, schema: Struct) -> pl.LazyFrame:
        if self.format == "csv":
            options = self._csv_options()
            names = None if options["has_header"] else [n for n, _ in schema.fields]
            files = [_csv_file(path, names, options) for path in self.paths]
            frame = files[0] if len(files) == 1 else pl.concat(files, how="diagonal_relaxed")
            return frame.with_row_index(ROW)
        if self.format == "jsonl":
            return pl.scan_ndjson(self.paths, schema=raw_dtypes(schema), row_index_name=ROW)
        if self.format == "parquet":
            return pl.scan_parquet([self._parquet_file(p) for p in self.paths], row_index_name=ROW, glob=False,
                                   missing_columns="insert",
                                   extra_columns="ignore")
        if self.format == "text":  # a CRLF file's lines lose their CR, as a reader of text expects
            # (`RAW_ERROR`: the columns of `text_chunks`, which read a line that is not UTF-8 as an error)
            return pl.scan_lines(self.paths, name="line", row_index_name=ROW, glob=False).with_columns(
                pl.col("line").str.strip_suffix("\r"), pl.lit(None, pl.String).alias(RAW_ERROR))
        frames, dtypes = [], raw_dtypes(schema)
        for path in self.paths:
            split = json_split(path)
            self._json[path] = split.shape
            frames.append(split.frame(dtypes, list(dtypes)))
            split.close()
        return pl.concat(frames, how="vertical").lazy().with_row_index(ROW)

    # --- positions ---

    @cached_property
    def _starts(self) -> list[int]:
        """The row number of each file's first record (counted only when an error needs a position)."""
        starts, total = [], 0
        for path in self.paths:
            starts.append(total)
            total += self._count(path) if len(self.paths) > 1 else 0
        return starts

    def _count(self, path: str) -> int:
        if self.format == "csv":  # records are lines (runtime/sources/csv_lines.py), even malformed ones
            return max(_lines(path) - (1 if self._csv_options()["has_header"] else 0), 0)
        if self.format in ("jsonl", "text"):  # rows are lines (`line_chunks`), blank ones too
            return _lines(path)
        if self.format == "parquet":
            return pl.scan_parquet(self._parquet_file(path), glob=False).select(pl.len()).collect().item()
        return self._json_shape(path).records

    def _parquet_file(self, path: str) -> str:
        """A Parquet file Polars can read: `path`, or its decompressed copy when the file itself is
        compressed (SPEC §7 lets `.gz` follow `.parquet` in a source's path; Polars reads only the
        compression inside a Parquet file). Made once per file."""
        if path not in self._decompressed:
            self._decompressed[path] = _decompressed_copy(path) if compressed(path) else path
        return self._decompressed[path]

    def _json_shape(self, path: str) -> JsonShape:
        if path not in self._json:  # not read yet (a resume past it, an error's position)
            self._json[path] = json_shape(path)
        return self._json[path]

    def count(self) -> int:
        if self._ledger.rows_counted is not None:
            return self._ledger.rows_counted
        return sum(self._count(p) for p in self.paths)

    def positions(self, rows: pl.Expr) -> pl.Expr:
        first_line = 2 if self.format == "csv" and self._csv_options()["has_header"] else 1
        shown = [os.path.relpath(p, self.base_dir) for p in self.paths]
        result: pl.Expr | None = None
        for start, name, path in zip(self._starts, shown, self.paths, strict=True):
            if self.format in _LINE_FORMATS:
                text = pl.format(f"{name}:{{}}", rows - start + first_line)
            elif self.format == "json" and (malformed := self._json_shape(path).malformed) is not None:
                text = pl.lit(f"{name}:{malformed.line}")  # its one row: the file, where its parse stopped
            else:
                text = pl.format(f"{name}[{{}}]", rows - start)
            result = text if result is None else pl.when(rows >= start).then(text).otherwise(result)
        return result if result is not None else pl.lit(None, dtype=pl.String)


def _decompressed_copy(path: str) -> str:
    """A private temporary copy of a compressed file, decompressed (`whole_file`), removed when the
    process exits."""
    handle, copy = tempfile.mkstemp(prefix="flowc-", suffix=".parquet")
    atexit.register(lambda: os.path.exists(copy) and os.unlink(copy))
    with os.fdopen(handle, "wb") as out:
        out.write(whole_file(path))
    return copy


def _lines(path: str) -> int:
    if compressed(path) and not gzipped(path):  # zlib, zstd: Polars decompresses them itself
        return pl.scan_lines(path, glob=False).select(pl.len()).collect().item()
    return count_lines(path)


def _csv_file(path: str, names: list[str] | None, options: dict) -> pl.LazyFrame:
    """In a fast query, a file that qualifies skips the lines stream (`fast_csv`)."""
    quick = fast_csv(path, names, options) if fast_only() else None
    return quick if quick is not None else checked_csv(path, names, options, check_utf8=True)


def numbers_read_typed(schema: Struct) -> dict[str, pl.DataType]:
    """The fields of `schema` a fast reading of CSV parses as numbers (`line_chunks.typed_block`)."""
    return {name: to_polars(type_) for name, type_ in schema.fields if type_ in (t.INT, t.FLOAT)}


def _without_blank_lines(frame: pl.LazyFrame) -> pl.LazyFrame:
    """A numbered frame of lines without its blank ones: they hold no record, and keep their number."""
    return frame.filter(~pl.col(BLANK)).drop(BLANK)


def sampled_schema(source: Source, base_dir: str, rows: int) -> Struct:
    """The schema a run infers for the file source `source` that declares none: what `flowc validate
    --with-data` checks the fields against (compiler/checks/data_sample.py). Polars' errors are
    raised as ValueError, the reason kept."""
    try:
        return FileReader(source, base_dir).schema(rows)
    except pl.exceptions.PolarsError as error:
        raise ValueError(str(error)) from error
