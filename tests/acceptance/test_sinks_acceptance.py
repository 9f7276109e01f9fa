"""Acceptance tests of SPEC §7 (sinks), written from SPEC.md alone, run through the `flowc` command."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import polars as pl
from acceptance_cli import FLOWC, flowc

RECORDS = """[{id: 1, name: ann, score: 1.5}, {id: 2, name: bob, score: 2.0}, {id: 3, name: "c, d", score: null},
                {id: 4, name: dan, score: 4.25}, {id: 5, name: eve, score: 5.0}]"""
EXPECTED = [{"id": 1, "name": "ann", "score": 1.5}, {"id": 2, "name": "bob", "score": 2.0},
            {"id": 3, "name": "c, d", "score": None}, {"id": 4, "name": "dan", "score": 4.25},
            {"id": 5, "name": "eve", "score": 5.0}]


def spec(folder: Path, sink: str, batch_size: int = 2, records: str = RECORDS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        pipeline: p
        settings: {{batch_size: {batch_size}}}
        sources:
          s: {{type: inline, records: {records}}}
        sinks:
          out: {sink}
        """))
    return path


def ran(path: Path, *args: str) -> subprocess.CompletedProcess:
    done = flowc("run", str(path), "--quiet", *args)
    assert done.returncode == 0, done.stderr
    return done


def test_jsonl_one_object_per_line_fields_in_order(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.jsonl}"))
    text = (tmp_path / "out.jsonl").read_text()
    assert text.endswith("\n")
    rows = [json.loads(x) for x in text.splitlines()]
    assert rows == EXPECTED
    assert all(list(r) == ["id", "name", "score"] for r in rows)


def test_json_is_one_array(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.json}"))
    assert json.loads((tmp_path / "out.json").read_text()) == EXPECTED


def test_csv_has_a_header_row_and_quotes_what_needs_it(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.csv}"))
    text = (tmp_path / "out.csv").read_text()
    rows = text.splitlines()
    assert rows[0] == "id,name,score"
    assert rows[1] == "1,ann,1.5"
    assert rows[3].startswith('3,"c, d",')
    assert len(rows) == 6


def test_parquet_round_trips_types(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.parquet}"))
    frame = pl.read_parquet(tmp_path / "out.parquet")
    assert frame.to_dicts() == EXPECTED
    assert frame.schema == {"id": pl.Int64, "name": pl.String, "score": pl.Float64}


def test_explicit_format_wins_over_the_extension(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.data, format: jsonl}"))
    assert [json.loads(x) for x in (tmp_path / "out.data").read_text().splitlines()] == EXPECTED


def test_unknown_extension_without_format_is_a_compile_error(tmp_path):
    path = spec(tmp_path, "{type: file, path: out.data}")
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert "format" in checked.stdout + checked.stderr
    assert flowc("run", str(path)).returncode == 1
    assert not (tmp_path / "out.data").exists()


def test_gzip_jsonl_and_csv_by_key_and_by_extension(tmp_path):
    ran(spec(tmp_path / "a", "{type: file, path: out.jsonl.gz}"))
    assert [json.loads(x) for x in gzip.decompress((tmp_path / "a/out.jsonl.gz").read_bytes()).splitlines()] == EXPECTED
    ran(spec(tmp_path / "b", "{type: file, path: out.csv.gz, format: csv, compression: gzip}"))
    assert gzip.decompress((tmp_path / "b/out.csv.gz").read_bytes()).decode().splitlines()[0] == "id,name,score"
    ran(spec(tmp_path / "c", "{type: file, path: out.jsonl, compression: gzip}"))
    found = [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith("out")]
    assert len(found) == 1
    assert [json.loads(x) for x in gzip.decompress((tmp_path / "c" / found[0]).read_bytes()).splitlines()] == EXPECTED


def test_parquet_compressions(tmp_path):
    for codec in ("zstd", "snappy"):
        ran(spec(tmp_path / codec, f"{{type: file, path: out.parquet, compression: {codec}}}"))
        assert pl.read_parquet(tmp_path / codec / "out.parquet").to_dicts() == EXPECTED


def test_zstd_for_jsonl_and_gzip_for_parquet_are_compile_errors(tmp_path):
    # SPEC §7: "compression (gzip; zstd/snappy for parquet)": read as gzip for the text formats,
    # zstd/snappy for parquet (flowc's reading; gzip parquet is refused with E315)
    path = spec(tmp_path, "{type: file, path: out.jsonl, compression: zstd}")
    assert flowc("validate", str(path)).returncode == 1
    path = spec(tmp_path, "{type: file, path: out.parquet, compression: gzip}")
    checked = flowc("validate", str(path))
    assert checked.returncode == 1 and "parquet" in checked.stdout


def rotated(folder: Path, stem: str, ext: str) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.name.startswith(stem) and p.name.endswith(ext))
    for p in files:
        assert re.fullmatch(re.escape(stem) + r"(\.\d{6})?" + re.escape(ext), p.name), p.name
    return files


