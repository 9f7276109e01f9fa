"""Kafka -> filter + map -> Kafka: `flowc run` against a hand-written kafka-python loop, and latency.

    python bench/bench_kafka.py                         # 1M messages, a fresh Tansu broker
    python bench/bench_kafka.py --messages 100000       # a quick run
    python bench/bench_kafka.py --latency-seconds 20 --rate 10000

Not run in CI. Each mode gets a fresh input topic, pre-filled (not timed) with `--messages` JSON
orders of about 120 bytes, 2 partitions, and writes to a fresh output topic:

- flowc: `flowc run` on a spec `filter: status == "paid" and amount > 10` + `map` (total, upper
  country), kafka sink keyed by order id, batch_size 10 000. Timed from process start to the
  checkpoint covering every input message (read from the event log), and from the first checkpoint.
- loop: kafka-python consume -> json.loads -> the same filter and map -> json.dumps -> produce, and per
  poll batch flush then commit (at-least-once order), max_poll_records 10 000.

Latency: a producer thread sends orders at a steady `--rate` with the send time in the record; flowc
(batch_timeout 100ms) runs the pipeline; a consumer of the output topic takes receive - send per
record. p50/p99 over the records after a 3 s warm-up. Producer, flowc and the consumer share the
machine's cores with the broker, so high rates measure the machine as much as flowc.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from kafka_broker import TansuBroker  # noqa: E402

SPEC = """version: 1
pipeline: bench-kafka
settings: {{batch_size: 10000, batch_timeout: {timeout}, state_dir: {state}}}
sources:
  orders:
    type: kafka
    topic: {source}
    bootstrap_servers: "{bootstrap}"
    group_id: {group}
    schema: {{id: int, status: string, amount: float, qty: int, country: string, sent: int}}
    options: {{session.timeout.ms: 6000, heartbeat.interval.ms: 1000}}
steps:
  - filter: status == "paid" and amount > 10
  - map:
      total: amount * qty
      country: upper(country)
sinks:
  out:
    type: kafka
    topic: {target}
    bootstrap_servers: "{bootstrap}"
    key: id
    options: {{linger.ms: 20, batch.size: 1000000}}
