import contextlib
import os
import signal

import pytest
from hypothesis import HealthCheck, settings

# CI runs every property with hundreds of examples, the same ones on every run (derandomized: a red
# CI is a change's doing, not a draw's); `HYPOTHESIS_PROFILE=dev` is quicker locally, and
# `HYPOTHESIS_PROFILE=explore` draws new examples on every run, thousands of them.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True,
    derandomize=True,
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("explore", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# A shell that starts a command in the background without job control (`pytest ... &` in a script,
# `nohup`) starts it with SIGINT ignored, and every process it starts inherits that: the tests that
# stop a `flowc` with SIGINT (Ctrl-C) would then wait for an exit that never comes.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

pytest_plugins = ["kafka_broker"]  # the lazy, session-scoped Tansu broker fixture (tests/kafka_broker.py)


def _flowc_children() -> set[int]:
    """This process's children that run flowc (Linux: each thread's /proc children list)."""
    found = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as children:
                pids = children.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if b"flowc" in cmdline.read():
                        found.add(int(pid))
            except OSError:
                continue
    return found


@pytest.fixture(autouse=True)
def no_flowc_left_running():
    """A test that failed while a `flowc run` it started was running (a wait that timed out) must not
    leave it running: against a broker gone at the end of the session, or beside the next tests."""
    before = _flowc_children()
    yield
    for pid in _flowc_children() - before:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
