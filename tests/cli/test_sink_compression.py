"""File sink compression through the CLI (SPEC §7): a path ending in `.gz` writes gzip, and a compression
the format cannot take is a validate error (E315) that run, plan and test report before anything runs."""

from __future__ import annotations

import csv
import gzip
import io
import json
import textwrap
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from flowc.cli import cli

GZIP_MAGIC = b"\x1f\x8b"


def write_spec(folder: Path, sinks: str, count: int = 5) -> Path:
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        pipeline: p
        settings: {{batch_size: 2}}
        sources:
          g: {{type: generate, count: {count}, fields: {{i: _n, s: 'concat("r", _n)'}}}}
        sinks:
        """) + textwrap.indent(textwrap.dedent(sinks), "  "))
    return path


def flowc(*args: str):
    return CliRunner().invoke(cli, list(args))


def gunzipped(path: Path) -> str:
    data = path.read_bytes()
    assert data[:2] == GZIP_MAGIC, f"{path.name} is not gzip"
    return gzip.decompress(data).decode()


def test_a_gz_path_writes_gzip_and_a_resumed_run_completes_it_exactly_once(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """\
        c: {type: file, path: out/o.csv.gz}
        j: {type: file, path: out/o.jsonl.gz}
        a: {type: file, path: out/o.json.gz}
        r: {type: file, path: out/r.jsonl.gz, rotate: {max_records: 2}}
        """)
    first = flowc("run", str(spec), "--limit", "3", "--quiet")
    assert first.exit_code == 0, first.output
    assert [json.loads(x)["i"] for x in gunzipped(tmp_path / "out/o.jsonl.gz").splitlines()] == [0, 1, 2]
    rest = flowc("run", str(spec), "--quiet")
    assert rest.exit_code == 0, rest.output
    out = tmp_path / "out"
    assert list(csv.reader(io.StringIO(gunzipped(out / "o.csv.gz")))) == [["i", "s"], *([str(n), f"r{n}"] for n in range(5))]
    assert [json.loads(x) for x in gunzipped(out / "o.jsonl.gz").splitlines()] == [{"i": n, "s": f"r{n}"} for n in range(5)]
    assert json.loads(gunzipped(out / "o.json.gz")) == [{"i": n, "s": f"r{n}"} for n in range(5)]
    # rotated files are numbered before the whole extension, `.gz` included, and each is gzip
    rotated = sorted(p.name for p in out.glob("r.*"))
    assert rotated == ["r.000001.jsonl.gz", "r.000002.jsonl.gz", "r.000003.jsonl.gz"]
    assert [json.loads(x)["i"] for name in rotated for x in gunzipped(out / name).splitlines()] == [0, 1, 2, 3, 4]


def test_an_explicit_compression_wins_over_the_path(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """\
        plain: {type: file, path: out/plain.jsonl, compression: gzip}
        pq: {type: file, path: out/p.parquet.gz, compression: zstd}
        """, count=3)
    result = flowc("run", str(spec), "--quiet")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["i"] for x in gunzipped(tmp_path / "out/plain.jsonl").splitlines()] == [0, 1, 2]
    assert pl.read_parquet(tmp_path / "out/p.parquet.gz")["i"].to_list() == [0, 1, 2]


@pytest.mark.parametrize(("sink", "col", "message"), [
    ("{type: file, path: out/a.csv, compression: zstd}", 51,
     "compression 'zstd' is not available for csv in sink 'bad'; csv takes 'gzip'"),
    ("{type: file, path: out/c.parquet, compression: gzip}", 55,
     "compression 'gzip' is not available for parquet in sink 'bad'; parquet takes 'zstd' or 'snappy'"),
    ("{type: file, path: out/j.json, compression: snappy}", 52,
     "compression 'snappy' is not available for json in sink 'bad'; json takes 'gzip'"),
    ("{type: file, path: out/p.parquet.gz}", 27,
     "compression 'gzip' (implied by the '.gz' ending of 'out/p.parquet.gz') is not available for parquet in "
     "sink 'bad'; parquet takes 'zstd' or 'snappy': drop the '.gz' and set 'compression'"),
])
def test_a_compression_the_format_cannot_take_is_reported_by_every_command(tmp_path: Path, sink: str, col: int,
                                                                            message: str) -> None:
    spec = write_spec(tmp_path, f"bad: {sink}\n")
    expected = f"{spec}:7:{col}: error[E315]: {message}"
    validate = flowc("validate", str(spec))
    assert validate.exit_code == 1
    assert expected in validate.output
    for command in (["run", str(spec)], ["plan", str(spec)], ["test", str(spec)]):
        result = flowc(*command)
        assert result.exit_code == 1, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / ".flow").exists()


def test_the_compilers_table_of_compressions_is_the_writers() -> None:
    from flowc.compiler.checks.formats import SINK_COMPRESSIONS
    from flowc.runtime.sinks.backends import COMPRESSIONS

    assert {fmt: set(allowed) for fmt, allowed in SINK_COMPRESSIONS.items()} == COMPRESSIONS


def test_a_sink_path_naming_a_format_no_sink_writes_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "lines: {type: file, path: out/l.txt.gz}\n")
    result = flowc("run", str(spec))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert (f"{spec}:7:29: error[E316]: sink 'lines' cannot write format 'text' (from the extension of "
            "'out/l.txt.gz'); set 'format' to one of 'jsonl', 'json', 'csv', 'parquet'") in result.output
    assert "E315" not in result.output and not (tmp_path / "out").exists()


def test_gzip_outputs_store_no_file_name_in_their_header(tmp_path: Path) -> None:
    """A `.json.gz` file is written under a temporary name and renamed: the gzip header must not keep
    that name (FNAME, flag bit 3), which `gunzip -N` would restore (audit 4 F6f)."""
    spec = write_spec(tmp_path, """
        j: {type: file, path: out/a.json.gz}
        l: {type: file, path: out/b.jsonl.gz}
        c: {type: file, path: out/c.csv.gz}
        """)
    assert flowc("run", str(spec), "--quiet").exit_code == 0
    for name in ("a.json.gz", "b.jsonl.gz", "c.csv.gz"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data[:2] == GZIP_MAGIC and not data[3] & 0x08, name
    assert [r["i"] for r in json.loads(gunzipped(tmp_path / "out" / "a.json.gz"))] == [0, 1, 2, 3, 4]
