"""KafkaSinkWriter against a real (Tansu) broker: values, keys and headers, failures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from kafka_broker import free_port

from flowc.compiler.normalize import normalize_spec
from flowc.compiler.validate import validate_path
from flowc.runtime.run_setup import prepare
from flowc.runtime.sinks.kafka_sink import KafkaSinkError, KafkaSinkWriter

RECORDS = [
    '{id: 1, name: ada, ts: "2026-01-02T03:04:05Z", tags: [a, b]}',
    '{id: 2, name: null, ts: "2026-01-02T03:04:06.5Z", tags: []}',
    '{id: 3, name: "c,\\"d\\"", ts: "2026-01-02T03:04:07Z", tags: [c]}',
]


def sink_writer(tmp_path: Path, bootstrap: str, topic: str, extra: str = "") -> tuple[KafkaSinkWriter, pl.DataFrame]:
    """The writer of sink `out` of a spec with an inline source, and that source's records, typed."""
    records = "".join(f"      - {r}\n" for r in RECORDS)
    extra = "".join(f"    {line.strip()}\n" for line in extra.strip().splitlines())
    spec_path = tmp_path / "p.flow.yaml"
    spec_path.write_text("version: 1\npipeline: p\nsources:\n  src:\n    type: inline\n"
                         + "    schema: {id: int, name: string, ts: datetime, tags: list<string>}\n    records:\n" + records
                         + f"sinks:\n  out:\n    type: kafka\n    topic: {topic}\n"
                         + f'    bootstrap_servers: "{bootstrap}"\n' + extra)
    document, problems = validate_path(str(spec_path))
    assert [p for p in problems if p.severity.name == "ERROR"] == []
    spec = normalize_spec(document)[0]
    prepared = prepare(spec, spec_path.read_text())
    assert str(prepared.schemas["src"]) == "{id: int, name: string, ts: datetime, tags: list<string>}"
    typed = pl.DataFrame({"id": [1, 2, 3], "name": ["ada", None, 'c,"d"'],
                          "ts": [datetime(2026, 1, 2, 3, 4, s, us, tzinfo=UTC) for s, us in ((5, 0), (6, 500_000), (7, 0))],
                          "tags": [["a", "b"], [], ["c"]]},
                         schema={"id": pl.Int64, "name": pl.String, "ts": pl.Datetime("us", "UTC"), "tags": pl.List(pl.String)})
    return KafkaSinkWriter(prepared.plan.sinks[0], prepared.plan), typed


def consume(bootstrap: str, topic: str, count: int, deadline: float = 20.0) -> list:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    got, stop = [], time.monotonic() + deadline
    while len(got) < count and time.monotonic() < stop:
        for records in consumer.poll(timeout_ms=300).values():
            got.extend(records)
    consumer.close()
    return got


def test_json_values_with_keys_and_headers(kafka_broker, topic, tmp_path):
    writer, frame = sink_writer(tmp_path, kafka_broker.bootstrap, topic, """
        key: id * 10
        headers: {who: name, when: ts, kind: '"order"'}
        """)
    writer.restore(None)
    writer.write(frame)
    assert writer.durable() == {"records": 3}
    writer.write(frame.head(1))
    assert writer.close() == {"records": 4, "closed": True}
    got = consume(kafka_broker.bootstrap, topic, 4)
    assert [json.loads(r.value) for r in got[:2]] == [
        {"id": 1, "name": "ada", "ts": "2026-01-02T03:04:05.000000Z", "tags": ["a", "b"]},
        {"id": 2, "name": None, "ts": "2026-01-02T03:04:06.500000Z", "tags": []}]
    assert [r.key for r in got] == [b"10", b"20", b"30", b"10"]
    assert dict(got[0].headers) == {"who": b"ada", "when": b"2026-01-02T03:04:05.000000Z", "kind": b"order"}
    assert dict(got[1].headers) == {"when": b"2026-01-02T03:04:06.500000Z", "kind": b"order"}  # null: left out


def test_csv_values_and_no_key(kafka_broker, topic, tmp_path):
    writer, frame = sink_writer(tmp_path, kafka_broker.bootstrap, topic, "format: csv")
    writer.write(frame)
    writer.close()
    got = consume(kafka_broker.bootstrap, topic, 3)
    assert [r.value for r in got] == [b'1,ada,2026-01-02T03:04:05.000000Z,"[""a"",""b""]"',
                                      b"2,,2026-01-02T03:04:06.500000Z,[]",
                                      b'3,"c,""d""",2026-01-02T03:04:07.000000Z,"[""c""]"']
    assert [r.key for r in got] == [None, None, None]


