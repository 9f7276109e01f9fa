"""`flowc run` on Kafka sources and sinks, as subprocesses against the test broker (SPEC §3, §7, §9).

Stop conditions are record counts, never the broker's high watermark (Tansu reports it wrongly).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka_helpers import produce

SPEC = """\
version: 1
pipeline: kp
settings:
  batch_size: {batch_size}
  batch_timeout: 200ms
  on_error: dead_letter
  dead_letter: {{type: file, path: out/errors.jsonl}}
sources:
  orders:
    type: kafka
    topic: {topic}
    bootstrap_servers: "{bootstrap}"
    group_id: {group}
    schema: {{id: int, status: string, amount: float}}
    options: {{session.timeout.ms: {session}, heartbeat.interval.ms: {heartbeat}}}
steps:
  - filter: status == "paid"
  - map:
      total: amount * 2
sinks:
{sinks}
"""

FILE_SINK = "  out:\n    type: file\n    path: out/paid.jsonl\n"


def kafka_sink(topic: str, bootstrap: str) -> str:
    return f'  out:\n    type: kafka\n    topic: {topic}\n    bootstrap_servers: "{bootstrap}"\n    key: id\n'


def write_spec(folder: Path, bootstrap: str, topic: str, *, sinks: str = FILE_SINK, group: str = "kp",
               batch_size: int = 2000, session: int = 2000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "kp.flow.yaml"
    spec.write_text(SPEC.format(batch_size=batch_size, topic=topic, bootstrap=bootstrap, group=group,
                                session=session, heartbeat=session // 5, sinks=sinks))
    return spec


def orders(start: int, count: int) -> list[bytes]:
    """Every third order is not paid; ids are unique across calls with distinct ranges."""
    return [json.dumps({"id": i, "status": "new" if i % 3 == 0 else "paid", "amount": i / 4}).encode()
            for i in range(start, start + count)]


def paid(start: int, count: int) -> list[int]:
    return [i for i in range(start, start + count) if i % 3]


def start_run(spec: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec), "--quiet", *args], cwd=spec.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def wait_for(condition, process: subprocess.Popen | None = None, deadline: float = 60.0) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if condition():
            return
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"flowc run exited with {process.returncode} early:\n{out}\n{err}")
        time.sleep(0.1)
    pytest.fail("condition not reached in time")


def event_types(spec: Path) -> list[str]:
    log = spec.parent / ".flow" / "kp" / "events.log"
    return [json.loads(line)["type"] for line in log.read_text().splitlines()] if log.exists() else []


def run_starts(spec: Path) -> list[int]:
    """The positions of the `run_started` events in the spec's event log."""
    return [i for i, kind in enumerate(event_types(spec)) if kind == "run_started"]


def checkpointed(spec: Path, run: int = 1) -> bool:
    """The `run`-th run of the spec has started and saved a checkpoint (so it restored its sinks and
    handles signals). Counting runs matters: a run just launched has not yet logged `run_started`, and
    the previous run's checkpoint must not pass for its own. A run killed before it logged its start
    does not count: take `run` as `len(run_starts(spec)) + 1` just before launching."""
    types = event_types(spec)
    starts = [i for i, kind in enumerate(types) if kind == "run_started"]
    return len(starts) >= run and "checkpoint_saved" in types[starts[run - 1]:]


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return process.returncode, out + err


def test_sigterm_then_resume_loses_and_duplicates_nothing(kafka_broker, topic_factory, tmp_path):
    topic = topic_factory(2)
    spec = write_spec(tmp_path, kafka_broker.bootstrap, topic)
    produce(kafka_broker.bootstrap, topic, orders(0, 12_000), partitions=2)
    output = tmp_path / "out" / "paid.jsonl"
    first = start_run(spec)
    wait_for(lambda: checkpointed(spec) and len(lines(output)) >= 2000, first)
    code, text = stop(first)
    assert code == 130, text
    before = len(lines(output))
    produce(kafka_broker.bootstrap, topic, orders(12_000, 4_000), partitions=2)
    second = start_run(spec)
    wait_for(lambda: checkpointed(spec, run=2) and len(lines(output)) >= len(paid(0, 16_000)), second)
    time.sleep(0.5)  # a duplicate would arrive right after the last expected record
    code, text = stop(second)
    assert code == 130, text
    ids = [r["id"] for r in lines(output)]
    assert before < len(paid(0, 16_000))
    assert sorted(ids) == paid(0, 16_000)  # exactly once: no loss, no duplicate
    assert lines(output)[0]["total"] == lines(output)[0]["amount"] * 2


