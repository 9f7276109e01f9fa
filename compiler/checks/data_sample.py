"""`flowc validate --with-data`: a local file source's schema from its first `infer_rows` records.

The command line installs the run's own sampler (`RUN_SAMPLER`): the compiler may not import the
runtime, and a sampled schema must be the one `flowc run` infers, else validate reports errors the
run does not have (a header-only first CSV file typed every field as a string here, while the run
sampled on into the next file) or misses ones it has. Without it (the compiler used as a library),
only the first file of the glob (in name order, as the source reads them) is opened, and only its
first lines are read for line formats, so sampling stays cheap on large data. This is the one place
validation reads a file other than the spec.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING

from flowc.compiler.spec import Source, thaw
from flowc.dsl import types as t
from flowc.dsl.types import Struct

if TYPE_CHECKING:  # Polars is imported only with --with-data: a plain validate never needs it
    import polars as pl

TEXT_SCHEMA = Struct((("line", t.STRING),))

# (source, folder of the spec, records to sample) -> the schema the run infers; raises OSError or
# ValueError (Polars' errors are ones) with the reason when it cannot. Set by `flowc validate`.
RUN_SAMPLER: list[Callable[[Source, str, int], Struct]] = []


def sample_schema(source: Source, spec_file: str, default_rows: int) -> tuple[Struct | None, str | None]:
    """(schema, None), or (None, why it could not be sampled)."""
    import polars as pl

    from flowc.compiler.polars_types import from_polars

    if source.type != "file":
        return None, f"--with-data samples only local files, and this is a {source.type} source"
    pattern = os.path.join(os.path.dirname(spec_file), str(source.config.get("path", "")))
    files = sorted(f for f in glob.glob(pattern, recursive=True) if os.path.isfile(f))
    if not files:
        return None, f"no file matches '{source.config.get('path')}'"
    rows = source.config.get("infer_rows", default_rows)
    if RUN_SAMPLER:
        try:
            return RUN_SAMPLER[0](source, os.path.dirname(spec_file), int(rows)), None
        except (OSError, ValueError, EOFError) as err:
            return None, _reason(source, err)
    try:
        frame = _read(files[0], source.format or "", int(rows), thaw(source.config.get("options")) or {})
        return Struct(tuple((name, from_polars(dtype)) for name, dtype in frame.schema.items())), None
    except (OSError, ValueError, pl.exceptions.PolarsError, EOFError) as err:
        return None, f"reading '{files[0]}' failed: {str(err).splitlines()[0] if str(err) else type(err).__name__}"


def _reason(source: Source, error: BaseException) -> str:
    """The run's message without the source's name (the note names it) or its advice to declare a
    schema (the note's own)."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = text.removeprefix(f"source '{source.name}': ")
    return text.removesuffix("; declare the source's schema, or fix the file")


def _read(path: str, format_: str, rows: int, options: dict) -> pl.DataFrame:
    import polars as pl

    if format_ == "parquet":
        return pl.read_parquet(path, n_rows=rows)
    if format_ == "json":
        return pl.read_json(_bytes(path)).head(rows)
    if format_ == "jsonl":
        return pl.read_ndjson(_head(path, rows), infer_schema_length=rows)
    if format_ == "csv":
        header = options.get("header", True) is not False
        frame = pl.read_csv(
            _head(path, rows + (1 if header else 0)), has_header=header, n_rows=rows,
            separator=str(options.get("delimiter", ",")), quote_char=options.get("quote", '"'),
            null_values=options.get("null_values"), infer_schema_length=rows,
        )  # without a header, `column_1`, `column_2`, ... as the run names them (Polars 2 counts from 0)
        return frame if header else frame.rename({name: f"column_{i}" for i, name in enumerate(frame.columns, 1)})
    raise ValueError(f"cannot sample the format '{format_}'")


def _open(path: str) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _bytes(path: str) -> bytes:
    with _open(path) as handle:
        return handle.read()


def _head(path: str, lines: int) -> bytes:
    with _open(path) as handle:
        return b"".join(islice(handle, max(lines, 1)))
