"""JSON files holding one array (SPEC §3 file format `json`): each element is a record.

An element that is not an object of the source's fields is a record error at `file[index]`. A file
that is not JSON at all (cut short, a stray comma, not UTF-8) has no elements to number: it is one
record error for the whole file, at the line where the parser stopped (`file:line`), carrying the
parser's reason and that line's text, under the source's `on_error` like any other record error (a
run used to fail on it with a bare JSONDecodeError naming no file). An empty file (or one of only
whitespace) holds no record, as an empty csv or jsonl file does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from flowc.runtime.sources.csv_lines import BLANK, EXCERPT
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.jsonl_lines import parsed_lines

_NL = b"\n"


@dataclass(frozen=True, slots=True)
class Malformed:
    """Why a JSON file does not parse, and where: `line` is 1-based, `text` an excerpt of that line."""

    reason: str
    line: int
    text: str

    @property
    def error(self) -> str:
        """The record error's message (the `RAW_ERROR` text; the `Scan` lowering adds `parse: `)."""
        return f"json: malformed JSON ({self.reason}): {self.text}"


@dataclass(frozen=True, slots=True)
class JsonFile:
    elements: tuple  # the array's elements (a file holding one other value: that value)
    malformed: Malformed | None  # set when the file does not parse: then it is one record error

    @property
    def records(self) -> int:
        """The rows the file gives: its elements, or the one error row of a malformed file."""
        return 1 if self.malformed is not None else len(self.elements)


def read_json_file(path: str) -> JsonFile:
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.strip():
        return JsonFile((), None)
    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        line = data.split(_NL)[error.lineno - 1]
        reason = f"{error.msg} at line {error.lineno} column {error.colno}"
        return JsonFile((), Malformed(reason, error.lineno, _around(line, error.colno)))
    except UnicodeDecodeError as error:  # `json.loads` decodes bytes as UTF-8 (or UTF-16/32 by their BOM)
        lineno = data.count(_NL, 0, error.start) + 1
        column = error.start - (data.rfind(_NL, 0, error.start) + 1) + 1
        reason = f"not UTF-8 (byte {error.start}) at line {lineno} column {column}"
        return JsonFile((), Malformed(reason, lineno, _around(data.split(_NL)[lineno - 1], column)))
    return JsonFile(tuple(document) if isinstance(document, list) else (document,), None)


def _around(line: bytes, column: int) -> str:
    """At most EXCERPT characters of `line` around `column` (1-based): a minified file is one long line."""
    text = line.decode("utf-8", "replace").removesuffix("\r")
    start = max(0, min(column - 1 - EXCERPT // 2, len(text) - EXCERPT))
    shown = text[start:start + EXCERPT]
    return ("..." if start else "") + shown + ("..." if start + EXCERPT < len(text) else "")


def json_array_rows(path: str, dtypes: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The elements of a JSON file holding one array (one object: one record) as rows of `dtypes`
    with `RAW_ERROR`: Polars reads the whole file at once; when it cannot (an element that is not an
    object of `dtypes`, a value of another type), each element is read as a JSON line
    (`parsed_lines`), so that element alone is a record error (`json: <reason>: <element>`). A file
    that does not parse is one row, every field null, with the parser's reason (`Malformed`)."""
    try:
        frame = pl.read_json(path, schema=dict(dtypes))
        return frame.with_columns(pl.lit(None, pl.String).alias(RAW_ERROR))
    except pl.exceptions.PolarsError:
        pass
    read = read_json_file(path)
    if read.malformed is not None:
        return pl.DataFrame({**{name: [None] for name in dtypes}, RAW_ERROR: [read.malformed.error]},
                            schema={**dtypes, RAW_ERROR: pl.String})
    if not read.elements:
        return pl.DataFrame(schema={**dtypes, RAW_ERROR: pl.String})
    data = b"".join(json.dumps(element, ensure_ascii=False).encode() + _NL for element in read.elements)
    rows = parsed_lines(data, dtypes, list(dtypes)).drop(BLANK)  # a dumped element is never blank
    return rows.with_columns(pl.col(RAW_ERROR).str.replace(r"^jsonl: ", "json: "))


def inferred_json_schema(path: str, rows: int) -> pl.Schema:
    """Polars' dtypes for the first `rows` objects of a JSON file holding one array (or one object);
    other elements are left out, as malformed JSON lines are (`inferred_jsonl_schema`)."""
    read = read_json_file(path)
    if read.malformed is not None:
        raise pl.exceptions.ComputeError(f"malformed JSON ({read.malformed.reason})")
    objects = [json.dumps(e, ensure_ascii=False).encode() for e in read.elements if isinstance(e, dict)][:rows]
    if not objects:
        raise pl.exceptions.ComputeError("the file holds no JSON object")
    return pl.read_ndjson(_NL.join(objects), infer_schema_length=None).schema
