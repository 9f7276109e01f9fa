"""CSV read by Polars' parser, checked line by line (SPEC §3: a malformed row is a record error).

Polars' CSV reader has no per-row error channel: it fills a short row with nulls, drops the fields of
a long one (`truncate_ragged_lines`) and lets an open quote swallow the lines after it. So beside
the parsed fields, each file is also read as plain lines (`scan_lines`) and the two streams are
zipped (`pl.concat(how="horizontal")`): record i of the parser is line i of the file, which is
also what makes a position `file:line`. Measured on the W1 file, the second, cheap stream costs no
wall time: the lines are split on the other core while the parser works.

A blank line holds no record (it keeps its row number, so the lines after it keep theirs). Fields are
read as RFC 4180 and Python's `csv` module (`strict=True`, as a watched folder's lines are) read them:
a field is unquoted (it may hold the quote character, but not begin with it) or quoted whole, with
the quote inside doubled. A line that is not made of such fields (a quote that does not close, text
after a closing quote) or whose field count (separators outside quoted fields, plus one) is not the
header's gets `RAW_ERROR` = `csv: <reason>: <the line>`, and its fields are null; the `Scan` lowering
turns that into a `parse` record error under the source's policy.

The zip holds only while every row is one line, and Polars' parser agrees with this reading only
on lines whose fields are unquoted without a quote or quoted whole (`plainly_quoted`): a quote inside
an unquoted field toggles its quoting (it reads `a",b"` as one field), and an odd one makes it read
on into the next line. So a file holding other lines is parsed from a copy in which each of them is
written plainly quoted, or replaced by an empty row when it is malformed (its error still comes from
the original line). A record whose quoted field spans lines (`csv_records`) is an empty row on each
of its lines in that copy; its fields, parsed by Polars from the record written plainly quoted, are
put on its first line, and the other lines hold no record (`BLANK`), so row i is still line i.
"""

from __future__ import annotations

import atexit
import gzip
import io
import os
import re
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import polars as pl

from flowc.compiler.source_types import SLOW_PATH
from flowc.compiler.text_encoding import UTF8
from flowc.runtime.sources.csv_records import (  # BLANK, EXCERPT: imported from here by the other readers
    BLANK,
    EXCERPT,
    Joined,
    joined_records,
    plain,
    record_blocks,
    spliced,
)
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.line_blocks import GZIP, ZSTD, compressed, line_blocks
from flowc.runtime.sources.utf8_lines import (
    file_is_utf8,
    is_utf8_error,
    utf8_faults,
    with_faults,
    without_faults,
)
from flowc.runtime.sources.watch_lines import default_names

_LINE = "__flowc_line"
_COPY_LINES = 1 << 16  # lines per block written to a parseable copy


_BLOCK = 1 << 22  # bytes read at a time by the whole-file scans below (not mapped: mapped pages count in the RSS)


def _blocks(path: str) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as handle:
        while block := handle.read(_BLOCK):
            yield block


def _has_byte(path: str, needle: bytes) -> bool:
    """Whether the single byte `needle` occurs in the file (memchr speed: no Python loop over the bytes)."""
    return bool(needle) and any(needle in block for block in _blocks(path))


def _odd_quotes(line: pl.Expr, quote: str) -> pl.Expr:
    return line.str.count_matches(quote, literal=True) % 2 == 1


def field_count(line: pl.Expr, quote: str, separator: str) -> pl.Expr:
    """The fields of `line` as this reading counts them: separators outside quoted fields, plus one
    (a quoted field begins at the line's start or after a separator; a quote elsewhere is text)."""
    if not quote:
        return line.str.count_matches(separator, literal=True) + 1
    q, s = _escape(quote), _escape(separator)
    unquoted = line.str.replace_all(f"(^|{s}){q}(?:[^{q}]|{q}{q})*{q}", "${1}")
    return unquoted.str.count_matches(separator, literal=True) + 1