def test_rotate_max_records_cuts_files_with_numbered_suffixes_before_the_extension(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.jsonl, rotate: {max_records: 2}}", batch_size=5))
    files = rotated(tmp_path, "out", ".jsonl")
    assert len(files) == 3
    assert any(p.name == "out.000001.jsonl" for p in files)
    rows = [[json.loads(x) for x in p.read_text().splitlines()] for p in files]
    assert [len(r) for r in rows] == [2, 2, 1]
    assert [r for chunk in rows for r in chunk] == EXPECTED


def test_rotate_max_bytes_keeps_each_file_at_most_that_size(tmp_path):
    records = "[" + ", ".join(f"{{n: {i}, pad: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}}" for i in range(50)) + "]"
    ran(spec(tmp_path, "{type: file, path: out.jsonl, rotate: {max_bytes: 200}}", batch_size=7, records=records))
    files = rotated(tmp_path, "out", ".jsonl")
    assert len(files) > 5
    assert all(p.stat().st_size <= 200 for p in files)
    ns = [json.loads(x)["n"] for p in files for x in p.read_text().splitlines()]
    assert ns == list(range(50))


def test_rotate_parquet_and_gzip_jsonl(tmp_path):
    ran(spec(tmp_path / "pq", "{type: file, path: out.parquet, rotate: {max_records: 2}}", batch_size=5))
    files = rotated(tmp_path / "pq", "out", ".parquet")
    assert len(files) == 3
    assert pl.concat([pl.read_parquet(p) for p in files]).to_dicts() == EXPECTED
    ran(spec(tmp_path / "gz", "{type: file, path: out.jsonl.gz, rotate: {max_records: 2}}", batch_size=5))
    files = rotated(tmp_path / "gz", "out", ".jsonl.gz")
    assert len(files) == 3
    rows = [json.loads(x) for p in files for x in gzip.decompress(p.read_bytes()).splitlines()]
    assert rows == EXPECTED


def test_retry_key_is_accepted(tmp_path):
    ran(spec(tmp_path, "{type: file, path: out.jsonl, retry: {max_attempts: 3, backoff: 100ms, max_backoff: 1s}}"))
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 5


def test_console_jsonl(tmp_path):
    done = ran(spec(tmp_path, "{type: console, format: jsonl}"))
    assert [json.loads(x) for x in done.stdout.splitlines()] == EXPECTED


def test_console_json(tmp_path):
    done = ran(spec(tmp_path, "{type: console, format: json}"))
    text = done.stdout.strip()
    try:
        parsed = json.loads(text)
        rows = parsed if isinstance(parsed, list) else [parsed]
    except json.JSONDecodeError:  # one (possibly pretty) JSON document per record
        decoder, rows, at = json.JSONDecoder(), [], 0
        while at < len(text):
            value, at = decoder.raw_decode(text, at)
            rows.append(value)
            while at < len(text) and text[at].isspace():
                at += 1
    assert rows == EXPECTED


def test_console_kv(tmp_path):
    done = ran(spec(tmp_path, "{type: console, format: kv}"))
    out = done.stdout.splitlines()
    assert len(out) == 5
    assert out[0].startswith("id=1 name=ann score=1.5")
    assert "c, d" in out[2]


def test_console_table_shows_a_header_and_every_value(tmp_path):
    done = ran(spec(tmp_path, "{type: console, format: table}"))
    assert "\x1b[" not in done.stdout  # not a terminal: no colours
    assert re.search(r"id.*name.*score", done.stdout)
    for value in ("ann", "bob", "c, d", "dan", "eve", "4.25"):
        assert value in done.stdout


def test_console_limit_prints_at_most_that_many_records(tmp_path):
    done = ran(spec(tmp_path, "{type: console, format: jsonl, limit: 2}"))
    assert [json.loads(x) for x in done.stdout.splitlines()] == EXPECTED[:2]


def test_console_with_quiet_still_prints_records(tmp_path):
    done = ran(spec(tmp_path, "{type: console, format: jsonl}"))
    assert done.stderr == ""


GENERATED = """\
version: 1
pipeline: g
settings: {{batch_size: 1000}}
sources:
  s: {{type: generate, count: 150000, fields: {{n: _n, s: 'concat("r", to_string(_n))'}}}}
steps:
  - map: {{m: n * 2}}
sinks:
  a: {{type: file, path: a.jsonl{rotate}}}
  b: {{type: file, path: b.csv.gz}}
  c: {{type: file, path: c.parquet, rotate: {{max_records: 25000}}}}
  d: {{type: file, path: d.json, rotate: {{max_records: 45000}}}}
  e: {{type: file, path: e.jsonl.gz, rotate: {{max_bytes: 512KB}}}}
"""


