import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowc.runtime.lock import LockHeld, StateLock

HOLDER = textwrap.dedent("""
    import sys, time
    from flowc.runtime.lock import StateLock
    lock = StateLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    sys.stdin.readline()
    lock.release()
    print("released", flush=True)
    time.sleep(30)
""")


@pytest.fixture
def holder(tmp_path: Path):
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "state")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "locked\n"
    yield process
    process.kill()
    process.wait()


def test_a_second_process_is_refused_with_the_holders_pid(tmp_path: Path, holder: subprocess.Popen) -> None:
    lock = StateLock(tmp_path / "state")
    with pytest.raises(LockHeld, match=f"in use by process {holder.pid}") as caught:
        lock.acquire()
    assert caught.value.pid == holder.pid
    assert lock.holder() == holder.pid


def test_the_lock_is_free_once_released(tmp_path: Path, holder: subprocess.Popen) -> None:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline() == "released\n"
    lock = StateLock(tmp_path / "state")
    assert lock.holder() is None
    with lock:
        assert (tmp_path / "state" / "lock").read_text() == f"{os.getpid()}\n"
        assert lock.holder() == os.getpid()
    assert (tmp_path / "state" / "lock").read_text() == ""


def test_the_lock_dies_with_its_process(tmp_path: Path, holder: subprocess.Popen) -> None:
    holder.kill()
    holder.wait()
    lock = StateLock(tmp_path / "state")
    assert lock.holder() is None  # the pid is still in the file, but nobody holds the flock
    lock.acquire()
    lock.release()


def test_a_second_lock_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with StateLock(tmp_path), pytest.raises(LockHeld, match=f"process {os.getpid()}"):
        StateLock(tmp_path).acquire()


def test_no_lock_file_means_no_holder(tmp_path: Path) -> None:
    assert StateLock(tmp_path / "never").holder() is None
