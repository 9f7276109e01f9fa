"""`flowc run --limit N` (SPEC §10) reads at most N records in the run, whatever the source: also an
unbounded one without a schema, whose first batch (polled before the run to infer the schema) was a
whole `batch_size` (100000 records of an endless generator went out for `--limit 5`). A second run
goes on where the first stopped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from http_server import ScriptedServer, paged

FLOWC = [sys.executable, "-m", "flowc"]

SOURCES = {
    "endless generate": "{type: generate, fields: {id: _n}}",
    "generate with a rate": "{type: generate, rate: 500/s, fields: {id: _n}}",
    "watched folder": "{type: file, path: in/*.jsonl, watch: true}",
    "http, one pass": "{type: http, url: URL, records: data.items}",
}


def run(folder: Path, *args: str) -> list[int]:
    done = subprocess.run([*FLOWC, "run", "--quiet", "p.flow.yaml", *args], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["id"] for line in (folder / "out.jsonl").read_text().splitlines()]


def write_spec(folder: Path, source: str, batch_size: int = 100000) -> None:
    (folder / "in").mkdir(exist_ok=True)
    (folder / "in" / "a.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in range(50)))
    (folder / "p.flow.yaml").write_text(f"""version: 1
pipeline: p
settings: {{batch_size: {batch_size}, batch_timeout: 200ms}}
sources:
  s: {source}
sinks:
  out: {{type: file, path: out.jsonl}}
""")


@pytest.mark.parametrize("kind", SOURCES)
def test_limit_stops_after_n_records_of_a_source_without_schema(tmp_path, kind):
    with ScriptedServer() as server:
        server.route("/items", paged([{"id": i} for i in range(50)], size=50))
        write_spec(tmp_path, SOURCES[kind].replace("URL", server.url("/items")))
        assert run(tmp_path, "--limit", "5") == [0, 1, 2, 3, 4]
        assert run(tmp_path, "--limit", "3") == [0, 1, 2, 3, 4, 5, 6, 7]


def test_the_limit_counts_over_every_feed_inferred_before_the_run(tmp_path):
    (tmp_path / "p.flow.yaml").write_text("""version: 1
pipeline: p
sources:
  a: {type: generate, fields: {id: _n}}
  b: {type: generate, fields: {id: _n + 1000}}
steps:
  - union: [a, b]
sinks:
  out: {type: file, path: out.jsonl}
""")
    assert run(tmp_path, "--limit", "5") == [0, 1, 2, 3, 4]


# --- file sources: `--limit N` reads N records (a blank line is none), `read` says N, a resume goes on
# right after the N-th record, in the fast and the exact reading alike ---

def _file_spec(folder: Path, data: str, text: str, schema: str, keep: str = "true", batch_size: int = 4) -> None:
    (folder / data).write_text(text)
    (folder / "p.flow.yaml").write_text(f"""version: 1