def test_sigkill_then_resume_is_exactly_once_into_a_file(kafka_broker, topic_factory, tmp_path):
    topic = topic_factory(2)
    spec = write_spec(tmp_path, kafka_broker.bootstrap, topic, batch_size=1000)
    produce(kafka_broker.bootstrap, topic, orders(0, 12_000), partitions=2)
    output = tmp_path / "out" / "paid.jsonl"
    for at_least in (1500, 4000):  # killed twice mid-run, between or inside batches
        run = start_run(spec)
        wait_for(lambda n=at_least: len(lines(output)) >= n, run)
        stop(run, signal.SIGKILL)
    run_number = len(run_starts(spec)) + 1  # a killed run may not have logged its start
    last = start_run(spec)
    # more input, so the last run checkpoints even when the killed ones had read everything
    produce(kafka_broker.bootstrap, topic, orders(12_000, 1000), partitions=2)
    wait_for(lambda: checkpointed(spec, run=run_number) and len(lines(output)) >= len(paid(0, 13_000)), last)
    time.sleep(0.5)
    code, text = stop(last)
    assert code == 130, text
    assert sorted(r["id"] for r in lines(output)) == paid(0, 13_000)


def test_kafka_to_kafka_after_sigkill_is_at_least_once(kafka_broker, topic_factory, tmp_path):
    source, target = topic_factory(2), topic_factory(1)
    spec = write_spec(tmp_path, kafka_broker.bootstrap, source, sinks=kafka_sink(target, kafka_broker.bootstrap),
                      batch_size=1000)
    produce(kafka_broker.bootstrap, source, orders(0, 10_000), partitions=2)
    run = start_run(spec)
    wait_for(lambda: len(read_topic(kafka_broker.bootstrap, target, timeout=0.2)) >= 3000, run)
    stop(run, signal.SIGKILL)
    run_number = len(run_starts(spec)) + 1
    run = start_run(spec)
    produce(kafka_broker.bootstrap, source, orders(10_000, 1000), partitions=2)  # so the run checkpoints
    expected = set(paid(0, 11_000))
    wait_for(lambda: checkpointed(spec, run=run_number)
             and expected <= {r["id"] for r in read_topic(kafka_broker.bootstrap, target, timeout=0.2)}, run)
    code, text = stop(run)
    assert code == 130, text
    got = read_topic(kafka_broker.bootstrap, target, timeout=1.0)
    counts = Counter(r["id"] for r in got)
    assert set(counts) == expected
    assert sum(counts.values()) - len(expected) <= 2 * 1000  # duplicates: at most the killed run's last batches


def read_topic(bootstrap: str, topic: str, timeout: float) -> list[dict]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    got, idle = [], time.monotonic() + timeout
    while time.monotonic() < idle:
        for records in consumer.poll(timeout_ms=100).values():
            got.extend(json.loads(r.value) for r in records)
            idle = time.monotonic() + timeout
    consumer.close()
    return got


def test_processes_of_one_group_share_partitions_and_survive_a_kill(kafka_broker, topic_factory, tmp_path):
    """Three `flowc run`s, one group, 4 partitions; one is SIGKILLed: together every record at least once."""
    topic = topic_factory(4)
    specs = [write_spec(tmp_path / f"p{i}", kafka_broker.bootstrap, topic, group="shared", batch_size=500,
                        session=3000) for i in range(3)]
    produce(kafka_broker.bootstrap, topic, orders(0, 12_000), partitions=4)
    runs = [start_run(spec) for spec in specs]
    outputs = [spec.parent / "out" / "paid.jsonl" for spec in specs]
    wait_for(lambda: sum(len(lines(o)) > 0 for o in outputs) >= 2, runs[0])  # the partitions are shared
    stop(runs[0], signal.SIGKILL)
    produce(kafka_broker.bootstrap, topic, orders(12_000, 8_000), partitions=4)
    expected = set(paid(0, 20_000))
    wait_for(lambda: all(checkpointed(spec) for spec in specs[1:])
             and expected <= {r["id"] for o in outputs for r in lines(o)}, runs[1], deadline=90)
    for run in runs[1:]:
        code, text = stop(run)
        assert code == 130, text
    counts = Counter(r["id"] for o in outputs for r in lines(o))
    assert set(counts) == expected
    assert sum(counts.values()) - len(expected) <= 2 * 500 * 2  # only uncommitted batches come twice


