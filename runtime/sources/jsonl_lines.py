"""JSON lines read as lines (SPEC §3: a malformed line is a record error, at its `file:line`).

Polars' JSON lines reader skips blank lines and fails a whole read on one malformed line. So a block
of lines is first parsed whole, and its records are put back on the lines that are not blank; only a
block that fails is taken apart: its runs of lines that are not blank are parsed whole, and a run
that fails is halved until the lines that fail are alone. Each line is then one row: a blank one
has `BLANK` (it holds no record and keeps its number), a line Polars cannot read as an object of the
source's fields (malformed, an array, a nested value of another type) has `RAW_ERROR`
(`jsonl: <Polars' reason>: <the line>`), which the `Scan` lowering turns into a `parse` record error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import polars as pl

from flowc.runtime.sources.csv_lines import BLANK, EXCERPT
from flowc.runtime.sources.feed import RAW_ERROR

_NL = b"\n"
_INDEX = "__flowc_line_index"


def parsed_lines(data: bytes, dtypes: Mapping[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
    """One row per line of `data` (JSON lines): `columns` of the line's object, `RAW_ERROR` (the reason
    and the line, for a line that is not a JSON object Polars reads with `dtypes`) and `BLANK`.

    The whole block is parsed at once. Blank lines, which Polars skips, are put back in place by one
    gather; only a block that fails (or whose records do not match its lines that are not blank) is
    taken apart line by line (`_line_rows`)."""
    try:
        frame = _objects(data, dtypes, columns)
    except pl.exceptions.PolarsError:
        return _line_rows(data, dtypes, columns)
    if frame.height == data.count(_NL) + (0 if data.endswith(_NL) else 1):  # no blank line: the usual block
        return frame.with_columns(pl.lit(None, pl.String).alias(RAW_ERROR), pl.lit(False).alias(BLANK))
    blank = pl.scan_lines(data, name="line").select(
        pl.col("line").str.strip_chars(" \t\r") == "").collect(engine="in-memory").to_series()
    if frame.height != blank.len() - blank.sum():
        return _line_rows(data, dtypes, columns)
    place = pl.select(pl.when(~blank).then((~blank).cum_sum() - 1)).to_series().cast(pl.UInt32)
    return frame[place].with_columns(pl.lit(None, pl.String).alias(RAW_ERROR), blank.alias(BLANK))


def _objects(data: bytes, dtypes: Mapping[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
    # selected with an index that is then dropped: a select of no columns would keep no rows either
    frame = pl.scan_ndjson(data, schema=dict(dtypes)).with_row_index(_INDEX).select(_INDEX, *columns)
    return frame.collect(engine="in-memory").drop(_INDEX)


def _line_rows(data: bytes, dtypes: Mapping[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
    """`parsed_lines` of a block that did not parse whole. Each line that is not blank is first read
    by Python's json module: one that is not a JSON object is an error row at once (`jsonl: malformed
    JSON (<reason>): <line>`, as a watched folder reports it). The objects are then parsed in runs,
    halved around the ones Polars cannot read with `dtypes` (a value of another type), and every row is
    put in its line's place by one gather (a DataFrame per bad line took ~2.5 ms: 127 s for 100k lines,
    half of them malformed)."""
    lines = data.split(_NL)
    if data.endswith(_NL):
        lines.pop()
    objects: list[bytes] = []
    special_errors: list[str | None] = []  # a row per blank or malformed line: its error (None: blank)
    place: list[int] = []  # per line: its row among the objects (>= 0) or the specials (-1 - i)
    for line in lines:
        problem = None if not line.strip(b" \t\r") else _not_an_object(line)
        if line.strip(b" \t\r") and problem is None:
            place.append(len(objects))
            objects.append(line)
        else:
            place.append(-1 - len(special_errors))
            special_errors.append(None if problem is None else _error_text(line, problem))
    parsed = _run_rows(objects, dtypes, columns)
    schema = {**{name: dtypes[name] for name in columns}, RAW_ERROR: pl.String, BLANK: pl.Boolean}
    specials = pl.DataFrame({**{name: [None] * len(special_errors) for name in columns}, RAW_ERROR: special_errors,
                             BLANK: [error is None for error in special_errors]}, schema=schema)
    both = pl.concat([*parsed, specials], how="vertical")
    taken = [at if at >= 0 else len(objects) - 1 - at for at in place]
    return both[pl.Series(taken, dtype=pl.UInt32)] if taken else both.head(0)


def _not_an_object(line: bytes) -> str | None:
    """Why `line` is not a JSON object (the json module's reason), None when it is one."""
    try:
        value = json.loads(line)
    except ValueError as error:
        return f"malformed JSON ({str(error).split(':')[0]})"
    return None if isinstance(value, dict) else "the line is not a JSON object"


def _run_rows(run: list[bytes], dtypes: Mapping[str, pl.DataType], columns: list[str]) -> list[pl.DataFrame]:
    """Rows of `run` (lines that are not blank), halving it around the lines Polars cannot read."""
    if not run:
        return []
    try:
        frame = _objects(_NL.join(run) + _NL, dtypes, columns)
    except pl.exceptions.PolarsError as error:
        if len(run) == 1:
            return [_error_row(run[0], str(error), dtypes, columns)]
        frame = None
    if frame is not None and frame.height == len(run):
        return [frame.with_columns(pl.lit(None, pl.String).alias(RAW_ERROR), pl.lit(False).alias(BLANK))]
    if len(run) == 1:  # a line Polars skips (whitespace it reads as blank)
        return [_blank_row(dtypes, columns)]
    half = len(run) // 2
    return _run_rows(run[:half], dtypes, columns) + _run_rows(run[half:], dtypes, columns)


def _blank_row(dtypes: Mapping[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame({name: [None] for name in columns}, schema={name: dtypes[name] for name in columns}).with_columns(
        pl.lit(None, pl.String).alias(RAW_ERROR), pl.lit(True).alias(BLANK))


def _error_row(line: bytes, error: str, dtypes: Mapping[str, pl.DataType], columns: list[str]) -> pl.DataFrame:
    reason = error.strip().splitlines()[0] if error.strip() else "not a JSON object"
    return _blank_row(dtypes, columns).with_columns(pl.lit(_error_text(line, reason)).alias(RAW_ERROR),
                                                    pl.lit(False).alias(BLANK))


def _error_text(line: bytes, reason: str) -> str:
    text = line.decode("utf-8", "replace").removesuffix("\r")
    shown = text if len(text) <= EXCERPT else text[:EXCERPT] + "..."
    return f"jsonl: {reason}: {shown}"


def jsonl_sample(path: str, rows: int, lines: int) -> tuple[list[bytes], int]:
    """The first `rows` lines of a JSON lines file that hold a JSON object, looking at `lines` lines at
    most (a file of malformed lines is not read to its end), and how many lines were looked at.
    Malformed lines are left out: they are record errors when the pipeline runs, and must not fail its
    compilation (as in CSV)."""
    from flowc.runtime.sources.line_blocks import line_blocks

    objects: list[bytes] = []
    looked = 0
    if rows <= 0 or lines <= 0:
        return objects, looked
    for _, block in line_blocks(path, 0, rows, skip_bom=True):
        for line in block.split(_NL):
            looked += 1
            if line.strip() and _is_object(line):
                objects.append(line)
            if len(objects) >= rows or looked >= lines:
                return objects, looked
    return objects, looked


def inferred_jsonl_schema(path: str, rows: int) -> pl.Schema:
    """Polars' dtypes for the first `rows` lines of one JSON lines file that hold a JSON object."""
    return sampled_jsonl_schema(*jsonl_sample(path, rows, rows * INFER_LOOK))


def sampled_jsonl_schema(objects: list[bytes], looked: int) -> pl.Schema:
    """Polars' dtypes for the sampled `objects` (`jsonl_sample`, over the files in order). Raises
    Polars' ComputeError when there is none."""
    if not objects:
        raise pl.exceptions.ComputeError(f"no line of the first {looked} holds a JSON object")
    return objects_schema(objects)


def objects_schema(objects: list[bytes]) -> pl.Schema:
    """Polars' dtypes for JSON objects (each on one line). A field whose values have no common type
    (`1` and `true`, `[1]` and `5`, a struct and a list), which Polars cannot infer, is a string:
    each value is then read as its JSON text, as inline values of no common type are. The sample used
    to refuse the run (`failed to determine supertype of struct[1] and struct[1]`)."""
    try:
        return pl.read_ndjson(_NL.join(objects), infer_schema_length=None).schema
    except pl.exceptions.PolarsError:
        pass
    values: dict[str, list[object]] = {}
    for line in objects:
        for name, value in json.loads(line).items():
            values.setdefault(name, []).append(value)
    return pl.Schema({name: _common_dtype(name, found) for name, found in values.items()})


def _common_dtype(name: str, values: list[object]) -> pl.DataType:
    lines = _NL.join(json.dumps({name: value}).encode() for value in values)
    try:
        return pl.read_ndjson(lines, infer_schema_length=None).schema[name]
    except pl.exceptions.PolarsError:
        return pl.String()


INFER_LOOK = 100  # lines examined per record wanted, at most: a file of malformed lines is not read to its end


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