pipeline: p
settings: {{batch_size: {batch_size}, on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
sources:
  s: {{type: file, path: {data}, schema: {schema}}}
steps:
  - filter: {keep}
sinks:
  out: {{type: file, path: out.jsonl}}
""")


def _limited(folder: Path, *args: str) -> tuple[list, list, dict]:
    """Run in-process; the ids written and dead-lettered so far, and the run's last event."""
    from click.testing import CliRunner

    from flowc.cli import cli

    done = CliRunner().invoke(cli, ["run", "--quiet", str(folder / "p.flow.yaml"), *args], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    out = [json.loads(line)["id"] for line in (folder / "out.jsonl").read_text().splitlines()]
    dead = folder / "dead.jsonl"
    dead_ids = [json.loads(line)["_source"]["position"] for line in dead.read_text().splitlines()] if dead.exists() else []
    log = [json.loads(line) for line in (folder / ".flow" / "p" / "events.log").read_text().splitlines()]
    return out, dead_ids, log[-1]


def _csv(ids: range, blank_after: set[int], bad: dict[int, str] | None = None) -> str:
    lines = ["id,v"]
    for i in ids:
        lines.append((bad or {}).get(i, f"{i},{i}.5"))
        if i in blank_after:
            lines.append("")
    return "\n".join(lines) + "\n"


def _jsonl(ids: range, blank_after: set[int], bad: dict[int, str] | None = None) -> str:
    lines = []
    for i in ids:
        lines.append((bad or {}).get(i, json.dumps({"id": i, "v": f"{i}.5"})))
        if i in blank_after:
            lines.append("")
    return "\n".join(lines) + "\n"


FORMATS = {"csv": ("in.csv", _csv), "jsonl": ("in.jsonl", _jsonl)}
BLANKS = {0, 1, 4, 5, 6, 9, 12, 19}  # a blank line after each of these records (two in a row after 4..6)
SCHEMA = "{id: int, v: float}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("limit", [1, 5, 7, 13])
def test_a_limit_reads_n_records_of_a_file_with_blank_lines_and_a_resume_goes_on_after_them(tmp_path, fmt, limit):
    data, make = FORMATS[fmt]
    _file_spec(tmp_path, data, make(range(20), BLANKS), SCHEMA)
    out, _, last = _limited(tmp_path, "--limit", str(limit))
    assert out == list(range(limit))
    assert (last["type"], last["data"]["reason"], last["data"]["counts"]["read"]) == ("stopped", "--limit reached", limit)
    out, _, last = _limited(tmp_path, "--limit", "3")
    assert out == list(range(limit + 3)) and last["data"]["counts"]["read"] == limit + 3
    out, _, last = _limited(tmp_path)
    assert out == list(range(20))
    assert (last["type"], last["data"]["counts"]["read"]) == ("completed", 20)  # records, not lines


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad_at", [2, 11])  # before the limit's end (it is read the exact way) and after it
def test_a_limit_across_the_switch_to_the_exact_reading_reads_n_records(tmp_path, fmt, bad_at):
    data, make = FORMATS[fmt]
    bad = {bad_at: f"{bad_at},x" if fmt == "csv" else json.dumps({"id": bad_at, "v": "x"})}
    _file_spec(tmp_path, data, make(range(20), BLANKS, bad), SCHEMA)
    out, dead, last = _limited(tmp_path, "--limit", "9")
    assert out == [i for i in range(9) if i != bad_at]
    assert dead == ([f"{data}:{_line(fmt, bad_at)}"] if bad_at < 9 else [])
    assert last["data"]["counts"]["read"] == 9
    out, dead, last = _limited(tmp_path)
    assert out == [i for i in range(20) if i != bad_at] and dead == [f"{data}:{_line(fmt, bad_at)}"]
    assert (last["type"], last["data"]["counts"]["read"]) == ("completed", 20)


def _line(fmt: str, record: int) -> int:
    """The 1-based line of record `record` in `_csv`/`_jsonl` files with BLANKS."""
    return record + 1 + sum(1 for b in BLANKS if b < record) + (1 if fmt == "csv" else 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_records_a_filter_drops_at_the_limit_s_end_are_read_and_not_read_again(tmp_path, fmt):
    data, make = FORMATS[fmt]
    _file_spec(tmp_path, data, make(range(20), BLANKS), SCHEMA, keep="id < 5 or id > 8")
    out, _, last = _limited(tmp_path, "--limit", "8")  # records 5..7 filtered out: the last batch ends at 4
    assert out == [0, 1, 2, 3, 4] and last["data"]["counts"]["read"] == 8
    out, _, last = _limited(tmp_path, "--limit", "2")  # records 8 and 9, not 5 and 6 again
    assert out == [0, 1, 2, 3, 4, 9] and last["data"]["counts"]["read"] == 10


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_limit_of_every_record_before_trailing_blank_lines_completes_the_run(tmp_path, fmt):
    data, make = FORMATS[fmt]
    _file_spec(tmp_path, data, make(range(6), {5}) + "\n\n", SCHEMA)
    out, _, last = _limited(tmp_path, "--limit", "6")
    assert out == list(range(6)) and (last["type"], last["data"]["counts"]["read"]) == ("completed", 6)


def test_a_limit_on_a_json_array_file_and_a_resume(tmp_path):
    elements = [{"id": i, "v": i + 0.5} for i in range(10)]
    elements[3] = {"id": 3, "v": "x"}
    _file_spec(tmp_path, "in.json", json.dumps(elements, indent=1), SCHEMA)
    out, dead, last = _limited(tmp_path, "--limit", "5")
    assert out == [0, 1, 2, 4] and dead == ["in.json[3]"] and last["data"]["counts"]["read"] == 5
    out, dead, last = _limited(tmp_path)
    assert out == [0, 1, 2, *range(4, 10)] and dead == ["in.json[3]"]
    assert (last["type"], last["data"]["counts"]["read"]) == ("completed", 10)


def test_a_limit_on_a_parquet_file_and_a_resume(tmp_path):
    import polars as pl

    pl.DataFrame({"id": range(10), "v": [i + 0.5 for i in range(10)]}).write_parquet(tmp_path / "in.parquet")
    _file_spec(tmp_path, "in.parquet", "", SCHEMA)
    (tmp_path / "in.parquet").unlink()
    pl.DataFrame({"id": range(10), "v": [i + 0.5 for i in range(10)]}).write_parquet(tmp_path / "in.parquet")
    out, _, last = _limited(tmp_path, "--limit", "6")
    assert out == list(range(6)) and last["data"]["counts"]["read"] == 6
    out, _, last = _limited(tmp_path)
    assert out == list(range(10)) and (last["type"], last["data"]["counts"]["read"]) == ("completed", 10)


def _packed(path: Path, text: str, how: str) -> None:
    import gzip
    import zlib

    import polars as pl

    if how == "zstd":  # Python's library has no zstd codec: Polars writes the lines
        pl.LazyFrame({"line": text.split("\n")[:-1]}).sink_csv(path, include_header=False, quote_style="never",
                                                                compression="zstd", check_extension=False)
    else:
        path.write_bytes(gzip.compress(text.encode()) if how == "gzip" else zlib.compress(text.encode()))


@pytest.mark.parametrize("how", ["gzip", "zlib", "zstd"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_limit_on_a_compressed_file_with_blank_lines_reads_n_records_and_resumes_after_them(tmp_path, fmt, how):
    data, make = FORMATS[fmt]
    _file_spec(tmp_path, data + ".z", "", SCHEMA.replace("}", "}, format: " + fmt))
    _packed(tmp_path / (data + ".z"), make(range(20), BLANKS), how)  # zlib, zstd: Polars read them whole, with
    out, _, last = _limited(tmp_path, "--limit", "7")                 # its own row numbers (records 3, 4 twice)
    assert out == list(range(7)) and last["data"]["counts"]["read"] == 7
    out, _, last = _limited(tmp_path)
    assert out == list(range(20)) and (last["type"], last["data"]["counts"]["read"]) == ("completed", 20)


@pytest.mark.parametrize("files", [
    {"in-a.jsonl": '{"id":0}\n\n{"id":1}\n\n', "in-b.jsonl": '\n{"id":2}\n{"id":3}\n\n{"id":4}\n'},  # a glob of two
    {"a.csv": 'id,v\n0,a\n1,"x\ny"\n\n2,b\n3,"p\nq\nr"\n4,c\n\n'},  # records over several lines
])
def test_runs_limited_to_a_few_records_cross_files_and_records_over_several_lines(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = "'in-*.jsonl'" if len(files) > 1 else "a.csv"
    _file_spec(tmp_path, "unused.txt", "", "{id: int}" if len(files) > 1 else "{id: int, v: string}", batch_size=2)
    spec = (tmp_path / "p.flow.yaml").read_text().replace("path: unused.txt", f"path: {path}")
    (tmp_path / "p.flow.yaml").write_text(spec)
    for limit, read in (("2", 2), ("2", 4), ("1", 5)):
        out, _, last = _limited(tmp_path, "--limit", limit)
        assert out == list(range(read)) and last["data"]["counts"]["read"] == read  # `counts`: the pipeline's
    out, _, last = _limited(tmp_path)
    assert out == list(range(5)) and (last["type"], last["data"]["counts"]["read"]) == ("completed", 5)
