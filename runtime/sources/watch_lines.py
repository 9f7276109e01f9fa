"""Decoding one line of a watched file (csv, jsonl, text) into a record, or a record error quoting it.

A watched file is read line by line as it grows, so each format is decoded a line at a time: a CSV
record is one line (a quoted field cannot span lines here), a JSON Lines record is one object, a text
record is `{line}`. Values come out as the bounded readers give them: text for the `Scan` lowering
to convert; in CSV an empty field and any of `null_values` are null, as Polars reads them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowc.compiler.text_encoding import UTF8, codec_of
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.records import Item, bad, infer_schema

FORMATS = ("csv", "jsonl", "text")


@dataclass(frozen=True, slots=True)
class CsvOptions:
    delimiter: str = ","
    header: bool = True
    quote: str = '"'
    null_values: tuple[str, ...] = ()
    encoding: str = UTF8  # the files' codec (`codec_of`); another than UTF-8 is decoded to it, as FileReader does

    @staticmethod
    def of(options: Mapping[str, Any] | None) -> CsvOptions:
        options = options or {}
        nulls = options.get("null_values")
        nulls = (nulls,) if isinstance(nulls, str) else tuple(str(n) for n in nulls or ())
        encoding = codec_of(str(options.get("encoding", UTF8)))
        return CsvOptions(str(options.get("delimiter", ",")), options.get("header", True) is not False,
                          str(options.get("quote", '"')), nulls, encoding)


def text_of(raw: bytes, encoding: str = UTF8, lossy: bool = False) -> str:
    """A line's text without its line ending. UTF-8 raises UnicodeDecodeError on a bad byte unless
    `lossy`; another encoding replaces what does not decode with U+FFFD."""
    strict = encoding == UTF8 and not lossy
    text = raw.decode("utf-8" if encoding == UTF8 else encoding, errors="strict" if strict else "replace")
    return text[:-1] if text.endswith("\r") else text


_BOM = b"\xef\xbb\xbf"


def without_bom(raw: bytes, line: int, encoding: str) -> bytes:
    """Line `line` of a file without the UTF-8 byte order mark that may open the file: it is not part
    of the first line (a CSV header's first name, a JSON object, a text line), as the bounded readers
    skip it (`line_blocks`). Editors on Windows and spreadsheet exports write one."""
    return raw[len(_BOM):] if line == 1 and encoding == UTF8 and raw.startswith(_BOM) else raw


def split_csv(text: str, options: CsvOptions) -> list[str]:
    """The fields of one CSV line; raises csv.Error on an unterminated quote."""
    return next(csv.reader([text], delimiter=options.delimiter, quotechar=options.quote, strict=True), [])


def decode_line(fmt: str, raw: bytes, where: str, names: Sequence[str] | None, options: CsvOptions) -> Item | None:
    """The record of one line (None for a blank line of csv or jsonl, which holds no record)."""
    try:
        text = text_of(raw, options.encoding if fmt == "csv" else UTF8)
    except UnicodeDecodeError as error:
        return bad(f"not UTF-8 (byte {error.start})", raw, where)
    if fmt == "text":
        return Item({"line": text}, None, where)
    if not text.strip():
        return None
    if fmt == "jsonl":
        return _json_line(text, where)
    return _csv_line(text, where, names or (), options)


def _json_line(text: str, where: str) -> Item:
    try:
        value = json.loads(text)
    except ValueError as error:
        return bad(f"malformed JSON ({str(error).split(':')[0]})", text, where)
    if not isinstance(value, dict):
        return bad("the line is not a JSON object", text, where)
    return Item(value, None, where)


def _csv_line(text: str, where: str, names: Sequence[str], options: CsvOptions) -> Item:
    try:
        fields = split_csv(text, options)
    except csv.Error as error:
        return bad(f"malformed CSV ({error})", text, where)
    if len(fields) != len(names):
        return bad(f"expected {len(names)} fields, found {len(fields)}", text, where)
    nulls = set(options.null_values)
    return Item({n: (None if v == "" or v in nulls else v) for n, v in zip(names, fields, strict=True)}, None, where)


def default_names(count: int) -> list[str]:
    """Column names of a CSV file without a header and without a schema: `column_1`, `column_2`, ...
    (docs/reference.md), as Polars 1 named them; Polars 2 counts from 0, so they are given to it."""
    return [f"column_{i}" for i in range(1, count + 1)]


def infer(fmt: str, items: Sequence[Item], infer_rows: int) -> Struct:
    """SPEC §3: an unbounded source without `schema` is inferred from its first batch. CSV values are
    text, so their types are guessed as Polars' CSV reader does: int, float, bool, else string."""
    if fmt == "text":
        return Struct((("line", t.STRING),))
    if fmt == "jsonl":
        return infer_schema(items, infer_rows)
    sample = [i.record for i in items if i.record is not None][:infer_rows]
    names = dict.fromkeys(k for r in sample for k in r)
    return Struct(tuple((n, _guess([r.get(n) for r in sample])) for n in names))


def _guess(values: list[Any]) -> t.Type:
    present = [v for v in values if v is not None]
    if not present:
        return t.STRING
    for type_, test in ((t.INT, _is_int), (t.FLOAT, _is_float), (t.BOOL, _is_bool)):
        if all(test(v) for v in present):
            return type_
    return t.STRING


def _is_int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit()


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _is_bool(text: str) -> bool:
    return text.lower() in ("true", "false")
