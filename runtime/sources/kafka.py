"""The Kafka source (SPEC §3) as a `Feed`: a consumer group member that commits only checkpointed offsets.

    feed = KafkaFeed(source, pipeline)
    feed.open(checkpointed_position_or_None)
    frame = feed.poll(max_records, timeout)     # raw records + _key _topic _partition _offset _timestamp
    position = feed.position()                  # recorded in the checkpoint
    feed.committed(position)                    # after the checkpoint is durable: commit to the group

A position is `{"offsets": {"<topic>:<partition>": next offset}, "rows": next row number}`: the offsets
just past every record `poll` returned, per partition this process has read.

Where reading resumes in a partition assigned to this process (at start or by a rebalance): the
larger of the offset this process knows (the checkpoint's on resume, and what it has returned since)
and the group's committed offset. The checkpoint is authoritative over a group offset that lags it
(a crash between checkpoint and commit); a group offset ahead of it means another process of the group
has processed the partition since, so reading from the checkpoint would only duplicate. A partition
neither knows starts per `start` (earliest by default); `latest` there means the end that the first
fetch response reports (its high watermark), since some brokers answer the client's own reset wrongly.

Rebalances: this feed buffers nothing (each `poll` hands its records to the runner), so a revoked
partition's records already returned are written by the runner's next checkpoint and counted in its
position. Offsets are committed only in `committed`, never on revoke (a revoke mid-batch would commit
records not yet durable), and only for partitions still assigned: a stale commit must not move back
the offset of a partition another member now owns. Records of a revoked partition may be read again by
its new owner (at least once across processes); each process's own output is exactly once.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Source
from flowc.dsl.types import Struct
from flowc.runtime.sources.feed import SchemaHold
from flowc.runtime.sources.kafka_decode import METADATA_DTYPES, decode

log = logging.getLogger(__name__)

DEFAULT_CLIENT = {"session_timeout_ms": 10_000, "heartbeat_interval_ms": 3_000, "fetch_max_wait_ms": 100}
# kafka-python moves a group join on only while `poll` runs, and a join polled with gaps (a feed among
# several polled in turn, each waiting up to `batch_timeout`) may never finish: a feed that has not
# joined polls without gaps, for at most this long (a join on the test broker takes ~session/2) --
# unless another feed of this process is in its group, which must be polled to rejoin as well.
JOIN_WAIT = 30.0
_MEMBERS: Counter[str] = Counter()  # the open feeds of this process per group_id
# How long `close` waits for the broker to answer its LeaveGroup. A request waits on its connection
# behind a JoinGroup in flight (on the test broker ~half a session), and the client's default is its
# request timeout (305 s): a stop during a join took as long as the join. Unanswered, the group
# drops this member after its session timeout instead.
LEAVE_WAIT_MS = 2000
BOOTSTRAP_WAIT_MS = 30_000  # kafka-python's default `bootstrap_timeout_ms`


# Consumer settings the source makes itself, and the source key that sets each instead (None: none may;
# offsets are committed after each checkpoint, SPEC §3, never by the client).
OWN_SETTINGS = {"bootstrap_servers": "bootstrap_servers", "group_id": "group_id", "auto_offset_reset": "start",
                "enable_auto_commit": None}


def client_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """`options` as kafka-python keyword arguments: `session.timeout.ms` and `session_timeout_ms` alike."""
    return {str(key).replace(".", "_"): value for key, value in (options or {}).items()}


def reachable(servers: list[str], timeout: float = 0.5) -> bool:
    """Whether one of `servers` (`host:port`, 9092 when no port) accepts a TCP connection."""
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)) if host else (server, 9092), timeout).close()
            return True
        except (OSError, ValueError):
            continue
    return False


def bootstrap(config: Mapping[str, Any]) -> list[str]:
    servers = config.get("bootstrap_servers", "")
    if isinstance(servers, str):
        return [s.strip() for s in servers.split(",") if s.strip()]
    return [str(s) for s in servers]


def partition_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def source_topics(config: Mapping[str, Any]) -> list[str]:
    return [str(config["topic"])] if config.get("topic") else [str(t) for t in config.get("topics", ())]


def lane_numbers(topics: list[str]) -> pl.Expr:
    """Each record's partition as one number (its *lane*, which keeps a watermark of its own):
    `partition * len(topics) + the topic's position`, so with one topic the partition itself, and
    partitions of several topics never share one. Stable across runs while the topics are."""
    position = pl.col("_topic").replace_strict(topics, list(range(len(topics))), default=None, return_dtype=pl.Int64)
    return pl.col("_partition").cast(pl.Int64, strict=False) * len(topics) + position


def lane_number(topics: list[str], topic: str, partition: int) -> int:
    """`lane_numbers` of one partition."""
    return partition * len(topics) + topics.index(topic)


class KafkaFeed:
    def __init__(self, source: Source, pipeline: str) -> None:
        config = source.config
        self.source = source
        self.topics = source_topics(config)
        self.group_id = str(config.get("group_id") or f"flowc-{pipeline}")
        self.start = str(config.get("start", "earliest"))
        self.format = source.format or "json"
        declared = source.schema.fields if source.schema is not None else None
        self.schema = Struct(tuple(f for f in declared if f[0] not in METADATA_DTYPES)) if declared else None
        self._options = {**DEFAULT_CLIENT, **client_options(config.get("options"))}
        self._servers = bootstrap(config)
        self._consumer: Any = None
        self._next: dict[str, int] = {}  # partition -> offset just past the last record returned
        self._committed: dict[str, int] = {}
        self._rows = 0  # the next row number
        self._last: tuple[int, list[str]] = (0, [])  # the last batch's first row and positions
        self._commit_failures = 0
        self._fresh: set[Any] = set()  # partitions assigned since the last poll that this process knows
        self._to_end: set[Any] = set()  # partitions assigned that it does not know, under `start: latest`
        self._joined = False  # the group gave this process its partitions (possibly none) since the last revoke
        self._stopping: Callable[[], bool] = lambda: False  # a stop request cuts a join's wait short
        self._held: list[Any] = []  # messages read before any told a schema (`_waits_for_schema`)
        self._schema_hold = SchemaHold()
        self._start_over = False  # reset since the last checkpoint: the first assignment ignores the group
        self._past_group: set[Any] = set()  # partitions going to the end under `latest` whatever the group says

    def use_stop(self, requested: Callable[[], bool]) -> None:
        """The runner's stop request: `poll` waits past its timeout for a group join, not past a stop."""
        self._stopping = requested

    def use_start_over(self) -> None:
        """The pipeline was reset (`--reset`) and has checkpointed nothing since: the partitions of the
        first assignment start at `start`, not at the group's committed offsets (a run from the start;
        after the reset removed the outputs, the group's offsets left them empty)."""
        self._start_over = True

    def use_schema(self, schema: Struct) -> None:
        """The schema recorded in the event log for a source that declares none (SPEC §3: frozen)."""
        self.schema = Struct(tuple(f for f in schema.fields if f[0] not in METADATA_DTYPES))

    # --- the Feed protocol ---

    def open(self, position: Mapping[str, Any] | None) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaConfigurationError, KafkaError

        self._refuse_own_settings()
        if position:
            self._next = {str(k): int(v) for k, v in position.get("offsets", {}).items()}
            self._rows = int(position.get("rows", 0))
        if not self._await_a_broker():
            return  # stopped while no broker answered: the runner stops before its first poll
        try:
            self._consumer = KafkaConsumer(
                bootstrap_servers=self._servers, group_id=self.group_id, enable_auto_commit=False,
                auto_offset_reset=self.start, **self._options)
        except KafkaConfigurationError as error:
            raise ValueError(f"kafka source '{self.source.name}': {error}") from error
        except KafkaError as error:  # kafka-python retried with backoff for `bootstrap_timeout_ms` (30 s)
            raise ConnectionError(f"kafka source '{self.source.name}': cannot reach "
                                  f"{','.join(self._servers)}: {error}") from error
        self._consumer.subscribe(topics=self.topics, listener=_listener(self))
        _MEMBERS[self.group_id] += 1

    def _await_a_broker(self) -> bool:
        """Wait until a bootstrap server accepts connections, as long as the client would
        (`bootstrap_timeout_ms`), looking at stop requests between tries: the client's own wait cannot be
        cut short, so SIGTERM while the broker was down waited the 30 s out and exited 1, not 130.
        False when a stop was requested; ConnectionError when the time is up."""
        wait = float(self._options.get("bootstrap_timeout_ms", BOOTSTRAP_WAIT_MS)) / 1000
        deadline = time.monotonic() + wait
        while not reachable(self._servers):
            if self._stopping():
                return False
            if time.monotonic() >= deadline:
                raise ConnectionError(f"kafka source '{self.source.name}': cannot reach {','.join(self._servers)}: "
                                      f"Unable to bootstrap: no broker accepted a connection within {wait:g} s")
            time.sleep(0.25)
        return True

    def _refuse_own_settings(self) -> None:
        """A setting of `options` that the source makes itself is an error naming the key to use (passed
        on, the client failed with a TypeError: 'got multiple values for keyword argument'); one the
        client does not know is its error, before any wait for a broker."""
        from kafka import KafkaConsumer
        from kafka.errors import KafkaConfigurationError

        unknown = set(self._options).difference(KafkaConsumer.DEFAULT_CONFIG)
        if unknown:
            error = KafkaConfigurationError(f"Unrecognized configs: {unknown}")
            raise ValueError(f"kafka source '{self.source.name}': {error}")
        for written in (self.source.config.get("options") or {}):
            name = str(written).replace(".", "_")
            if name in OWN_SETTINGS:
                key = OWN_SETTINGS[name]
                fix = f"set the source's `{key}` instead" if key else \
                    "flowc commits offsets itself, once a batch is durable in every sink"
                raise ValueError(f"kafka source '{self.source.name}': option '{written}' is not a client "
                                 f"setting flowc passes on: {fix}")

    def poll(self, max_records: int, timeout: float) -> pl.DataFrame | None:
        """Wait up to `timeout` (`batch_timeout`) for a first record; then gather until `max_records`
        arrived or `timeout` has passed since that first record (a partial batch, SPEC §1), so records
        that trickle in make one batch, not one each."""
        if self._consumer is None:
            return None  # opened while a stop was requested
        wanted, timeout = max(1, max_records), max(0.0, timeout)
        held, self._held = self._held, []
        wanted = max(1, wanted - len(held))
        batches = self._fetch(int(timeout * 1000), wanted)
        got = sum(len(r) for r in batches.values())
        deadline = time.monotonic() + timeout
        while 0 < got < wanted and (left := deadline - time.monotonic()) > 0:
            more = self._fetch(int(left * 1000), wanted - got)
            for tp, part in more.items():
                batches.setdefault(tp, []).extend(part)
            got += sum(len(r) for r in more.values())
        records = held + [r for part in sorted(batches, key=lambda tp: (tp.topic, tp.partition)) for r in batches[part]]
        if not records:
            return None
        frame, schema = decode([r.value for r in records], self.format, self.schema)
        if self._waits_for_schema(records, schema, max_records):
            return None
        self.schema = self.schema or (schema if schema.fields else None)  # frozen from the first batch
        first = self._rows
        self._rows += len(records)
        for r in records:
            self._next[partition_name(r.topic, r.partition)] = r.offset + 1
        self._last = (first, [f"{r.topic}:{r.partition}@{r.offset}" for r in records])
        return frame.with_columns(*_metadata(records), pl.int_range(first, self._rows, dtype=pl.Int64).alias(ROW))

    def _waits_for_schema(self, records: list[Any], schema: Struct, max_records: int) -> bool:
        """Without a declared schema one is inferred from the first batch (SPEC §3), but messages that
        cannot be decoded (or tombstones) tell none, and the empty one frozen from them made every later
        record lose its fields. They are held (returned later, before the messages after them) until a
        message with fields comes, a batch fills, or `HOLD_FOR_SCHEMA` has passed."""
        tells_nothing = self.schema is None and not schema.fields and len(records) < max_records
        if not self._schema_hold.holds(tells_nothing):
            return False
        self._held = records
        return True

    def _fetch(self, timeout_ms: int, max_records: int) -> dict[Any, list[Any]]:
        batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        deadline = time.monotonic() + JOIN_WAIT
        alone = _MEMBERS[self.group_id] == 1
        while not batches and not self._joined and alone and time.monotonic() < deadline and not self._stopping():
            batches = self._consumer.poll(timeout_ms=100, max_records=max_records)
        if self._fresh:
            self._skip_behind_group(batches)
        if self._to_end:
            self._skip_to_end(batches)
        return batches

    def position(self) -> dict[str, Any]:
        return {"offsets": dict(sorted(self._next.items())), "rows": self._rows}

    def committed(self, position: Mapping[str, Any]) -> None:
        """Commit `position`'s offsets of the partitions this process still owns."""
        from kafka.errors import CommitFailedError
        from kafka.structs import OffsetAndMetadata, TopicPartition

        owned = {partition_name(tp.topic, tp.partition): tp for tp in self._consumer.assignment()}
        offsets = {owned[name]: OffsetAndMetadata(int(offset), "", -1)
                   for name, offset in position.get("offsets", {}).items()
                   if name in owned and self._committed.get(name) != int(offset)}
        if not offsets:
            return
        try:
            self._consumer.commit(offsets)
        except CommitFailedError as error:  # a rebalance is under way: the next checkpoint commits
            self._commit_failures += 1
            log.warning("kafka commit skipped (%s); the checkpoint keeps the offsets", error)
            return
        for tp, meta in offsets.items():
            assert isinstance(tp, TopicPartition)
            self._committed[partition_name(tp.topic, tp.partition)] = meta.offset

    def positions(self, rows: pl.Expr) -> pl.Expr:
        first, shown = self._last
        return rows.replace_strict(list(range(first, first + len(shown))), shown, default=None,
                                   return_dtype=pl.String)

    def exhausted(self) -> bool:
        return False

    def lanes(self) -> frozenset[int]:
        """The `lane_number`s of the partitions assigned to this process now."""
        assigned = self._consumer.assignment() if self._consumer else ()
        return frozenset(lane_number(self.topics, tp.topic, tp.partition) for tp in assigned if tp.topic in self.topics)

    def status(self) -> dict[str, Any]:
        """Per partition: the next offset, the committed one, and the lag from the last fetch's high
        watermark (Tansu reports a wrong high watermark after batched produce: lag there is a hint)."""
        partitions: dict[str, dict[str, Any]] = {}
        assigned = sorted(self._consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)) if self._consumer else []
        for tp in assigned:
            name = partition_name(tp.topic, tp.partition)
            end = self._consumer.highwater(tp)
            at = self._next.get(name)
            partitions[name] = {"position": at, "committed": self._committed.get(name), "end": end,
                                "lag": max(0, end - at) if end is not None and at is not None else None}
        return {"group_id": self.group_id, "topics": list(self.topics), "partitions": partitions,
                "commit_failures": self._commit_failures}

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False, timeout_ms=LEAVE_WAIT_MS)
            self._consumer = None
            _MEMBERS[self.group_id] -= 1

    # --- rebalances ---

    def assigned(self, partitions: list[Any]) -> None:
        """Start each newly assigned partition this process knows where it left (no IO allowed here:
        kafka-python runs listeners on its network thread); `poll` then checks the group's offset."""
        self._joined = True
        start_over, self._start_over = self._start_over, False
        for tp in partitions:
            known = self._next.get(partition_name(tp.topic, tp.partition))
            if known is not None:
                self._consumer.seek(tp, known)
                self._fresh.add(tp)
            elif self.start == "latest":
                self._to_end.add(tp)
                if start_over:
                    self._past_group.add(tp)
            elif start_over:
                self._consumer.seek_to_beginning(tp)  # no IO: the client resets it on its next poll

    def _skip_behind_group(self, batches: dict[Any, list[Any]]) -> None:
        """A fresh partition whose group offset is past what this process knows was processed since by
        another member: drop what this poll returned below it and read on from there."""
        fresh, self._fresh = self._fresh, set()
        owned = self._consumer.assignment()
        for tp in fresh & owned:
            group = self._consumer.committed(tp)
            if group is None or group <= self._next.get(partition_name(tp.topic, tp.partition), 0):
                continue
            kept = [r for r in batches.get(tp, []) if r.offset >= group]
            if kept:
                batches[tp] = kept
            else:
                batches.pop(tp, None)
                self._consumer.seek(tp, group)
            self._next[partition_name(tp.topic, tp.partition)] = group

    def _skip_to_end(self, batches: dict[Any, list[Any]]) -> None:
        """`start: latest` on a partition neither this process nor the group has read: begin at the end
        the first fetch response reports (its high watermark), dropping what this poll returned below it.
        The client resets to the offset a ListOffsets request answers, which the Tansu broker gets wrong
        after a batched produce (the last batch's first offset + 1), so records that were in the topic
        before the run were read. The end is measured a fetch later than the client's reset would."""
        owned = self._consumer.assignment()
        for tp in list(self._to_end):
            end = self._consumer.highwater(tp) if tp in owned else None
            if tp in owned and end is None:
                continue  # no fetch response for it yet: it returned no records either
            self._to_end.discard(tp)
            past_group = tp in self._past_group
            self._past_group.discard(tp)
            if end is None or (not past_group and self._consumer.committed(tp) is not None):
                continue  # revoked meanwhile, or the group's offset was used (`start` was not)
            batches.pop(tp, None)  # every record of a fetch response lies below its high watermark
            if self._consumer.position(tp) < end:
                self._consumer.seek(tp, end)
            self._next[partition_name(tp.topic, tp.partition)] = end  # checkpointed and committed from here

    def revoked(self, partitions: list[Any]) -> None:
        # Nothing to flush or commit: the runner holds the returned records and checkpoints them.
        self._joined = False  # a rebalance: the rejoin needs `poll` without gaps again
        log.info("kafka partitions revoked: %s", sorted(partition_name(tp.topic, tp.partition) for tp in partitions))


def _listener(feed: KafkaFeed) -> Any:
    from kafka import ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        """kafka-python calls these inside `poll` when the group rebalances."""

        def on_partitions_revoked(self, revoked: Any) -> None:
            feed.revoked(list(revoked))

        def on_partitions_assigned(self, assigned: Any) -> None:
            feed.assigned(list(assigned))

    return Listener()


def _metadata(records: list[Any]) -> list[pl.Series]:
    keys = [None if r.key is None else r.key.decode("utf-8", errors="backslashreplace") for r in records]
    stamps = [r.timestamp if r.timestamp is not None and r.timestamp >= 0 else None for r in records]
    columns = {"_key": keys, "_topic": [r.topic for r in records], "_partition": [r.partition for r in records],
               "_offset": [r.offset for r in records]}
    series = [pl.Series(name, values, dtype=METADATA_DTYPES[name]) for name, values in columns.items()]
    stamp = pl.Series("_timestamp", stamps, dtype=pl.Int64).cast(pl.Datetime("ms")).cast(pl.Datetime("us"))
    return [*series, stamp.dt.replace_time_zone("UTC").alias("_timestamp")]
