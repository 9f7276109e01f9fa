"""Lines that are not UTF-8 in a block of a bounded CSV or text file.

Polars reads text as UTF-8 and fails a whole parse on one byte that is not (`invalid utf8`), so one
stray Latin-1 byte in a CSV file failed the run. SPEC §3 makes a malformed line a record error with
its raw text, file and line, as a watched folder's reader already did (`watch_lines.decode_line`).
The block is checked first (at C speed: almost every block is ASCII); a line that does not decode
is emptied for the parse and its error given beside it.
"""

from __future__ import annotations

import codecs

import polars as pl

EXCERPT = 1000  # characters of a malformed line kept in its error (every line reader's)


def utf8_faults(data: bytes) -> dict[int, str]:
    """The lines of `data` (0-based, split at b"\\n") that are not UTF-8, each with its error:
    `not UTF-8 (byte N): <the line, undecodable bytes as U+FFFD>` (N: 0-based in the line)."""
    if data.isascii():
        return {}
    try:
        data.decode("utf-8")
        return {}
    except UnicodeDecodeError:
        pass
    faults = {}
    for i, line in enumerate(data.split(b"\n")):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            text = line.decode("utf-8", "replace").removesuffix("\r")
            text = text if len(text) <= EXCERPT else text[:EXCERPT] + "..."
            faults[i] = f"not UTF-8 (byte {error.start}): {text}"
    return faults


def without_faults(data: bytes, faults: dict[int, str]) -> bytes:
    """`data` with the lines `faults` names emptied: as many lines, each parseable."""
    if not faults:
        return data
    return b"\n".join(b"" if i in faults else line for i, line in enumerate(data.split(b"\n")))


def with_faults(frame: pl.LazyFrame, faults: dict[int, str], reader: str, error: str,
                blank: str | None = None, first_line: int = 0) -> pl.LazyFrame:
    """`frame` (row r: line r + `first_line`) with each line `faults` names a malformed record: its
    error (`<reader>: <fault>`) in the column `error`, its other columns null, and not `blank`."""
    rows = {line - first_line: f"{reader}: {fault}" for line, fault in faults.items() if line >= first_line}
    if not rows:
        return frame
    index = "__flowc_fault_row"
    schema = frame.collect_schema()
    fixes = pl.LazyFrame({index: list(rows), error: list(rows.values())}, schema={index: pl.UInt32, error: pl.String})
    fixes = fixes.with_columns(*(pl.lit(None, dtype).alias(name) for name, dtype in schema.items()
                                 if name not in (error, blank)),
                               *([pl.lit(False).alias(blank)] if blank else []))
    return frame.with_row_index(index).update(fixes, on=index, include_nulls=True).drop(index)


def file_is_utf8(path: str) -> bool:
    """Whether the whole file decodes as UTF-8 (read in blocks; an ASCII block costs one scan)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 23):
                if not (block.isascii() and not decoder.getstate()[0]):
                    decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def is_utf8_error(error: BaseException) -> bool:
    """Whether a Polars error is its refusal of text that is not UTF-8."""
    return "utf8" in str(error).lower() or "utf-8" in str(error).lower()