def test_a_failing_key_expression_fails_the_batch(kafka_broker, topic, tmp_path):
    writer, frame = sink_writer(tmp_path, kafka_broker.bootstrap, topic, "key: to_int(name)")
    with pytest.raises(ValueError, match="kafka sink 'out': a key or header expression failed on a record: "
                                         "conversion: cannot convert 'ada' to int"):
        writer.write(frame)
    writer.close()


def test_a_record_the_broker_refuses_fails_durable(kafka_broker, topic, tmp_path):
    writer, frame = sink_writer(tmp_path, kafka_broker.bootstrap, topic, """
        options: {max_request_size: 200}
        retry: {max_attempts: 2, backoff: 10ms}
        """)
    big = frame.with_columns(pl.lit("x" * 500).alias("name"))
    with pytest.raises(KafkaSinkError, match="kafka sink 'out': 1 record\\(s\\) not delivered to topic "
                                             f"'{topic}': MessageSizeTooLargeError"):
        writer.write(big)
        writer.durable()


def test_an_unreachable_broker_and_a_bad_option_are_clear_errors(kafka_broker, topic, tmp_path):
    nowhere = f"127.0.0.1:{free_port()}"
    writer, _ = sink_writer(tmp_path, nowhere, topic, "options: {bootstrap_timeout_ms: 300}")
    with pytest.raises(KafkaSinkError, match=f"kafka sink 'out': cannot reach {nowhere}: .*bootstrap"):
        writer.restore(None)
    writer, _ = sink_writer(tmp_path, kafka_broker.bootstrap, topic, "options: {linger.mss: 3}")
    with pytest.raises(ValueError, match=r"kafka sink 'out': .*linger_mss"):
        writer.restore(None)


def test_a_single_attempt_sends_without_idempotence(kafka_broker, topic, tmp_path):
    """`retry: {max_attempts: 1}` means no producer retries, which kafka-python refuses with idempotence
    on: the run ended in a traceback (third acceptance audit)."""
    writer, frame = sink_writer(tmp_path, kafka_broker.bootstrap, topic, "retry: {max_attempts: 1}")
    writer.restore(None)
    writer.write(frame)
    assert writer.close() == {"records": 3, "closed": True}
    assert len(consume(kafka_broker.bootstrap, topic, 3)) == 3


def test_a_sink_that_cannot_be_opened_fails_the_run_cleanly(tmp_path):
    """A bad client option is found when the sink opens, before the first batch: the run fails with its
    message and records `failed` (it ended in a traceback, and `flowc status` said crashed)."""
    spec = tmp_path / "k.flow.yaml"
    spec.write_text("version: 1\npipeline: k\nsources:\n  s: {type: inline, records: [{id: 1}]}\nsinks:\n"
                    f'  k: {{type: kafka, topic: t, bootstrap_servers: "127.0.0.1:{free_port()}", '
                    "options: {bogus_opt: 1}}\n")
    result = _flowc("run", str(spec))
    assert result.returncode == 1
    assert "error: run failed: kafka sink 'k': Unrecognized configs: {'bogus_opt': 1}" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(_flowc("status", "--format", "json", str(spec)).stdout)["status"] == "failed"


def test_a_source_that_cannot_be_opened_is_a_clear_error(tmp_path):
    """A schemaless Kafka source is opened before the run, to infer its schema from its first poll: a bad
    client option there ended in a traceback (third acceptance audit)."""
    spec = tmp_path / "k.flow.yaml"
    spec.write_text("version: 1\npipeline: ks\nsources:\n"
                    f'  s: {{type: kafka, topic: t, bootstrap_servers: "127.0.0.1:{free_port()}", '
                    "options: {bogus_opt: 1}}\nsinks:\n  o: {type: file, path: o.jsonl}\n")
    result = _flowc("run", str(spec))
    assert result.returncode == 1
    assert "error: kafka source 's': KafkaConfigurationError: Unrecognized configs: {'bogus_opt'}" in result.stderr
    assert "Traceback" not in result.stderr


def _flowc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], capture_output=True, text=True, timeout=120)


def test_a_failed_runs_summary_counts_only_what_was_made_durable(kafka_broker, topic, tmp_path):
    """The key expression fails on the second record: nothing reaches the topic and no batch is
    committed, so the summary says written k=0 (it said 2)."""
    spec = tmp_path / "k.flow.yaml"
    spec.write_text("version: 1\npipeline: k\nsources:\n  s: {type: inline, records: [{name: '1'}, {name: abc}]}\n"
                    f'sinks:\n  k: {{type: kafka, topic: {topic}, bootstrap_servers: "{kafka_broker.bootstrap}", '
                    "key: to_int(name)}\n")
    result = _flowc("run", str(spec))
    assert result.returncode == 1, result.stderr
    assert "run failed" in result.stderr and "0 batches: read=0, written k=0" in result.stderr