def _field(quote: str, separator: str, *, quote_inside: bool) -> str:
    """One field, as a regex: quoted whole (the quote inside doubled), or unquoted: with the quote
    anywhere but first if `quote_inside`, else without it. A lone CR is text (lines end at LF, and
    Polars reads it so); a CRLF's CR ends the last field, or follows a quoted one (`_line_of`)."""
    q, s = _escape(quote), _escape(separator)
    unquoted = f"[^{q}{s}\n][^{s}\n]*|" if quote_inside else f"[^{q}{s}\n]*"
    return f"(?:{q}(?:[^{q}]|{q}{q})*{q}|{unquoted})"


def _line_of(field: str, separator: str) -> str:
    """A line of fields `field` without its ending, as a regex (a CRLF's CR aside)."""
    return f"{field}(?:{_escape(separator)}{field})*\r?"


def well_quoted(line: pl.Expr, quote: str, separator: str) -> pl.Expr:
    """Whether `line` is made of fields as this reading reads them (the module's docstring)."""
    return line.str.contains(f"^{_line_of(_field(quote, separator, quote_inside=True), separator)}$")


def plainly_quoted(line: pl.Expr, quote: str, separator: str) -> pl.Expr:
    """Whether every field of `line` is unquoted with no quote character in it, or quoted whole with
    the quotes inside doubled (a CRLF's CR aside). On such a line the quotes are closed, and
    Polars' parser finds the fields this reading finds (`field_count`)."""
    return line.str.contains(f"^{_line_of(_field(quote, separator, quote_inside=False), separator)}$")


def _has_irregular_quotes(source: str | bytes, quote: str, separator: str) -> bool:
    """Whether a line of `source` (a file's path, or whole lines of it) holds the quote character
    without being plainly quoted: Polars may misread it."""
    line = pl.col(_LINE)
    irregular = line.str.contains(quote, literal=True) & ~plainly_quoted(line, quote, separator)
    return bool(pl.scan_lines(source, name=_LINE).select(irregular.any()).collect().item())


