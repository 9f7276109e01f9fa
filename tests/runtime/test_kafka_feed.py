"""KafkaFeed against a real (Tansu) broker: records, metadata, bad messages, positions, resuming."""

from __future__ import annotations

import json
import time
import uuid

import polars as pl
import pytest
from kafka_broker import FAST_GROUP
from kafka_helpers import json_values, kafka_source, poll_idle, poll_until, produce

from flowc.compiler.lower_plan import ROW
from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.kafka import KafkaFeed


def group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


def open_feed(source, position=None) -> KafkaFeed:
    feed = KafkaFeed(source, "pipe")
    feed.open(position)
    return feed


def test_reads_every_record_with_metadata_rows_and_positions(kafka_broker, topic_factory):
    topic = topic_factory(2)
    produce(kafka_broker.bootstrap, topic, json_values(300), partitions=2)
    feed = open_feed(kafka_source(kafka_broker.bootstrap, topic, group_id=group()))
    try:
        frame = poll_until(feed, 300, max_records=120)
        assert sorted(frame["id"].to_list(), key=int) == [str(i) for i in range(300)]  # raw: scalars as strings
        assert frame.schema["_partition"] == pl.Int64 and frame.schema["_offset"] == pl.Int64
        assert frame.schema["_timestamp"] == pl.Datetime("us", "UTC") and frame["_timestamp"].null_count() == 0
        assert frame[ROW].to_list() == list(range(300))
        assert frame[RAW_ERROR].null_count() == 300
        assert set(frame["_topic"]) == {topic}
        one = frame.filter(pl.col("id") == "7").row(0, named=True)
        assert one["_key"] == "7" and one["_partition"] == 1 and one["_offset"] == 3
        assert feed.position() == {"offsets": {f"{topic}:0": 150, f"{topic}:1": 150}, "rows": 300}
        # positions() names records of the most recent batch only
        last = frame.tail(3)
        shown = last.select(feed.positions(pl.col(ROW)).alias("p"))["p"].to_list()
        expected = [f"{topic}:{p}@{o}" for p, o in zip(last["_partition"], last["_offset"], strict=True)]
        assert shown == expected
        assert frame.head(1).select(feed.positions(pl.col(ROW)))[ROW].to_list() == [None]
        status = feed.status()
        assert status["group_id"].startswith("g-") and set(status["partitions"]) == {f"{topic}:0", f"{topic}:1"}
        assert status["partitions"][f"{topic}:0"]["position"] == 150
    finally:
        feed.close()


def test_a_bad_message_is_an_error_row_and_takes_nothing_else(kafka_broker, topic):
    values = [b'{"id": 1}', b"{not json", b"[1, 2]", b'{"id": 2}', b"\xff\xfe{", None,
              b'{\n  "id": 3\n}', b"", b'{"id": "x", "tags": "not a list"}']
    produce(kafka_broker.bootstrap, topic, values)
    schema = Struct((("id", t.INT), ("tags", ListOf(t.STRING))))
    feed = open_feed(kafka_source(kafka_broker.bootstrap, topic, schema=schema, group_id=group()))
    try:
        frame = poll_until(feed, len(values))
    finally:
        feed.close()
    assert frame["id"].to_list() == ["1", None, None, "2", None, None, "3", None, None]
    errors = frame[RAW_ERROR].to_list()
    assert [e is not None for e in errors] == [False, True, True, False, True, False, False, True, True]
    assert errors[1].startswith("json: ") and errors[1].endswith(": {not json")
    assert errors[2] == "json: expected an object, found list: [1, 2]"
    assert "not UTF-8" in errors[4] and errors[4].endswith(r"\xff\xfe{")
    assert errors[8].startswith("json: does not fit the schema {id: String, tags: List(String)}")
    assert frame["_offset"].to_list() == list(range(len(values)))  # metadata kept on error rows


def test_resume_continues_exactly_after_the_committed_position(kafka_broker, topic_factory):
    topic = topic_factory(2)
    produce(kafka_broker.bootstrap, topic, json_values(1000), partitions=2)
    source = kafka_source(kafka_broker.bootstrap, topic, group_id=group())
    feed = open_feed(source)
    first = poll_until(feed, 600, max_records=200)
    position = feed.position()
    feed.committed(position)
    feed.close()
    again = open_feed(source, position)
    try:
        rest = poll_until(again, 400, max_records=200)
        assert poll_idle(again, 1.5) == 0
    finally:
        again.close()
    ids = first["id"].to_list() + rest["id"].to_list()
    assert sorted(ids, key=int) == [str(i) for i in range(1000)]  # no loss, no duplicate
    assert rest[ROW].to_list() == list(range(600, 1000))


