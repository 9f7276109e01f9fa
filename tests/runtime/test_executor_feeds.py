"""The executor's loop over polled sources (SPEC §3, §6, §9): each poll is a batch through the Scan
lowering and the plan, the checkpoint records the feed's position before the feed hears `committed`,
`--limit` counts over all feeds, undecodable records are source record errors, a stop request ends
the run as `stopped`, an exhausted one-pass feed completes it (ending its stateful inputs), and a
schemaless feed's schema comes from its first batch. `ListFeed` (feed_cases) is a real Feed over a list in memory;
the last test runs a watched folder (the real WatchFeed). Kafka partitions: test_partition_watermarks."""

from __future__ import annotations

import json
import threading
import time

from feed_cases import ListFeed, run_feeds
from runner_cases import events, records, write_spec

from flowc.compiler.lower_plan import RAW_ERROR
from flowc.compiler.normalize import normalize_spec
from flowc.dsl.loader import load_document
from flowc.runtime.events import EventLog
from flowc.runtime.executor import RunOptions, start
from flowc.runtime.lifecycle import fold
from flowc.runtime.run_setup import prepare
from flowc.runtime.sources import feed as feed_contract


def test_the_raw_error_column_is_the_one_the_scan_lowering_reads():
    assert feed_contract.RAW_ERROR == RAW_ERROR


