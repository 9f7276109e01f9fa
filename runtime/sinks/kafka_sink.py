"""The Kafka sink (SPEC §7): at least once, with keys and headers computed by expressions.

    writer = KafkaSinkWriter(node, plan)
    writer.restore(position)        # nothing to undo: what a killed run sent stays sent
    writer.write(batch) ...         # sends asynchronously (blocks only when the client's buffer is full)
    writer.durable()                # flush: every record acknowledged by all in-sync replicas, or raise
    writer.close()

The producer uses `acks=all` and kafka-python's idempotent producer; the sink's `retry` config sets its
retries (`max_attempts - 1`) and the backoff between them (`backoff`; kafka-python 3.0 has no
growing backoff, so `max_backoff` is not used). `options` pass through to `KafkaProducer` (dotted
names like `linger.ms` accepted). A record not acknowledged after those retries fails `durable()`, so
the runner fails the batch before its checkpoint: the input is read again on the next run (records of
that batch already delivered are sent again: at least once).

Values: `json` is one JSON object per message, written as the JSON lines file sink writes it
(datetimes ISO-8601 UTC with `Z`); `csv` one CSV row per message, no header, fields in record order.
`key` and `headers` values are written as text (UTF-8); a null key sends no key, a null header value
leaves that header out. A key or header expression that fails on a record (a failed conversion) fails
the batch with the record error's message: a sink has no error policy of its own (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flowc.compiler import ir
from flowc.compiler.lower_expr import lower
from flowc.compiler.lowered import LowerContext, first_error
from flowc.compiler.plan import Plan
from flowc.compiler.polars_types import from_polars
from flowc.compiler.typecheck import check_expression
from flowc.dsl.types import Struct
from flowc.runtime.sinks.encoding import encode_csv, encode_jsonl, prepare_text, record_ends
from flowc.runtime.sources.kafka import bootstrap, client_options

KEY, HEADER, _ERROR = "__flowc_key", "__flowc_header_", "__flowc_error"


class KafkaSinkError(OSError):
    """A record the broker did not take, or a broker that cannot be reached: the batch fails."""


class KafkaSinkWriter:
    def __init__(self, node: ir.SinkNode, plan: Plan) -> None:
        sink = node.sink
        self.name, self.topic = sink.name, str(sink.config.get("topic", ""))
        self.format = sink.format or "json"
        if self.format not in ("json", "csv"):
            raise ValueError(f"kafka sink '{self.name}': unknown format {self.format!r} (json or csv)")
        self._key, self._headers = sink.key, list(sink.headers)
        self._schema = plan.schemas.get(node)
        self._columns: list[pl.Expr] | None = None  # key and header values, lowered on the first batch
        retry = sink.retry
        self._config = {
            # idempotence dedupes the producer's own retries; with none (max_attempts 1) kafka-python refuses it
            "bootstrap_servers": bootstrap(sink.config), "acks": "all", "enable_idempotence": retry.max_attempts > 1,
            "retries": max(0, retry.max_attempts - 1), "retry_backoff_ms": max(1, retry.backoff // 1000),
            "linger_ms": 5,
            **client_options(sink.config.get("options"))}
        self._producer: Any = None
        self._pending: list[Any] = []  # futures of records sent since the last durable()
        self._sent = 0

    # --- the sink writer methods ---

    def restore(self, position: Mapping[str, Any] | None) -> None:
        """At least once: nothing to undo. Connecting here makes a bad bootstrap fail before any batch."""
        self._connect()

    def write(self, df: pl.DataFrame) -> None:
        if df.height == 0:
            return
        keys, headers = self._keys_and_headers(df)
        values = self._values(df)
        producer = self._connect()
        send = producer.send
        for i, value in enumerate(values):
            record_headers = [(name, column[i]) for name, column in headers if column[i] is not None]
            try:
                self._pending.append(send(self.topic, value=value, key=keys[i] if keys else None,
                                          headers=record_headers or None))
            except Exception as error:  # kafka-python refuses some records at once (e.g. too large)
                raise self._failure(1, error) from error
        self._sent += len(values)

    def durable(self) -> dict[str, Any]:
        """Every record written so far acknowledged (`acks=all`), or `KafkaSinkError`."""
        if self._producer is not None:
            self._producer.flush()
        failed = [f for f in self._pending if f.failed()]
        self._pending = []
        if failed:
            raise self._failure(len(failed), failed[0].exception)
        return {"records": self._sent}

    def release(self, position: Mapping[str, Any]) -> None:
        """Nothing is staged: records are in Kafka once `durable()` returned."""

    def close(self) -> dict[str, Any]:
        position = self.durable()
        if self._producer is not None:
            self._producer.close()
            self._producer = None
        return {**position, "closed": True}

    # --- helpers ---

    def _connect(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer
            from kafka.errors import KafkaConfigurationError, KafkaError

            try:
                self._producer = KafkaProducer(**self._config)
            except (KafkaConfigurationError, ValueError, TypeError) as error:  # unknown or bad `options`
                raise ValueError(f"kafka sink '{self.name}': {error}") from error
            except KafkaError as error:
                raise KafkaSinkError(f"kafka sink '{self.name}': cannot reach "
                                     f"{','.join(self._config['bootstrap_servers'])}: {error}") from error
        return self._producer

    def _failure(self, count: int, error: BaseException | None) -> KafkaSinkError:
        return KafkaSinkError(f"kafka sink '{self.name}': {count} record(s) not delivered to topic "
                              f"'{self.topic}': {type(error).__name__}: {error}")

    def _values(self, df: pl.DataFrame) -> list[bytes]:
        if self.format == "json":
            return encode_jsonl(df).split(b"\n")[:-1]  # JSON text holds no raw newline
        data = encode_csv(df)
        ends = record_ends(data, csv=True)
        return [data[start:end - 1] for start, end in zip([0, *ends[:-1]], ends, strict=True)]

    def _keys_and_headers(self, df: pl.DataFrame) -> tuple[list[bytes | None], list[tuple[str, list]]]:
        if self._key is None and not self._headers:
            return [], []
        if self._columns is None:
            schema = self._schema or Struct(tuple((n, from_polars(d)) for n, d in df.schema.items()))
            self._columns = self._lowered(schema)
        computed = df.select(self._columns)
        errors = computed.get_column(_ERROR)
        if errors.null_count() < computed.height:
            raise ValueError(f"kafka sink '{self.name}': a key or header expression failed on a record: "
                             f"{errors.drop_nulls()[0]}")
        text = prepare_text(computed.drop(_ERROR), csv=True).select(pl.all().cast(pl.String))
        encoded = {c: [None if v is None else v.encode() for v in text.get_column(c).to_list()] for c in text.columns}
        headers = [(name, encoded[f"{HEADER}{i}"]) for i, (name, _) in enumerate(self._headers)]
        return encoded.get(KEY, []), headers

    def _lowered(self, schema: Struct) -> list[pl.Expr]:
        """Key and header expressions typed over the sink's input (the plan types no sink expression)."""
        wanted = ([(KEY, "key", self._key)] if self._key is not None else [])
        wanted += [(f"{HEADER}{i}", f"header '{name}'", e) for i, (name, e) in enumerate(self._headers)]
        columns, errors = [], []
        for alias, what, expression in wanted:
            typed = check_expression(expression.expr, schema, where=f"kafka sink {what}") if expression.expr else None
            if typed is None or typed.problems:
                raise ValueError(f"kafka sink '{self.name}': the {what} expression {expression.text!r} does not "
                                 f"type-check over the sink's input")
            lowered = lower(expression.expr, LowerContext(typed.types, datetime.now(UTC)))
            columns.append(lowered.value.alias(alias))
            errors.append(lowered.error)
        error = first_error(*errors)
        return [*columns, (error if error is not None else pl.lit(None, dtype=pl.String)).alias(_ERROR)]