def test_kill_minus_9_then_resume_leaves_every_file_as_an_uninterrupted_run(tmp_path):
    for variant, rotate in (("rotated", ", rotate: {max_records: 35000}"),):
        reference, crashed = tmp_path / variant / "ref", tmp_path / variant / "crash"
        for folder in (reference, crashed):
            folder.mkdir(parents=True)
            (folder / "g.flow.yaml").write_text(GENERATED.format(rotate=rotate))
        ran(reference / "g.flow.yaml")
        process = subprocess.Popen([*FLOWC, "run", str(crashed / "g.flow.yaml"), "--quiet"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process.poll() is None:
                if (crashed / "a.jsonl").exists() or (crashed / "a.000001.jsonl").exists():
                    break
                time.sleep(0.02)
            time.sleep(0.3)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            process.wait(10)
        assert process.returncode == -signal.SIGKILL  # killed mid-way, not finished before the kill
        assert '"type":"completed"' not in (crashed / ".flow/g/events.log").read_text().replace(" ", "")
        ran(crashed / "g.flow.yaml")
        names = sorted(p.name for p in reference.iterdir() if p.is_file())
        assert names == sorted(p.name for p in crashed.iterdir() if p.is_file())
        for name in names:
            if name.endswith(".parquet"):
                assert pl.read_parquet(reference / name).equals(pl.read_parquet(crashed / name)), name
            elif name.endswith(".gz"):
                assert gzip.decompress((reference / name).read_bytes()) == gzip.decompress(
                    (crashed / name).read_bytes()), name
            else:
                assert (reference / name).read_bytes() == (crashed / name).read_bytes(), name


def test_csv_rotation_repeats_the_header_and_creates_missing_folders(tmp_path):
    records = "[" + ", ".join(f"{{n: {i}, s: ssss}}" for i in range(5)) + "]"
    ran(spec(tmp_path, "{type: file, path: out/sub/x.csv, rotate: {max_bytes: 25}}", batch_size=3, records=records))
    files = rotated(tmp_path / "out/sub", "x", ".csv")
    assert [p.name for p in files] == ["x.000001.csv", "x.000002.csv"]
    assert files[0].read_text() == "n,s\n0,ssss\n1,ssss\n2,ssss\n"  # 25 bytes: the limit, not past it
    assert files[1].read_text() == "n,s\n3,ssss\n4,ssss\n"


def test_late_records_without_a_reader_or_dead_letter_sink_are_dropped_and_counted(tmp_path):
    # SPEC §4: "else they are dropped and counted" (§6's "a dead_letter sink is required ... when a
    # .late output is unread and late records are possible" would make this a compile error; flowc
    # follows §4)
    path = tmp_path / "p.flow.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        pipeline: p
        settings: {batch_size: 1}
        sources:
          s:
            type: inline
            event_time: {field: ts}
            schema: {ts: datetime}
            records: [{ts: "2026-01-01T00:00:10Z"}, {ts: "2026-01-01T00:02:00Z"}, {ts: "2026-01-01T00:00:20Z"}]
        steps:
          - aggregate: {window: {type: tumbling, size: 1m}, compute: {c: count()}}
        sinks:
          out: {type: file, path: out.jsonl}
        """))
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["c"] for x in (tmp_path / "out.jsonl").read_text().splitlines()] == [1, 1]
    assert "late=1" in done.stderr


def test_kafka_sink_writes_json_values_with_key_and_headers(kafka_broker, topic_factory, tmp_path):
    from kafka import KafkaConsumer, TopicPartition

    topic = topic_factory(1)
    sink = (f"{{type: kafka, topic: {topic}, bootstrap_servers: '{kafka_broker.bootstrap}', key: 'to_string(id)', "
            "headers: {who: name}, format: json}")
    ran(spec(tmp_path, sink))
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        got, deadline = [], time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                got.extend(records)
    finally:
        consumer.close()
    assert [json.loads(r.value) for r in got] == EXPECTED
    assert [r.key for r in got] == [b"1", b"2", b"3", b"4", b"5"]
    assert [dict(r.headers)["who"] for r in got] == [b"ann", b"bob", b"c, d", b"dan", b"eve"]


def test_reset_removes_the_rotated_files_of_the_previous_run(tmp_path):
    path = spec(tmp_path, "{type: file, path: out.jsonl, rotate: {max_records: 1}}")
    ran(path)
    assert len(rotated(tmp_path, "out", ".jsonl")) == 5
    spec(tmp_path, "{type: file, path: out.jsonl, rotate: {max_records: 1}}", records="[{id: 9}, {id: 8}]")
    ran(path, "--reset")
    files = rotated(tmp_path, "out", ".jsonl")
    assert [p.name for p in files] == ["out.000001.jsonl", "out.000002.jsonl"]
    assert [json.loads(p.read_text()) for p in files] == [{"id": 9}, {"id": 8}]


def test_kafka_sink_csv_values_are_one_row_each(kafka_broker, topic_factory, tmp_path):
    from kafka import KafkaConsumer, TopicPartition

    topic = topic_factory(1)
    ran(spec(tmp_path, f"{{type: kafka, topic: {topic}, bootstrap_servers: '{kafka_broker.bootstrap}', format: csv}}"))
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False)
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        got, deadline = [], time.monotonic() + 20
        while len(got) < 5 and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                got.extend(records)
    finally:
        consumer.close()
    assert [r.value.decode().rstrip("\n") for r in got] == ["1,ann,1.5", "2,bob,2.0", '3,"c, d",', "4,dan,4.25",
                                                          "5,eve,5.0"]
