"""Shared helpers for the Kafka tests: build sources, produce messages, poll a feed to a count."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import polars as pl

from flowc.compiler.spec import Config, Source
from flowc.dsl.types import Struct
from flowc.runtime.sources.kafka import KafkaFeed

# One member per group in most tests: Tansu lets a member join after about half its session timeout,
# so a short one keeps each test quick (tests/kafka_broker.FAST_GROUP is for several members).
SOLO_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 400}


def kafka_source(bootstrap: str, topic: str, *, format: str = "json", schema: Struct | None = None,
                 group_id: str | None = None, **config) -> Source:
    options = {**SOLO_GROUP, **config.pop("options", {})}
    written = {"topic": topic, "bootstrap_servers": bootstrap, "options": options, **config}
    if group_id:
        written["group_id"] = group_id
    return Source(name="orders", type="kafka", config=Config(written), schema=schema, event_time=None,
                  format=format, bounded=False)


def produce(bootstrap: str, topic: str, values: Iterable[bytes | None], partitions: int = 1,
            keys: Iterable[bytes | None] | None = None) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    count = 0
    keys = iter(keys) if keys is not None else None
    for i, value in enumerate(values):
        key = next(keys) if keys is not None else str(i).encode()
        producer.send(topic, key=key, value=value, partition=i % partitions)
        count += 1
    producer.flush()
    producer.close()
    return count


def json_values(n: int, start: int = 0) -> list[bytes]:
    return [json.dumps({"id": i, "name": f"n{i}", "amount": i * 1.5}).encode() for i in range(start, start + n)]


def poll_until(feed: KafkaFeed, count: int, *, max_records: int = 500, deadline: float = 40.0) -> pl.DataFrame:
    """Poll until `count` records arrived (never a high-watermark test: Tansu answers it wrongly)."""
    frames, got, stop = [], 0, time.monotonic() + deadline
    while got < count and time.monotonic() < stop:
        frame = feed.poll(min(max_records, count - got), 0.5)
        if frame is not None:
            frames.append(frame)
            got += frame.height
    assert got == count, f"polled {got} records, wanted {count} within {deadline} s"
    return pl.concat(frames, how="vertical_relaxed")


def poll_idle(feed: KafkaFeed, idle: float = 2.0) -> int:
    """Poll until nothing arrives for `idle` seconds; how many records came meanwhile."""
    got, last = 0, time.monotonic()
    while time.monotonic() - last < idle:
        frame = feed.poll(500, 0.3)
        if frame is not None:
            got += frame.height
            last = time.monotonic()
    return got