def test_the_checkpoint_wins_over_a_group_offset_that_lags_it(kafka_broker, topic):
    produce(kafka_broker.bootstrap, topic, json_values(500))
    source = kafka_source(kafka_broker.bootstrap, topic, group_id=group())
    feed = open_feed(source)
    poll_until(feed, 100)
    feed.committed(feed.position())  # the group is at 100
    poll_until(feed, 200)
    checkpoint = feed.position()  # a crash after the checkpoint, before its commit
    feed.close()
    again = open_feed(source, checkpoint)
    try:
        rest = poll_until(again, 200)
    finally:
        again.close()
    assert rest["_offset"].to_list() == list(range(300, 500))


def test_a_group_offset_ahead_of_the_checkpoint_wins(kafka_broker, topic):
    produce(kafka_broker.bootstrap, topic, json_values(500))
    source = kafka_source(kafka_broker.bootstrap, topic, group_id=group())
    feed = open_feed(source)
    poll_until(feed, 100)
    old = feed.position()  # this process's checkpoint; another member then processes up to 400
    poll_until(feed, 300)
    feed.committed(feed.position())
    feed.close()
    again = open_feed(source, old)
    try:
        rest = poll_until(again, 100)
        assert again.position()["offsets"] == {f"{topic}:0": 500}
    finally:
        again.close()
    assert rest["_offset"].to_list() == list(range(400, 500))


def test_polling_commits_nothing_until_committed_is_called(kafka_broker, topic):
    produce(kafka_broker.bootstrap, topic, json_values(50))
    source = kafka_source(kafka_broker.bootstrap, topic, group_id=group())
    feed = open_feed(source)
    poll_until(feed, 50)
    feed.close()
    again = open_feed(source)  # no checkpoint: the group offset, which nothing committed
    try:
        assert poll_until(again, 50)["_offset"].to_list() == list(range(50))
    finally:
        again.close()


def test_csv_and_text_messages(kafka_broker, topic_factory):
    csv_topic, text_topic = topic_factory(1), topic_factory(1)
    produce(kafka_broker.bootstrap, csv_topic, [b"1,alice,2.5", b'2,"b, c",', b"3,too,many,fields", b"\xff,x,y"])
    produce(kafka_broker.bootstrap, text_topic, ["héllo".encode(), b"", b"\xffbad"])
    schema = Struct((("id", t.INT), ("name", t.STRING), ("amount", t.FLOAT)))
    feed = open_feed(kafka_source(kafka_broker.bootstrap, csv_topic, format="csv", schema=schema, group_id=group()))
    try:
        frame = poll_until(feed, 4)
    finally:
        feed.close()
    assert frame.select("id", "name", "amount").rows() == [("1", "alice", "2.5"), ("2", "b, c", None),
                                                           (None, None, None), (None, None, None)]
    errors = frame[RAW_ERROR].to_list()
    assert errors[:2] == [None, None]
    assert errors[2] == "csv: expected one row of 3 fields, found 4 fields: 3,too,many,fields"
    assert errors[3].startswith("csv: not UTF-8")
    feed = open_feed(kafka_source(kafka_broker.bootstrap, text_topic, format="text", group_id=group()))
    try:
        frame = poll_until(feed, 3)
    finally:
        feed.close()
    assert frame["line"].to_list() == ["héllo", "", None]
    assert frame[RAW_ERROR].to_list()[:2] == [None, None] and frame[RAW_ERROR][2].startswith("text: not UTF-8")


def test_without_a_schema_the_first_batch_fixes_it(kafka_broker, topic):
    produce(kafka_broker.bootstrap, topic, [json.dumps({"a": 1, "b": [1, 2]}).encode(), b'{"a": 2, "c": "new"}'])
    feed = open_feed(kafka_source(kafka_broker.bootstrap, topic, group_id=group()))
    try:
        first = poll_until(feed, 1, max_records=1)
        assert feed.schema == Struct((("a", t.INT), ("b", ListOf(t.INT))))
        second = poll_until(feed, 1, max_records=1)
    finally:
        feed.close()
    assert first["a"].to_list() == ["1"] and first["b"].to_list() == [[1, 2]]
    assert second.columns[:2] == ["a", "b"] and "c" not in second.columns  # frozen: later fields ignored
    resumed = KafkaFeed(kafka_source(kafka_broker.bootstrap, topic), "pipe")
    resumed.use_schema(Struct((("c", t.STRING), ("_offset", t.INT))))  # as recorded, metadata included
    assert resumed.schema == Struct((("c", t.STRING),))


