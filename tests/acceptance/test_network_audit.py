"""Audit of SPEC §3's `kafka` and `http` sources, §7's `kafka` and `console` sinks and §9/§10's run
states against a real broker (tests/kafka_broker.py) and a real HTTP server on 127.0.0.1, all through
the `flowc` command: the edges the other acceptance tests leave out."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from acceptance_cli import FLOWC, flowc
from http_server import Reply, Request, ScriptedServer

SOLO = "{session.timeout.ms: 2000, heartbeat.interval.ms: 400}"  # one member: a quick group join


def write_spec(folder: Path, body: str) -> Path:
    """A spec whose pipeline, and so its default Kafka group, is its own: a member another test left in a
    shared group (killed, or stopped while joining) holds every join of that group for its session."""
    path = folder / "p.flow.yaml"
    path.write_text(f"version: 1\npipeline: p-{uuid.uuid4().hex[:10]}\n" + textwrap.dedent(body))
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def status_of(spec: Path) -> dict:
    return json.loads(flowc("status", "--format", "json", str(spec)).stdout)


def run_until(spec: Path, done: Callable[[], bool], *, deadline: float = 40.0) -> subprocess.CompletedProcess:
    """`flowc run` of an unbounded spec until `done()`, then SIGTERM: the finished process."""
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + deadline
        while not done():
            if time.monotonic() > end or proc.poll() is not None:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"not done within {deadline} s (exit {proc.returncode}): {err}")
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- http ---


def test_a_source_without_schema_failing_its_first_request_leaves_a_failed_run(tmp_path):
    """The first poll of a schemaless feed (its schema comes from it) failed before anything was written
    to the event log: `flowc status` said `created` after a run that had said `run started` and failed."""
    with ScriptedServer() as server:
        server.route("/gone", lambda r: Reply(404, {"error": "no such list"}))
        spec = write_spec(tmp_path, f"""
        sources:
          api: {{type: http, url: "{server.url('/gone')}"}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        result = flowc("run", str(spec))
    assert result.returncode == 1
    assert "404 Not Found" in result.stderr and "no such list" in result.stderr
    status = status_of(spec)
    assert status["status"] == "failed" and "404" in status["reason"], status
    events = [e["type"] for e in map(json.loads, flowc("events", str(spec)).stdout.splitlines())]
    assert events[-2:] == ["run_started", "failed"]


def test_a_newest_first_api_delivers_its_whole_first_pass_and_then_only_new_records(tmp_path):
    """SPEC §3: records are dropped below the cursor of a committed checkpoint. Records of one pass were
    filtered against the largest value seen so far, so an API listing newest first gave one record."""
    data = [{"id": i, "ts": 10 * i} for i in range(1, 6)]

    def newest_first(request: Request) -> Reply:
        since = request.query.get("since")
        return Reply(body=[r for r in reversed(data) if since is None or r["ts"] >= int(since)])

    with ScriptedServer() as server:
        server.route("/events", newest_first)
        spec = write_spec(tmp_path, f"""
        settings: {{batch_timeout: 100ms}}
        sources:
          api:
            type: http
            url: "{server.url('/events')}"
            interval: 200ms
            cursor_field: ts
            cursor_param: since
            id_field: id
            schema: {{id: int, ts: int}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        out = tmp_path / "out.jsonl"
        run_until(spec, lambda: len(lines(out)) >= 5 and len(server.requests) >= 3)
        assert sorted(r["id"] for r in lines(out)) == [1, 2, 3, 4, 5]
        data.extend([{"id": 7, "ts": 50}, {"id": 6, "ts": 60}])  # one more at the cursor's value, one above
        result = run_until(spec, lambda: len(lines(out)) >= 7 and len(server.requests) >= 6)
        assert result.returncode == 130
        assert server.requests[-1].query.get("since") == "60"
    assert sorted(r["id"] for r in lines(out)) == [1, 2, 3, 4, 5, 6, 7]


def test_an_http_first_page_of_only_bad_elements_does_not_freeze_an_empty_schema(tmp_path):
    """Without a schema, SPEC §3 infers one from the first batch. A first page whose elements were all
    record errors (not objects) froze an empty schema: every later record was written as `{}`."""
    pages = {"1": [7, "x"], "2": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    with ScriptedServer() as server:
        server.route("/p", lambda r: Reply(body=pages.get(r.query.get("page", "1"), [])))
        spec = write_spec(tmp_path, f"""
        settings: {{on_error: skip}}
        sources:
          api: {{type: http, url: "{server.url('/p')}", pagination: {{type: page, param: page}}}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        result = flowc("run", str(spec))
    assert result.returncode == 0, result.stderr
    assert lines(tmp_path / "out.jsonl") == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert status_of(spec)["totals"]["skipped"] == 2


# --- kafka ---


def test_a_kafka_csv_source_without_schema_is_a_validation_error(tmp_path):
    """Its rows have no header: only a schema names their fields. The run used to start and fail at the
    first message ('a kafka source with format csv needs a `schema`'), naming no source."""
    spec = write_spec(tmp_path, """
    sources:
      orders: {type: kafka, topic: o, bootstrap_servers: "127.0.0.1:9", format: csv}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    result = flowc("validate", str(spec))
    assert result.returncode == 1
    assert "error[E402]: missing required key 'schema' in source 'orders'" in result.stdout + result.stderr
    assert flowc("run", str(spec)).returncode == 1


def _producer(bootstrap: str):
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)


def test_start_latest_skips_what_the_topic_held_and_reads_what_comes_after(kafka_broker, topic_factory, tmp_path):
    """SPEC §3 `start: latest` with a group that has no committed offset. The client's reset asks the
    broker for the end, which the test broker answers wrongly after a batched produce (the last batch's
    first offset + 1): the records already in the topic were read, all but the first of each batch."""
    topic = topic_factory(2)
    before = _producer(kafka_broker.bootstrap)
    for i in range(10):
        before.send(topic, json.dumps({"id": i}).encode(), partition=i % 2)
    before.flush()
    before.close()
    spec = write_spec(tmp_path, f"""
    settings: {{batch_timeout: 100ms}}
    sources:
      k:
        type: kafka
        topic: {topic}
        bootstrap_servers: "{kafka_broker.bootstrap}"
        start: latest
        schema: {{id: int}}
        options: {SOLO}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    out = tmp_path / "out.jsonl"
    after = _producer(kafka_broker.bootstrap)
    sent = []

    def more_until_read() -> bool:
        """New records, in batches of three, until the run has written some; the first ones only once
        the run has surely joined its group (about a second), so the topic's end is then the batch's."""
        if not sent:
            time.sleep(6)
        for _ in range(3):
            sent.append(100 + len(sent))
            after.send(topic, json.dumps({"id": sent[-1]}).encode(), partition=len(sent) % 2)
        after.flush()
        time.sleep(0.3)
        return len(lines(out)) >= 3

    try:
        result = run_until(spec, more_until_read)
    finally:
        after.close()
    assert result.returncode == 130, result.stderr
    got = [r["id"] for r in lines(out)]
    assert got and all(i >= 100 for i in got), got  # nothing the topic held before the run
    assert sorted(got) == sorted(set(got))
    # records sent while no run is going are read by the next one, which resumes from the checkpoint
    later = _producer(kafka_broker.bootstrap)
    for i in range(200, 204):
        later.send(topic, json.dumps({"id": i}).encode(), partition=i % 2)
    later.flush()
    later.close()
    run_until(spec, lambda: {200, 201, 202, 203} <= {r["id"] for r in lines(out)}, deadline=30)
    ids = [r["id"] for r in lines(out)]
    assert ids[:len(got)] == got and sorted(ids) == sorted(set(ids)) and min(ids) >= 100


def test_client_options_that_the_source_sets_itself_are_clear_errors(tmp_path):
    """`options` reach the client as they are; one the source passes itself failed with a TypeError
    traceback ('got multiple values for keyword argument'), and auto-commit would break SPEC §3."""
    for option, hint in (("auto.offset.reset: latest", "`start`"), ("enable.auto.commit: true", "commits offsets")):
        spec = write_spec(tmp_path, f"""
        sources:
          k: {{type: kafka, topic: t, bootstrap_servers: "127.0.0.1:9", schema: {{id: int}}, options: {{{option}}}}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        result = flowc("run", str(spec))
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"kafka source 'k': option '{option.split(':')[0]}'" in result.stderr and hint in result.stderr


def test_flowc_test_of_a_pipeline_reading_kafka_metadata_fields(tmp_path):
    """SPEC §8 replaces each source with a test's records; a Kafka source's replacement lost `_key` and the
    other metadata fields, so a pipeline reading them failed every test with 'unknown field'."""
    spec = write_spec(tmp_path, """
    sources:
      k: {type: kafka, topic: x, bootstrap_servers: "127.0.0.1:9", schema: {id: int}}
      raw: {type: kafka, topic: y, bootstrap_servers: "127.0.0.1:9"}
    steps:
      - from: k
        filter: _key == "a" and _partition >= 0
      - map: {tagged: _key + "-" + _topic}
    sinks:
      out: {type: file, path: out.jsonl}
      raw_out: {type: file, path: raw.jsonl, from: raw}
    tests:
      - name: metadata fields
        inputs:
          k: [{id: 1, _key: a, _partition: 0, _topic: x}, {id: 2, _key: b, _partition: 1}]
          raw: [{v: 1}]
        expect:
          out: [{id: 1, tagged: a-x, _offset: null}]
          raw_out: [{v: 1, _key: null}]
    """)
    result = flowc("test", str(spec))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_sigterm_while_the_group_join_is_under_way_stops_at_once(kafka_broker, topic_factory, tmp_path):
    """SPEC §10: SIGTERM stops the run (exit 130). A Kafka source polls without a break until its group
    join ends (up to 30 s), and did not look at stop requests meanwhile: with a 20 s session the join
    takes ~10 s on the test broker, and so did the stop."""
    topic = topic_factory(1)
    spec = write_spec(tmp_path, f"""
    sources:
      k:
        type: kafka
        topic: {topic}
        bootstrap_servers: "{kafka_broker.bootstrap}"
        schema: {{id: int}}
        options: {{session.timeout.ms: 20000, heartbeat.interval.ms: 3000}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(3.5)  # compiled and joining (a join ends about half a session after it began)
        proc.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        assert proc.wait(timeout=30) == 130, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() - asked < 4.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status_of(spec)["status"] == "stopped"


def _down_spec(folder: Path, port: int, extra: str = "") -> Path:
    return write_spec(folder, f"""
    sources:
      k:
        type: kafka
        topic: t
        bootstrap_servers: "127.0.0.1:{port}"
        schema: {{id: int}}
        options: {{bootstrap_timeout_ms: 1500{extra}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)


def test_a_broker_down_at_start_fails_clearly_and_sigterm_meanwhile_stops_the_run(tmp_path):
    """A broker down: exit 1 after `bootstrap_timeout_ms`, naming the server, and the run `failed`. SIGTERM
    while waiting for it ended the same way, 30 s later (the client's wait), rather than in exit 130."""
    from kafka_broker import free_port

    port = free_port()
    (tmp_path / "a").mkdir()
    spec = _down_spec(tmp_path / "a", port)
    began = time.monotonic()
    result = flowc("run", str(spec))
    assert result.returncode == 1 and time.monotonic() - began < 15
    assert f"kafka source 'k': cannot reach 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert status_of(spec)["status"] == "failed"
    (tmp_path / "b").mkdir()
    spec = _down_spec(tmp_path / "b", port, ", session.timeout.ms: 2000")
    spec.write_text(spec.read_text().replace("bootstrap_timeout_ms: 1500", "bootstrap_timeout_ms: 60000"))
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        assert proc.wait(timeout=60) == 130 and time.monotonic() - asked < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert status_of(spec)["status"] == "stopped"


def test_a_first_batch_of_only_malformed_messages_neither_hides_them_nor_the_fields_after(kafka_broker, topic_factory,
                                                                                         tmp_path):
    """Without a schema, SPEC §3 infers one from the first batch. A first batch of one malformed message
    inferred no field: Polars read any text against that empty schema, so the message was written as a
    record (no error, not counted), and the empty schema, frozen, dropped `id` from every later record."""
    topic = topic_factory(1)
    before = _producer(kafka_broker.bootstrap)
    before.send(topic, b'{"id": 1, oops')
    before.flush()
    spec = write_spec(tmp_path, f"""
    settings:
      batch_timeout: 100ms
      on_error: dead_letter
      dead_letter: {{type: file, path: dead.jsonl}}
    sources:
      k: {{type: kafka, topic: {topic}, bootstrap_servers: "{kafka_broker.bootstrap}", options: {SOLO}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    sent = []

    def good_ones_later() -> bool:
        if not sent:
            time.sleep(3.5)  # joined and holding the bad message by now (a join takes about a second)
            for i in (2, 3):
                before.send(topic, json.dumps({"id": i}).encode())
            before.flush()
            sent.append(True)
        return len(lines(out)) >= 2 and len(lines(dead)) >= 1

    try:
        result = run_until(spec, good_ones_later)
    finally:
        before.close()
    assert result.returncode == 130
    assert [r["id"] for r in lines(out)] == [2, 3]
    [bad] = lines(dead)
    assert bad["_error"]["code"] == "parse" and "oops" in bad["_error"]["message"]
    assert bad["_source"]["position"] == f"{topic}:0@0"


def test_reset_reads_a_kafka_topic_again_from_start(kafka_broker, topic_factory, tmp_path):
    """SPEC §10: `--reset` starts over; it removes the file sink's output, then read on from the group's
    committed offsets, so the output of a reset run lacked every record read before it."""
    topic = topic_factory(1)
    producer = _producer(kafka_broker.bootstrap)
    for i in range(4):
        producer.send(topic, json.dumps({"id": i}).encode())
    producer.flush()
    producer.close()
    spec = write_spec(tmp_path, f"""
    settings: {{batch_timeout: 100ms}}
    sources:
      k: {{type: kafka, topic: {topic}, bootstrap_servers: "{kafka_broker.bootstrap}", schema: {{id: int}}, options: {SOLO}}}
    sinks:
      out: {{type: file, path: out.jsonl}}
    """)
    out = tmp_path / "out.jsonl"
    assert run_until(spec, lambda: len(lines(out)) >= 4).returncode == 130
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", "--reset", str(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 30

        def reset_and_read() -> bool:  # the reset (which removes out.jsonl first) logged, then the records
            log = next(tmp_path.glob(".flow/*/events.log"), None)
            return log is not None and '"type":"reset"' in log.read_text() and len(lines(out)) >= 4

        while not reset_and_read() and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [r["id"] for r in lines(out)] == [0, 1, 2, 3]