def _zstd(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == ZSTD


def _temp_copy() -> tuple[int, str]:
    """A private temporary file (mode 0600), removed when the process exits (a killed one leaves it)."""
    handle, copy = tempfile.mkstemp(prefix="flowc-csv-", suffix=".csv")
    atexit.register(lambda: os.path.exists(copy) and os.unlink(copy))
    return handle, copy


def _utf8_copy(path: str, encoding: str) -> str:
    """A copy of a file in `encoding` as UTF-8 (a byte that does not decode becomes U+FFFD):
    `scan_lines` reads UTF-8 only. A zlib file is decompressed first; zstd cannot be (no codec here)."""
    handle, copy = _temp_copy()
    with open(path, "rb") as source, os.fdopen(handle, "wb") as out:
        head = source.read(4)
        source.seek(0)
        if head.startswith(ZSTD):
            raise ValueError(f"{path}: a zstd file in {encoding} cannot be read; decompress it, or store it as gzip")
        lines = source if not compressed(path) else io.BytesIO(
            gzip.decompress(source.read()) if head.startswith(GZIP) else zlib.decompress(source.read()))
        for line in lines:  # the encoding writes b"\n" as ASCII does (`codec_of`): lines decode independently
            out.write(line.decode(encoding, "replace").encode())
    return copy


def _parseable_copy(path: str, quote: str, separator: str, width: int, header: bool) -> tuple[str, list[Joined]]:
    """A copy of `path` made of its `_parseable_lines`, and its records over several lines (their
    `line`: the row, header excluded)."""
    handle, copy = _temp_copy()
    joins: list[Joined] = []
    row = 0
    with os.fdopen(handle, "wb") as out:
        if header:  # the first block holds the whole first line (`line_blocks`)
            _, first = next(line_blocks(path, 0, 1), (0, b""))
            out.writelines(_parseable_lines([first.split(b"\n", 1)[0] + b"\n"], quote, separator, width))
        blocks = record_blocks(line_blocks(path, 1 if header else 0, _COPY_LINES), quote, separator)
        for _, data, found in blocks:
            spanned = {line for join in found for line in join.spanned}
            out.writelines(_parseable_lines(io.BytesIO(data), quote, separator, width, spanned))
            joins += [replace(join, line=join.line + row) for join in found]
            row += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return copy, joins


def _parseable_lines(lines: Iterable[bytes], quote: str, separator: str, width: int,
                     spanned: set[int] = frozenset()) -> Iterator[bytes]:
    """`lines`, each holding the quote character without being plainly quoted written plainly quoted
    (`plain`), or as an empty row of `width` fields when it is malformed or one of the lines
    `spanned` by a record over several lines."""
    field = re.compile(_field(quote, separator, quote_inside=True))
    plainly = re.compile(_line_of(_field(quote, separator, quote_inside=False), separator))
    empty = separator * (width - 1)
    for number, raw in enumerate(lines):
        text = raw.decode("utf-8", "surrogateescape")
        body = text.rstrip("\r\n")
        if number in spanned:
            text = empty + text[len(body):]
        elif quote in body and not plainly.fullmatch(body):
            fields = _fields(body, field, separator)
            body = empty if fields is None or len(fields) != width else plain(fields, quote, separator)
            text = body + text[len(text.rstrip("\r\n")):]
        yield text.encode("utf-8", "surrogateescape")


def _fields(body: str, field: re.Pattern, separator: str) -> list[str] | None:
    """The raw fields of a line without its ending, as `well_quoted` reads it; None if it is malformed."""
    fields, pos = [], 0
    while True:
        match = field.match(body, pos)
        fields.append(match.group())
        pos = match.end()
        if pos == len(body):
            return fields
        if body[pos] != separator:
            return None
        pos += 1


def header_width(path: str, options: Mapping[str, Any]) -> int:
    return len(pl.scan_csv(path, infer_schema=False, glob=False, **options).collect_schema())


def checked_csv(path: str, names: list[str] | None, options: Mapping[str, Any], *,
                check_utf8: bool = False) -> pl.LazyFrame:
    """One file's records as string columns plus `RAW_ERROR` (null on well-formed lines) and `BLANK`
    (the line is empty: the caller drops it after numbering, so row numbers stay line numbers).
    `check_utf8`: the file is checked first, and a line that is not UTF-8 is a malformed record
    (`utf8_lines`); else such a line fails the query (Polars' `invalid utf8`)."""
    quote = options.get("quote_char") or ""
    separator = options["separator"]
    faults: dict[int, str] = {}
    # a gzip or zlib file is read from its text: its quotes are looked for in it, not in its compressed bytes
    if options.get("encoding", UTF8) != UTF8 or (compressed(path) and not _zstd(path)):
        path, options = _utf8_copy(path, options.get("encoding", UTF8)), {**options, "encoding": UTF8}
    elif check_utf8 and not file_is_utf8(path):
        path, faults = _utf8_clean_copy(path, options["has_header"])
    width = len(names) if names is not None else header_width(path, options)
    quoted = bool(quote) and _has_byte(path, quote.encode())
    parsed_path, joins = path, []
    if quoted and _has_irregular_quotes(path, quote, separator):
        parsed_path, joins = _parseable_copy(path, quote, separator, width, options["has_header"])
    fields = pl.scan_csv(parsed_path, infer_schema=False, new_columns=names, glob=False,
                         truncate_ragged_lines=True, **options)
    lines = pl.scan_lines(path, name=_LINE)
    if options["has_header"]:
        lines = lines.slice(1)
    checked = _checked(fields, lines, width, quote if quoted else "", separator)
    columns = fields.collect_schema().names()
    return with_faults(spliced(checked, joins, columns, options, columns), faults, "csv", RAW_ERROR, BLANK,
                       first_line=1 if options["has_header"] else 0)


def _utf8_clean_copy(path: str, header: bool) -> tuple[str, dict[int, str]]:
    """A copy of a UTF-8 file whose lines that are not UTF-8 are emptied, and those lines (0-based in
    the file) with their errors; a header that is not is kept, its bytes as U+FFFD."""
    handle, copy = _temp_copy()
    faults = {}
    with open(path, "rb") as source, os.fdopen(handle, "wb") as out:
        for i, line in enumerate(source):
            fault = utf8_faults(line.removesuffix(b"\n"))
            if not fault:
                out.write(line)
            elif i == 0 and header:
                out.write(line.decode("utf-8", "replace").encode())
            else:
                faults[i] = fault[0]
                out.write(b"\n" if line.endswith(b"\n") else b"")
    return copy, faults


def checked_block(data: bytes, names: list[str], options: Mapping[str, Any], columns: list[str],
                  joins: list[Joined] | None = None) -> pl.DataFrame:
    """Whole lines of a CSV file (no header, from a record's start) read as `checked_csv` reads the
    file: the columns `columns` of `names` plus `RAW_ERROR` and `BLANK`, one row per line
    (`line_chunks.chunks`). `joins`: its records over several lines, when known (`record_blocks`)."""
    quote = options.get("quote_char") or ""
    separator = options["separator"]
    if options.get("encoding", UTF8) != UTF8:
        data = data.decode(options["encoding"], "replace").encode()
        joins = None  # found in the undecoded bytes
    faults = utf8_faults(data)
    if faults:
        data, joins = without_faults(data, faults), None  # joins: found again without the faulty lines
    parse = {key: value for key, value in options.items() if key not in ("has_header", "encoding")}
    quoted = bool(quote) and quote.encode() in data
    parsed = data
    if quoted and _has_irregular_quotes(data, quote, separator):
        if joins is None:
            joins = joined_records(data, quote, separator, final=True)[0]
        spanned = {line for join in joins for line in join.spanned}
        # lines end at b"\n" only, as a file's do (`bytes.splitlines` would also cut at a lone CR)
        parsed = b"".join(_parseable_lines(io.BytesIO(data), quote, separator, len(names), spanned))
    fields = pl.scan_csv(parsed, has_header=False, schema=dict.fromkeys(names, pl.String), missing_columns="insert",
                         extra_columns="ignore", truncate_ragged_lines=True, **parse).select(columns)
    lines = pl.scan_lines(data, name=_LINE)
    checked = _checked(fields, lines, len(names), quote if quoted else "", separator)
    return with_faults(spliced(checked, joins or [], names, options, columns), faults, "csv", RAW_ERROR,
                       BLANK).collect(engine="in-memory")


def _checked(fields: pl.LazyFrame, lines: pl.LazyFrame, width: int, quote: str, separator: str) -> pl.LazyFrame:
    """`fields` (row i parsed from line i of `lines`) with `RAW_ERROR` and `BLANK` judged from the
    lines, and null fields where the line is malformed. `quote`: empty when no line holds it."""
    line = pl.col(_LINE)
    # Quoted fields may hold separators: count them with the quoted fields taken out.
    count = field_count(line, quote, separator)
    text = pl.when(line.str.len_chars() > EXCERPT).then(line.str.slice(0, EXCERPT) + "...").otherwise(line)
    problem = pl.when(count != width).then(pl.format(f"csv: expected {width} fields, found {{}}: {{}}", count, text))
    if quote:
        reason = pl.when(_odd_quotes(line, quote)).then(pl.lit("unterminated quote")).otherwise(pl.lit("malformed quotes"))
        problem = pl.when(~well_quoted(line, quote, separator)).then(pl.format("csv: {}: {}", reason, text)) \
            .otherwise(problem)
    blank = line.str.strip_chars_end("\r") == ""
    problem = pl.when(~blank).then(problem)
    zipped = pl.concat([fields, lines.select(problem.alias(RAW_ERROR), blank.alias(BLANK))], how="horizontal")
    bad = pl.col(RAW_ERROR).is_not_null()
    return zipped.with_columns(pl.when(~bad).then(pl.col(c)).alias(c) for c in fields.collect_schema().names())


def exact_header(path: str, names: list[str] | None, options: Mapping[str, Any]) -> list[str] | None:
    """The columns of a file for the exact reading: `names`, else its header (None: the file is empty)."""
    if os.path.getsize(path) == 0:
        return None
    if names is not None:
        return names
    if options.get("encoding", UTF8) == UTF8:
        return list(pl.scan_csv(path, infer_schema=False, glob=False, **options).collect_schema())
    _, first = next(line_blocks(path, 0, 1), (0, b""))
    header = first.split(b"\n", 1)[0].decode(options["encoding"], "replace").encode() + b"\n"
    return list(pl.read_csv(header, infer_schema=False, **{**options, "encoding": UTF8}).columns)


def fast_header(path: str, names: list[str] | None, options: Mapping[str, Any]) -> list[str] | None:
    """The columns of a file the fast reading may read (UTF-8, not empty); None when it may not. Whether
    the quote character occurs in it is the caller's check (`fast_csv`: the whole file first)."""
    if options.get("encoding") != UTF8 or os.path.getsize(path) == 0:
        return None
    if names is not None:
        return names
    return list(pl.scan_csv(path, infer_schema=False, glob=False, **options).collect_schema())


def fast_checked(fields: pl.LazyFrame, header: list[str]) -> pl.LazyFrame:
    """`fields` (read without truncating ragged lines; the columns of `header` the query reads, its
    last among them) with the fast reading's `RAW_ERROR` and `BLANK`.

    Without quotes every record is one line, so Polars' row i is still line i. A row with too many
    fields fails the query (Polars' own error). A row with too few has a null last field; it, a row
    whose last field is merely empty and a blank line (an all-null row) get SLOW_PATH as their
    `RAW_ERROR`, which the fast scan's error column turns into the query's failure.
    Either way the runner reads on the exact way (`checked_csv`) from the last checkpoint, which tells
    them apart."""
    suspect = pl.col(header[-1]).is_null()
    marked = pl.when(suspect).then(pl.lit(SLOW_PATH))  # the fast scan's error column fails the query on it
    return fields.select(pl.all(), marked.alias(RAW_ERROR), pl.lit(False).alias(BLANK))


def fast_csv(path: str, names: list[str] | None, options: Mapping[str, Any]) -> pl.LazyFrame | None:
    """The file's records for a fast query (`compiler/source_types.py`), without the lines stream; None
    when the file does not qualify (`fast_header`, or its quote character occurs in it)."""
    header = fast_header(path, names, options)
    quote = options.get("quote_char") or ""
    if header is None or (quote and _has_byte(path, quote.encode())):
        return None
    fields = pl.scan_csv(path, glob=False, schema=dict.fromkeys(header, pl.String),
                         **{**options, "has_header": False}, skip_rows=1 if options["has_header"] else 0)
    return fast_checked(fields, header)


def csv_sample(path: str, options: Mapping[str, Any], rows: int) -> pl.DataFrame:
    """The first `rows` well-formed records of a file as string columns (its header's), malformed and
    blank lines left out (they are record errors when the pipeline runs, and must not fail its
    compilation). An empty file gives a frame of no column."""
    if os.path.getsize(path) == 0:
        return pl.DataFrame()
    names = None if options["has_header"] else default_names(header_width(path, options))
    try:
        try:
            sample = checked_csv(path, names, options).head(rows).collect()
        except pl.exceptions.ComputeError as error:  # a line that is not UTF-8: read again, checked
            if not is_utf8_error(error):
                raise
            sample = checked_csv(path, names, options, check_utf8=True).head(rows).collect()
    except pl.exceptions.NoDataError:  # a compressed file of no text
        return pl.DataFrame()
    return sample.filter(pl.col(RAW_ERROR).is_null() & ~pl.col(BLANK)).drop(RAW_ERROR, BLANK)


def sampled_csv_schema(samples: list[pl.DataFrame], separator: str) -> pl.Schema:
    """Polars' dtypes for the records of `samples` (from `csv_sample`, one per file, in order): the
    union of their columns, each typed from all its values. Raises NoDataError when no file had a
    column (every one empty)."""
    held = [sample for sample in samples if sample.width]
    if not held:
        raise pl.exceptions.NoDataError("empty CSV")
    good = pl.concat(held, how="diagonal")
    text = io.BytesIO()
    good.write_csv(text, separator=separator)
    text.seek(0)
    return pl.read_csv(text, infer_schema_length=None, separator=separator).schema


def _escape(char: str) -> str:
    return "\\" + char if char in r"\^$.|?*+()[]{}-" else char
