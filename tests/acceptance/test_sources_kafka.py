"""Acceptance test for SPEC §3's `kafka` source against the real test broker (tests/kafka_broker.py), run
through the `flowc` command: metadata fields, `start: earliest`, formats, and unparsable values."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kafka_helpers import produce

FLOWC = [sys.executable, "-m", "flowc"]


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_kafka_source_fields_formats_and_parse_errors(kafka_broker, topic_factory, tmp_path):
    # Two Kafka feeds polled in turn: the one opened second (j, whose declared schema needs no first
    # batch) used to poll only between the other's polls and never finished joining its group. Neither
    # names a group_id: each gets its own (flowc-p-j, flowc-p-t), where one group for both read nothing.
    json_topic, text_topic = topic_factory(1), topic_factory(1)
    produce(kafka_broker.bootstrap, json_topic, [b'{"id": 1, "s": "a"}', b'{"id": 2, oops', b'{"id": 3, "s": "c"}'],
            keys=[b"k1", b"k2", None])
    produce(kafka_broker.bootstrap, text_topic, [b"hello", b"world"])
    client = "{session.timeout.ms: 6000, heartbeat.interval.ms: 1000}"
    path = tmp_path / "p.flow.yaml"
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(f"""
    settings: {{batch_timeout: 100ms}}
    sources:
      j:
        type: kafka
        topic: {json_topic}
        bootstrap_servers: "{kafka_broker.bootstrap}"
        start: earliest
        format: json
        schema: {{id: int, s: string}}
        options: {client}
      t:
        type: kafka
        topics: [{text_topic}]
        bootstrap_servers: "{kafka_broker.bootstrap}"
        start: earliest
        format: text
        options: {client}
    sinks:
      j_out: {{type: file, path: j.jsonl, from: j}}
      t_out: {{type: file, path: t.jsonl, from: t}}
      bad: {{type: file, path: bad.jsonl, from: j.errors}}
    """))
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 45
        while not (len(lines(tmp_path / "j.jsonl")) >= 2 and len(lines(tmp_path / "t.jsonl")) >= 2
                   and len(lines(tmp_path / "bad.jsonl")) >= 1):
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                _, err = proc.communicate()
                raise AssertionError(f"records did not arrive: {[p.name for p in tmp_path.iterdir()]} "
                                     f"{lines(tmp_path / 'j.jsonl')} {lines(tmp_path / 't.jsonl')} {err}")
            time.sleep(0.1)
        assert proc.poll() is None  # unbounded: still running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    got = lines(tmp_path / "j.jsonl")
    assert [(r["id"], r["s"]) for r in got] == [(1, "a"), (3, "c")]
    first = got[0]
    assert {"_key", "_topic", "_partition", "_offset", "_timestamp"} <= set(first)
    assert (first["_key"], first["_topic"], first["_partition"], first["_offset"]) == ("k1", json_topic, 0, 0)
    assert got[1]["_key"] is None and got[1]["_offset"] == 2
    assert first["_timestamp"][:2] == "20"  # a datetime, written as ISO-8601
    assert [r["line"] for r in lines(tmp_path / "t.jsonl")] == ["hello", "world"]  # text: one record {line}
    status = subprocess.run([*FLOWC, "status", str(path)], capture_output=True, text=True, timeout=30).stdout
    assert '"group_id": "flowc-p-j"' in status and '"group_id": "flowc-p-t"' in status
    [bad] = lines(tmp_path / "bad.jsonl")
    assert "oops" in json.dumps(bad) and bad["_source"]["name"] == "j"
