"""A file reader's limited reads (`FileReader.chunks` with a limit, `records_in`, `limit_end`): runs of
any limits over a file with blank lines anywhere (a CSV record over several lines too) take each
record once, in order, N per run, and count records, not lines (SPEC §10 `--limit N`)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Config, Source
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.file_rows import limit_end, records_between
from flowc.runtime.sources.files import FileReader

SCHEMA = Struct((("id", t.STRING), ("v", t.STRING)))


def _text(fmt: str, records: int, blanks: list[int], spanning: set[int]) -> str:
    """`records` records, `blanks[i]` blank lines before record i (and `blanks[records]` after the last);
    in CSV the records in `spanning` hold a quoted line break."""
    lines = ["id,v"] if fmt == "csv" else []
    for i in range(records + 1):
        lines += [""] * blanks[i]
        if i == records:
            break
        if fmt == "csv":
            lines.append(f'{i},"a\nb"' if i in spanning else f"{i},x")
        else:
            lines.append(json.dumps({"id": str(i), "v": "x"}))
    return "\n".join(lines) + "\n"


def _run(folder: Path, fmt: str, after: int | None, limit: int | None, rows: int) -> tuple[list[str], int | None]:
    """One run as the runner makes it (a new reader: a new process): the ids read, and the position it
    leaves (None: the source was read to its end)."""
    source = Source(name="s", type="file", config=Config({"path": f"in.{fmt}"}), schema=SCHEMA, event_time=None,
                    format=fmt)
    reader = FileReader(source, str(folder))
    frames = [frame.collect() for frame in reader.chunks(SCHEMA, after, limit, rows).frames]
    ids = [i for frame in frames for i in frame.get_column("id").to_list()]
    last = max((frame.get_column(ROW).max() for frame in frames if frame.height), default=None)
    if last is not None:
        assert records_between(reader, after, last) == len(ids)  # `read`: records, not lines
    end = limit_end(reader, after, limit)
    if end is not None:
        assert last is None or end == last
        return ids, end
    return ids, None


@given(fmt=st.sampled_from(["csv", "jsonl"]), records=st.integers(0, 12),
       blanks=st.lists(st.integers(0, 3), min_size=13, max_size=13), spanning=st.sets(st.integers(0, 11)),
       limits=st.lists(st.integers(1, 6), min_size=1, max_size=6), rows=st.integers(1, 5))
def test_limited_runs_take_each_record_once_n_per_run(tmp_path_factory, fmt, records, blanks, spanning, limits, rows):
    folder = tmp_path_factory.mktemp("limits")
    (folder / f"in.{fmt}").write_text(_text(fmt, records, blanks, spanning))
    position: int | None = None
    taken: list[str] = []
    for limit in [*limits, None]:
        ids, position = _run(folder, fmt, position, limit, rows)
        left = records - len(taken)
        assert len(ids) == (left if limit is None else min(limit, left))
        taken += ids
        if position is None:  # read to the end: only when no record is left
            assert len(taken) == records
            break
        assert len(taken) < records  # a limited run that stopped leaves records to read
    assert taken == [str(i) for i in range(records)]