def test_user_errors_are_reported_clearly(kafka_broker, topic):
    with pytest.raises(ValueError, match="format csv needs a `schema`"):
        feed = open_feed(kafka_source(kafka_broker.bootstrap, topic, format="csv", group_id=group()))
        produce(kafka_broker.bootstrap, topic, [b"1,2"])
        try:
            poll_until(feed, 1)
        finally:
            feed.close()
    with pytest.raises(ValueError, match=r"kafka source 'orders': .*no_such_setting"):
        open_feed(kafka_source(kafka_broker.bootstrap, topic, options={"no.such.setting": 1}))
    from kafka_broker import free_port
    nowhere = f"127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionError, match=f"kafka source 'orders': cannot reach {nowhere}: .*bootstrap"):
        open_feed(kafka_source(nowhere, topic, options={"bootstrap_timeout_ms": 500}))


def test_after_a_rebalance_only_partitions_still_owned_are_committed(kafka_broker, topic_factory):
    """A reads both partitions, B joins and takes one: A's checkpointed position still names both, but
    A commits only the one it owns; B reads its partition from the group's offset (at least once)."""
    from kafka.admin import KafkaAdminClient

    topic, name = topic_factory(2), group()
    produce(kafka_broker.bootstrap, topic, json_values(200), partitions=2)
    source = kafka_source(kafka_broker.bootstrap, topic, group_id=name,
                          options=dict(FAST_GROUP))
    a = open_feed(source)
    b = None
    try:
        poll_until(a, 200)
        position = a.position()
        b = open_feed(source)
        # FAST_GROUP, the group timings measured on Tansu (~4 s rebalances): with a 3 s session, under a
        # full suite's load, the split once had not settled within 30 s
        from_b, stop = 0, time.monotonic() + 60
        while time.monotonic() < stop and not (len(a._consumer.assignment()) == len(b._consumer.assignment()) == 1):
            assert a.poll(500, 0.2) is None  # A has read everything it owns
            frame = b.poll(500, 0.2)
            from_b += frame.height if frame is not None else 0
        (kept,) = a._consumer.assignment()
        (moved,) = b._consumer.assignment()
        a.committed(position)
        admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
        offsets = {tp.partition: meta.offset for tp, meta in admin.list_group_offsets(name)[name].items()}
        admin.close()
        assert offsets.get(kept.partition) == 100
        assert offsets.get(moved.partition, -1) in (-1, None)  # not A's: B owns it now
        from_b += poll_idle(b, 1.5)
        assert from_b == 100  # B read its partition again from the group's offset
    finally:
        a.close()
        if b is not None:
            b.close()


def test_records_that_trickle_in_make_one_partial_batch_per_timeout(kafka_broker, topic):
    """`batch_timeout` flushes a partial batch (SPEC §1): after the first record, a poll gathers what
    arrives within the timeout rather than returning each record as a batch of its own."""
    import threading

    from kafka import KafkaProducer

    feed = open_feed(kafka_source(kafka_broker.bootstrap, topic, group_id=group()))

    def trickle() -> None:
        producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
        for value in json_values(30):  # one record every 50 ms: 1.5 s
            producer.send(topic, value=value).get(timeout=10)
            time.sleep(0.05)
        producer.close()

    try:
        while feed.poll(10, 0.2) is not None or not feed._consumer.assignment():  # joined, nothing queued
            pass
        sender = threading.Thread(target=trickle)
        sender.start()
        sizes, stop = [], time.monotonic() + 30
        while sum(sizes) < 30 and time.monotonic() < stop:
            frame = feed.poll(1000, 1.0)
            if frame is not None:
                sizes.append(frame.height)
        sender.join()
        assert sum(sizes) == 30
        assert len(sizes) <= 4, sizes  # 1.5 s of records in batches of 1 s (one per record before)
        assert max(sizes) >= 10, sizes
    finally:
        feed.close()