HTTP = """
settings: {batch_size: 2, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
sources:
  api: {type: http, url: "http://127.0.0.1:9/x", interval: 1s, schema: {id: int, amount: float}}
steps:
  - filter: amount > 1
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_each_poll_is_a_checkpointed_batch_and_the_feed_hears_committed_after_the_checkpoint(tmp_path):
    items = [{"id": 1, "amount": 2.5}, "{oops", {"id": "x", "amount": 3}, {"id": 4, "amount": 0.5},
             {"id": 5, "amount": 9}]
    feed = ListFeed(items, tmp_path / ".flow" / "p")
    outcome = run_feeds(write_spec(tmp_path, HTTP), {"api": feed})
    assert (outcome.status, outcome.reason) == ("stopped", "stop requested")
    assert records(tmp_path / "out.jsonl") == [{"id": 1, "amount": 2.5}, {"id": 5, "amount": 9.0}]
    dead = records(tmp_path / "dead.jsonl")
    assert [(d["_error"]["code"], d["_error"]["message"], d["_source"]) for d in dead] == [
        ("parse", "bad json: {oops", {"name": "api", "position": "mem:1"}),
        ("conversion", "field 'id': cannot convert 'x' to int", {"name": "api", "position": "mem:2"})]
    committed = [c for c in feed.calls if c[0] == "committed"]
    assert [c[1] for c in committed] == [{"next": 2}, {"next": 4}, {"next": 5}]
    assert all(c[2] == "checkpoint_saved" and c[3]["api"] == c[1] for c in committed)
    assert feed.calls[0] == ("open", None) and feed.calls[-1] == ("close",)
    counts = events(tmp_path)[-1]["data"]["counts"]
    assert (counts["read"], counts["dead_lettered"], counts["written"]["out"]) == (5, 2, 2)


def test_each_checkpoint_records_the_feed_status_that_flowc_status_shows(tmp_path):
    from flowc.state_view import pipeline_status, status_text

    spec_path = write_spec(tmp_path, HTTP)
    feed = ListFeed([{"id": i, "amount": 5} for i in range(5)], tmp_path / ".flow" / "p")
    run_feeds(spec_path, {"api": feed})
    saved = [e["data"].get("feeds") for e in events(tmp_path) if e["type"] == "checkpoint_saved"]
    assert [s["api"]["pending"] for s in saved if s] == [3, 1, 0]
    document, _ = load_document(str(spec_path))
    view = pipeline_status(normalize_spec(document)[0])
    assert view["feeds"] == {"api": {"pending": 0}}
    assert 'feed api:' in status_text(view) and '{"pending": 0}' in status_text(view)


def test_limit_counts_records_over_all_feeds_and_a_resume_reopens_at_the_checkpoint(tmp_path):
    body = HTTP.replace("  api:", "  other: {type: http, url: \"http://127.0.0.1:9/y\", interval: 1s, "
                                  "schema: {id: int, amount: float}}\n  api:")
    body = body.replace("  - filter: amount > 1", "  - {name: u, union: [api, other]}")
    state = tmp_path / ".flow" / "p"
    api = ListFeed([{"id": i, "amount": i} for i in range(4)], state)
    other = ListFeed([{"id": 10 + i, "amount": i} for i in range(4)], state)
    spec_path = write_spec(tmp_path, body)
    outcome = run_feeds(spec_path, {"api": api, "other": other}, limit=3)
    assert (outcome.status, outcome.reason, outcome.totals.read) == ("stopped", "--limit reached", 3)
    polls = [c[1:] for c in api.calls if c[0] == "poll"], [c[1:] for c in other.calls if c[0] == "poll"]
    assert polls == ([(2, 2)], [(1, 1)])  # round-robin, the second poll capped by the limit
    again = {"api": ListFeed(api.items, state), "other": ListFeed(other.items, state)}
    assert run_feeds(spec_path, again).status == "stopped"
    assert again["api"].calls[0] == ("open", {"next": 2}) and again["other"].calls[0] == ("open", {"next": 1})
    assert sorted(r["id"] for r in records(tmp_path / "out.jsonl")) == [0, 1, 2, 3, 10, 11, 12, 13]


def test_an_exhausted_one_pass_feed_completes_the_run_and_ends_its_aggregate(tmp_path):
    body = """
    settings: {batch_size: 2}
    sources:
      api: {type: http, url: "http://127.0.0.1:9/x", schema: {k: string, v: int}}
    steps:
      - aggregate: {by: [k], compute: {n: count(), total: sum(v)}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    items = [{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}]
    feed = ListFeed(items, tmp_path / ".flow" / "p", bounded=True)
    outcome = run_feeds(write_spec(tmp_path, body), {"api": feed}, stop_when=lambda: False)
    assert outcome.status == "completed"
    assert records(tmp_path / "out.jsonl") == [{"k": "a", "n": 2, "total": 4}, {"k": "b", "n": 1, "total": 2}]


def test_a_schemaless_feed_takes_its_schema_from_its_first_batch_and_records_it(tmp_path):
    body = HTTP.replace(", schema: {id: int, amount: float}", "").replace("amount > 1", "amount > 1.5")
    feed = ListFeed([{"id": 1, "amount": 2}, {"id": 2, "amount": 1}, {"id": 3, "amount": 7}],
                    tmp_path / ".flow" / "p", infer=True)
    assert run_feeds(write_spec(tmp_path, body), {"api": feed}).status == "stopped"
    assert records(tmp_path / "out.jsonl") == [{"amount": 2, "id": 1}, {"amount": 7, "id": 3}]
    compiled = [e for e in events(tmp_path) if e["type"] == "compiled"]
    assert compiled[-1]["data"]["schema"] == {"api": {"amount": "int", "id": "int"}}
    # opened once; the batch polled for the schema is the first one run
    assert [c[0] for c in feed.calls] == ["open", "poll", "committed", "poll", "committed", "close"]


def test_a_watched_folder_runs_until_stopped_and_resumes_without_reading_a_file_twice(tmp_path):
    body = """
    settings: {batch_size: 100, batch_timeout: 100ms}
    sources:
      inbox: {type: file, path: "in/*.jsonl", watch: true, schema: {n: int}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    (tmp_path / "in").mkdir()
    spec_path = write_spec(tmp_path, body)
    out = tmp_path / "out.jsonl"

    def publish(name: str, numbers: range) -> None:
        temp = tmp_path / f"{name}.tmp"
        temp.write_text("".join(json.dumps({"n": n}) + "\n" for n in numbers))
        temp.rename(tmp_path / "in" / name)  # renamed into the folder: complete at once

    def has(count: int):
        deadline = time.monotonic() + 20
        return lambda: time.monotonic() > deadline or (out.exists() and len(out.read_text().splitlines()) >= count)

    publish("a.jsonl", range(0, 150))
    threading.Timer(0.5, publish, ("b.jsonl", range(150, 200))).start()
    document, _ = load_document(str(spec_path))
    spec, _ = normalize_spec(document)
    outcome = start(prepare(spec, document.text), EventLog.open(spec.settings.state_dir),
                    RunOptions(should_stop=has(200)))
    assert outcome.status == "stopped"
    publish("c.jsonl", range(200, 210))
    log = EventLog.open(spec.settings.state_dir)
    outcome = start(prepare(spec, document.text, fold(log.events).schema), log, RunOptions(should_stop=has(210)))
    assert outcome.status == "stopped"
    assert [r["n"] for r in records(out)] == list(range(210))


def _produce(bootstrap: str, topic: str, values: list[dict]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for value in values:
        producer.send(topic, json.dumps(value).encode())
    producer.flush()
    producer.close()


def _consume(bootstrap: str, topic: str, count: int) -> list[dict]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    got, stop = [], time.monotonic() + 20
    while len(got) < count and time.monotonic() < stop:
        for batch in consumer.poll(timeout_ms=300).values():
            got.extend(json.loads(r.value) for r in batch)
    consumer.close()
    return got


def test_kafka_in_kafka_out_runs_until_stopped_and_resumes_at_the_checkpointed_offsets(kafka_broker, topic_factory,
                                                                                         tmp_path):
    source, target = topic_factory(1), topic_factory(1)
    _produce(kafka_broker.bootstrap, source, [{"id": i, "amount": i} for i in range(30)])
    body = f"""
    settings: {{batch_size: 8, batch_timeout: 200ms}}
    sources:
      orders:
        type: kafka
        topic: {source}
        bootstrap_servers: "{kafka_broker.bootstrap}"
        start: earliest
        format: json
        schema: {{id: int, amount: float}}
        options: {{session_timeout_ms: 6000, heartbeat_interval_ms: 1000}}
    steps:
      - filter: amount >= 10
    sinks:
      out: {{type: file, path: out.jsonl}}
      copy: {{type: kafka, from: orders, topic: {target}, bootstrap_servers: "{kafka_broker.bootstrap}"}}
    """
    spec_path = write_spec(tmp_path, body)
    out = tmp_path / "out.jsonl"

    def until(count: int):
        deadline = time.monotonic() + 40
        return lambda: time.monotonic() > deadline or (out.exists() and len(out.read_text().splitlines()) >= count)

    document, _ = load_document(str(spec_path))
    spec, _ = normalize_spec(document)
    first = start(prepare(spec, document.text), EventLog.open(spec.settings.state_dir), RunOptions(should_stop=until(20)))
    assert first.status == "stopped"
    _produce(kafka_broker.bootstrap, source, [{"id": i, "amount": i} for i in range(30, 35)])
    log = EventLog.open(spec.settings.state_dir)
    again = start(prepare(spec, document.text, fold(log.events).schema), log, RunOptions(should_stop=until(25)))
    assert again.status == "stopped"
    written = records(out)
    assert [r["id"] for r in written] == list(range(10, 35))  # nothing twice, nothing lost
    assert {(r["_topic"], r["_partition"]) for r in written} == {(source, 0)} and written[0]["_offset"] == 10
    saved = [e for e in events(tmp_path) if e["type"] == "checkpoint_saved"][-1]["data"]["sources"]["orders"]
    assert saved["offsets"] == {f"{source}:0": 35}
    assert [r["id"] for r in _consume(kafka_broker.bootstrap, target, 35)] == list(range(35))


def test_flowc_run_on_a_watched_folder_stops_on_sigterm_with_exit_130(tmp_path):
    import signal
    import subprocess
    import sys

    body = """
    settings: {batch_timeout: 100ms}
    sources:
      inbox: {type: file, path: "in/*.jsonl", watch: true, schema: {n: int}}
    sinks:
      out: {type: file, path: out.jsonl}
    """
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    spec_path = write_spec(tmp_path, body)
    process = subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec_path), "--quiet"])
    out, deadline = tmp_path / "out.jsonl", time.monotonic() + 30
    while not (out.exists() and len(out.read_text().splitlines()) == 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 130
    assert [r["n"] for r in records(out)] == [1, 2]
    log = events(tmp_path)
    assert log[-1]["type"] == "stopped" and log[-2]["type"] == "checkpoint_saved"