"""

STATUSES = ("paid", "paid", "paid", "new", "cancelled")


def order(i: int, sent: int = 0) -> bytes:
    return json.dumps({"id": i, "status": STATUSES[i % 5], "amount": (i * 37) % 500 / 4, "qty": 1 + i % 4,
                       "country": ("de", "fr", "us", None)[i % 4], "sent": sent}).encode()


def expected_out(n: int) -> int:
    return sum(1 for i in range(n) if STATUSES[i % 5] == "paid" and (i * 37) % 500 / 4 > 10)


def create_topics(bootstrap: str, *names: str, partitions: int = 2) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    admin.close()


def fill(bootstrap: str, topic: str, n: int) -> float:
    from kafka import KafkaProducer

    start = time.perf_counter()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=1_000_000)
    for i in range(n):
        producer.send(topic, value=order(i), partition=i % 2)
    producer.flush()
    producer.close()
    return time.perf_counter() - start


def checkpointed(state: Path) -> tuple[int, int]:
    """Records read and written to the sink in all checkpointed batches so far (from the event log)."""
    log = state / "events.log"
    read = written = 0
    if log.exists():
        for line in log.read_text().splitlines():
            event = json.loads(line) if line.endswith("}") else {}
            if event.get("type") == "batch_committed":
                read += event["data"]["counts"]["read"]
                written += event["data"]["counts"]["written"].get("out", 0)
    return read, written


def run_flowc(bootstrap: str, n: int, folder: Path) -> dict:
    source, target = f"in-{uuid.uuid4().hex[:8]}", f"out-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, source, target)
    filled = fill(bootstrap, source, n)
    state = folder / "state-flowc"
    spec = folder / "bench.flow.yaml"
    spec.write_text(SPEC.format(timeout="1s", state=state, source=source, target=target, bootstrap=bootstrap,
                                group=f"g-{uuid.uuid4().hex[:8]}"))
    start = time.time()
    process = subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first_seen, read, written = None, 0, 0
    while process.poll() is None and read < n:
        time.sleep(0.05)
        read, written = checkpointed(state)
        if read and first_seen is None:
            first_seen = time.time()
    done = time.time()
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    assert written == expected_out(n), (written, expected_out(n))
    return {"mode": "flowc", "messages": n, "fill_s": round(filled, 1), "wall_s": round(done - start, 2),
            "msg_per_s": round(n / (done - start)),
            "msg_per_s_after_first_batch": round(n / (done - first_seen)) if first_seen else None,
            "exit": process.returncode}


def run_loop(bootstrap: str, n: int) -> dict:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    source, target = f"in-{uuid.uuid4().hex[:8]}", f"out-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, source, target)
    filled = fill(bootstrap, source, n)
    start = time.time()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}",
                             enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=10_000)
    consumer.assign([TopicPartition(source, 0), TopicPartition(source, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=1_000_000)
    read = written = 0
    while read < n:
        batches = consumer.poll(timeout_ms=1000, max_records=10_000)
        for records in batches.values():
            for record in records:
                value = json.loads(record.value)
                if value["status"] == "paid" and value["amount"] > 10:
                    value["total"] = value["amount"] * value["qty"]
                    value["country"] = value["country"].upper() if value["country"] is not None else None
                    producer.send(target, key=str(value["id"]).encode(), value=json.dumps(value).encode())
                    written += 1
            read += len(records)
        producer.flush()
        consumer.commit()
    done = time.time()
    consumer.close()
    producer.close()
    assert written == expected_out(n), (written, expected_out(n))
    return {"mode": "kafka-python loop", "messages": n, "fill_s": round(filled, 1), "wall_s": round(done - start, 2),
            "msg_per_s": round(n / (done - start))}


def run_latency(bootstrap: str, rate: int, seconds: float, folder: Path) -> dict:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    source, target = f"in-{uuid.uuid4().hex[:8]}", f"out-{uuid.uuid4().hex[:8]}"
    create_topics(bootstrap, source, target)
    state = folder / "state-latency"
    spec = folder / "latency.flow.yaml"
    spec.write_text(SPEC.format(timeout="100ms", state=state, source=source, target=target, bootstrap=bootstrap,
                                group=f"g-{uuid.uuid4().hex[:8]}"))
    process = subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(6)  # start-up and group join
    latencies: list[float] = []
    stop = threading.Event()

    def consume() -> None:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
        consumer.assign([TopicPartition(target, p) for p in (0, 1)])
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                now = time.time_ns()
                latencies.extend((now - json.loads(r.value)["sent"]) / 1e6 for r in records)
        consumer.close()

    reader = threading.Thread(target=consume)
    reader.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
    begin, sent = time.monotonic(), 0
    while time.monotonic() - begin < seconds:
        due = int((time.monotonic() - begin) * rate)
        while sent < due:
            producer.send(source, value=order(sent, time.time_ns()), partition=sent % 2)
            sent += 1
        time.sleep(0.001)
    producer.flush()
    time.sleep(3)
    stop.set()
    reader.join()
    producer.close()
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    warm = latencies[int(len(latencies) * 3 / seconds):] if seconds > 3 else latencies
    warm.sort()
    pick = (lambda q: round(warm[min(len(warm) - 1, int(q * len(warm)))], 1)) if warm else (lambda q: None)
    return {"mode": "flowc latency", "rate": rate, "seconds": seconds, "sent": sent,
            "achieved_rate": round(sent / seconds), "received": len(latencies),
            "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": round(warm[-1], 1) if warm else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", help="use this broker instead of starting a Tansu broker")
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--skip", choices=("flowc", "loop", "latency"), action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = None
        if args.bootstrap is None:
            broker = TansuBroker(folder / "tansu.log").start()
        bootstrap = args.bootstrap or broker.bootstrap
        try:
            if "flowc" not in args.skip:
                print(json.dumps(run_flowc(bootstrap, args.messages, folder)), flush=True)
            if "loop" not in args.skip:
                print(json.dumps(run_loop(bootstrap, args.messages)), flush=True)
            if "latency" not in args.skip:
                print(json.dumps(run_latency(bootstrap, args.rate, args.latency_seconds, folder)), flush=True)
        finally:
            if broker is not None:
                broker.stop()


if __name__ == "__main__":
    main()
