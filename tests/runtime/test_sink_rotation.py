from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.runtime.sinks.encoding import encode_csv, encode_jsonl, record_ends
from flowc.runtime.sinks.rotation import Rotation, rotated_index_pattern, rotated_path, split_batch


def files_record_by_record(lengths: list[int], records: int, size: int, rotation: Rotation) -> list[int]:
    """The rule as documented, one record at a time: which file (0 = current) each record lands in."""
    out, file = [], 0
    for length in lengths:
        full = records and (
            (rotation.max_records is not None and records >= rotation.max_records)
            or (rotation.max_bytes is not None and size + length > rotation.max_bytes)
        )
        if full:
            file, records, size = file + 1, 0, 0
        out.append(file)
        records, size = records + 1, size + length
    return out


@given(st.lists(st.integers(1, 50), max_size=40), st.integers(0, 5), st.integers(0, 80),
       st.one_of(st.none(), st.integers(1, 6)), st.one_of(st.none(), st.integers(1, 120)))
def test_split_batch_follows_the_per_record_rule(lengths: list[int], records: int, size: int,
                                                 max_records: int | None, max_bytes: int | None) -> None:
    rotation = Rotation(max_bytes, max_records)
    records = min(records, max_records or records)
    ends = [sum(lengths[: i + 1]) for i in range(len(lengths))]
    got, file = [], 0
    for segment in split_batch(len(lengths), ends, records, size, rotation):
        file += segment.new_file
        got.extend([file] * (segment.end - segment.start))
    assert got == files_record_by_record(lengths, records, size, rotation)


def test_no_rotation_is_one_segment() -> None:
    assert [(s.start, s.end, s.new_file) for s in split_batch(5, None, 3, 0, None)] == [(0, 5, False)]
    assert split_batch(0, None, 0, 0, None) == []


@pytest.mark.parametrize("bad", [{"max_bytes": 0}, {"max_records": -1}, {"max_records": 1.5}])
def test_rotation_limits_must_be_positive_integers(bad: dict) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        Rotation.of(bad)


@pytest.mark.parametrize(("path", "rotated"), [
    ("out/a.jsonl.gz", "out/a.000007.jsonl.gz"), ("out/a.jsonl", "out/a.000007.jsonl"),
    ("out/a.b.parquet", "out/a.b.000007.parquet"), ("out/a", "out/a.000007"), ("out/a.json.gz", "out/a.000007.json.gz"),
])
def test_rotated_names_put_the_number_before_the_extension(path: str, rotated: str) -> None:
    assert rotated_path(Path(path), 7) == Path(rotated)
    assert rotated_index_pattern(Path(path)).fullmatch(Path(rotated).name)[1] == "000007"


def test_numbers_past_six_digits_keep_growing() -> None:
    assert rotated_path(Path("a.csv"), 1234567) == Path("a.1234567.csv")
    assert rotated_index_pattern(Path("a.csv")).fullmatch("a.1234567.csv")


strings = st.text(st.sampled_from('ab,"\n\r é'), max_size=8)


@given(st.lists(st.one_of(st.none(), strings), min_size=1, max_size=20))
def test_record_ends_split_polars_csv_and_jsonl_into_records(values: list[str | None]) -> None:
    df = pl.DataFrame({"s": values, "n": list(range(len(values)))})
    for data, csv in ((encode_csv(df), True), (encode_jsonl(df), False)):
        ends = record_ends(data, csv)
        assert len(ends) == df.height and ends[-1] == len(data)
        pieces = [data[a:b] for a, b in zip([0, *ends], ends, strict=False)]
        for i, piece in enumerate(pieces):
            reread = pl.read_csv(piece, has_header=False, new_columns=["s", "n"], schema_overrides={"s": pl.String}) \
                if csv else pl.read_ndjson(piece, schema={"s": pl.String, "n": pl.Int64})
            assert reread["n"].to_list() == [i]