def test_two_processes_with_a_dedupe_on_the_key_write_each_key_once(kafka_broker, topic_factory, tmp_path):
    """Every order is sent twice, both copies to one partition (so one process reads both, as keyed
    partitioning does); with `dedupe` on the key per process, the union of the processes' files has each
    id once.
    Input is produced after both have joined, so no partition moves with records in flight."""
    topic = topic_factory(2)
    dedupe_spec = "  - dedupe: {key: [id], within: 1d}\n"
    specs = []
    for i in range(2):
        spec = write_spec(tmp_path / f"d{i}", kafka_broker.bootstrap, topic, group="dedupers", batch_size=500,
                          session=3000)
        spec.write_text(spec.read_text().replace("steps:\n", "steps:\n" + dedupe_spec))
        specs.append(spec)
    runs = [start_run(spec) for spec in specs]
    time.sleep(8)  # both join (about half the session timeout each) and the group settles
    values = orders(0, 6000)
    produce(kafka_broker.bootstrap, topic, values + values, partitions=2,
            keys=[str(i).encode() for i in range(6000)] * 2)
    outputs = [spec.parent / "out" / "paid.jsonl" for spec in specs]
    expected = paid(0, 6000)
    wait_for(lambda: sum(len(lines(o)) for o in outputs) >= len(expected), runs[0])
    time.sleep(1.0)
    for run in runs:
        code, text = stop(run)
        assert code == 130, text
    per_process = [[r["id"] for r in lines(o)] for o in outputs]
    assert all(per_process), "both processes took part"
    assert sorted(per_process[0] + per_process[1]) == expected


WINDOWED = """\
version: 1
pipeline: kp
settings: {{batch_timeout: 200ms}}
sources:
  clicks:
    type: kafka
    topic: {topic}
    bootstrap_servers: "{bootstrap}"
    schema: {{id: int, ts: datetime}}
    event_time: {{field: ts, max_out_of_orderness: 0s}}
    options: {{session.timeout.ms: 2000, heartbeat.interval.ms: 400}}
steps:
  - name: per_10s
    aggregate: {{window: {{type: tumbling, size: 10s}}, compute: {{n: count(), ids: sum(id)}}}}
sinks:
  out: {{type: file, path: out/windows.jsonl}}
  late: {{type: file, from: per_10s.late, path: out/late.jsonl}}
"""


def clicks(ids: range) -> list[bytes]:
    """Record `i` at `i` seconds past midnight."""
    return [json.dumps({"id": i, "ts": f"2026-01-01T00:00:{i:02d}Z"}).encode() for i in ids]


def produce_to(bootstrap: str, topic: str, partition: int, values: list[bytes]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for value in values:
        producer.send(topic, value=value, partition=partition)
    producer.flush()
    producer.close()


def read_records(spec: Path) -> int:
    log = spec.parent / ".flow" / "kp" / "events.log"
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return sum(e["data"]["counts"]["read"] for e in events if e["type"] == "batch_committed")


def test_a_window_waits_for_every_partition_and_is_emitted_once(kafka_broker, topic_factory, tmp_path):
    """SPEC §4 over a real 2-partition topic: partition 0 runs to 00:00:24 while partition 1 is empty,
    so no window closes (partition 1 holds the watermark); once partition 1 delivers, each window is
    emitted once with both partitions' records, and none is late."""
    topic = topic_factory(2)
    spec = tmp_path / "kp.flow.yaml"
    spec.write_text(WINDOWED.format(topic=topic, bootstrap=kafka_broker.bootstrap))
    produce_to(kafka_broker.bootstrap, topic, 0, clicks(range(0, 26, 2)))  # even seconds
    run = start_run(spec)
    wait_for(lambda: read_records(spec) >= 13, run)
    time.sleep(1.0)  # more polls, empty: still nothing may close
    output = tmp_path / "out" / "windows.jsonl"
    assert lines(output) == []
    produce_to(kafka_broker.bootstrap, topic, 1, clicks(range(1, 26, 2)))  # odd seconds
    wait_for(lambda: len(lines(output)) >= 2, run)
    time.sleep(0.5)  # a second emission of a window would come right after
    code, text = stop(run)
    assert code == 130, text
    assert [(w["window_start"][11:19], w["n"], w["ids"]) for w in lines(output)] == [
        ("00:00:00", 10, sum(range(10))), ("00:00:10", 10, sum(range(10, 20)))]
    assert lines(tmp_path / "out" / "late.jsonl") == []
