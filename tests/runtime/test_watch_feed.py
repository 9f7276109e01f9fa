"""WatchFeed on real folders: name order, complete files only, partial lines left for later, bad lines as
record errors with file and line, and exactly once across restarts (a property over random writes)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.compiler.lower_plan import ROW
from flowc.compiler.spec import Config, Source
from flowc.dsl import types as t
from flowc.dsl.types import Struct
from flowc.runtime.sources.feed import RAW_ERROR
from flowc.runtime.sources.watch import WatchFeed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def source(pattern: str, fmt: str, schema: Struct | None = None, **config) -> Source:
    return Source("inbox", "file", Config({"path": pattern, "watch": True, **config}), schema, None, format=fmt,
                  bounded=False)


def feed_in(base: str, src: Source, position=None, clock: Clock | None = None, scan_every: float = 0.05,
            tail_grace: float = 5.0) -> WatchFeed:
    feed = WatchFeed(src, base, scan_every=scan_every, tail_grace=tail_grace, **({"clock": clock} if clock else {}))
    feed.open(position)
    return feed


def write(path: str, text: str | bytes, mode: str = "w") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    with open(path, mode.replace("b", "") + "b") as handle:
        handle.write(data)


def collect(feed: WatchFeed, count: int, deadline: float = 5.0, max_records: int = 1000) -> tuple[pl.DataFrame, list]:
    """At least `count` records (or what arrived by the deadline) and their positions."""
    frames, where, got, end = [], [], 0, time.monotonic() + deadline
    while got < count and time.monotonic() < end:
        frame = feed.poll(max_records, 0.1)
        if frame is not None:
            frames.append(frame)
            where += frame.select(feed.positions(pl.col(ROW))).to_series().to_list()
            got += frame.height
    return (pl.concat(frames) if frames else pl.DataFrame()), where


def jsonl(*ids: int) -> str:
    return "".join(json.dumps({"id": i}) + "\n" for i in ids)


def test_existing_files_in_name_order_with_positions(tmp_path):
    write(str(tmp_path / "in/b.jsonl"), jsonl(3, 4))
    write(str(tmp_path / "in/a.jsonl"), jsonl(1, 2))
    write(str(tmp_path / "in/skip.csv"), "id\n9\n")
    feed = feed_in(str(tmp_path), source("in/*.jsonl", "jsonl"))
    frame, where = collect(feed, 4)
    feed.close()
    assert frame["id"].to_list() == ["1", "2", "3", "4"] and frame[ROW].to_list() == [0, 1, 2, 3]
    assert where == ["in/a.jsonl:1", "in/a.jsonl:2", "in/b.jsonl:1", "in/b.jsonl:2"]
    assert feed.schema == Struct((("id", t.INT),))
    assert feed.position() == {"row": 3, "files": {"in/b.jsonl": [len(jsonl(3, 4)), 2]}, "finished": ["in/a.jsonl"]}


def test_a_file_is_read_only_once_it_stopped_changing(tmp_path):
    clock = Clock()
    base = str(tmp_path)
    feed = feed_in(base, source("in/*.jsonl", "jsonl"), clock=clock, scan_every=1.0)
    write(f"{base}/in/a.jsonl", jsonl(1))
    assert feed.poll(10, 0.05) is None  # first seen now: not known to be complete
    clock.now += 0.5
    assert feed.poll(10, 0.05) is None
    clock.now += 0.6
    assert feed.poll(10, 0.05)["id"].to_list() == ["1"]
    feed.close()


def test_a_file_renamed_in_is_read_at_once(tmp_path):
    clock = Clock()
    base = str(tmp_path)
    os.makedirs(f"{base}/in")
    feed = feed_in(base, source("in/*.csv", "csv"), clock=clock, scan_every=60.0)
    write(f"{base}/in/a.tmp", "id,name\n1,x\n")
    os.rename(f"{base}/in/a.tmp", f"{base}/in/a.csv")
    frame, where = collect(feed, 1, deadline=3.0)  # the watchdog event wakes a scan; the clock stands still
    feed.close()
    assert frame["name"].to_list() == ["x"] and where == ["in/a.csv:2"]


def test_partial_last_line_waits_for_its_newline(tmp_path):
    clock = Clock()
    base = str(tmp_path)
    write(f"{base}/in/a.jsonl", jsonl(1))
    feed = feed_in(base, source("in/*.jsonl", "jsonl"), clock=clock, scan_every=1.0)
    feed.poll(10, 0)
    clock.now += 1.5
    assert feed.poll(10, 0)["id"].to_list() == ["1"]
    for part in ('{"id": 2', ', "x": 1'):  # still being written: scanned while it changes
        write(f"{base}/in/a.jsonl", part, "a")
        clock.now += 0.6
        assert feed.poll(10, 0) is None
    write(f"{base}/in/a.jsonl", "}\n", "a")
    assert feed.poll(10, 0)["id"].to_list() == ["2"]  # a complete line needs no waiting once picked up
    feed.close()


def test_a_writer_pausing_mid_line_longer_than_the_scans_loses_nothing(tmp_path):
    clock = Clock()
    base = str(tmp_path)
    write(f"{base}/in/a.jsonl", jsonl(1) + '{"id": 2')
    feed = feed_in(base, source("in/*.jsonl", "jsonl"), clock=clock, scan_every=0.5, tail_grace=5.0)
    assert feed.poll(10, 0) is None  # first seen
    got = []
    for _ in range(9):  # 4.5 s unchanged: nine scans see the half line, none reads it
        clock.now += 0.5
        frame = feed.poll(10, 0)
        got += [] if frame is None else frame["id"].to_list()
        assert feed.position()["files"] == {"in/a.jsonl": [len(jsonl(1)), 1]}
    assert got == ["1"]
    write(f"{base}/in/a.jsonl", "}\n" + jsonl(3), "a")
    frame, where = collect(feed, 2)
    feed.close()
    assert frame["id"].to_list() == ["2", "3"] and frame[RAW_ERROR].to_list() == [None, None]
    assert where == ["in/a.jsonl:2", "in/a.jsonl:3"] and feed.position()["finished"] == []


def test_an_unterminated_last_line_is_read_once_the_file_rested_for_the_grace_and_ends_it(tmp_path):
    clock = Clock()
    base = str(tmp_path)
    write(f"{base}/in/a.csv", "id\n1\n2")
    feed = feed_in(base, source("in/*.csv", "csv"), clock=clock, scan_every=1.0, tail_grace=5.0)
    feed.poll(10, 0)
    clock.now += 1.5
    assert feed.poll(10, 0)["id"].to_list() == ["1"]
    clock.now += 3.4  # unchanged for 4.9 s: not yet
    assert feed.poll(10, 0) is None and feed.position()["files"] == {"in/a.csv": [5, 2]}
    clock.now += 1.0  # the first scan after the grace reads it
    assert feed.poll(10, 0)["id"].to_list() == ["2"]
    assert feed.position()["finished"] == ["in/a.csv"]
    write(f"{base}/in/a.csv", "3\n", "a")  # appended after the file was finished: never read
    clock.now += 1.5
    feed.poll(10, 0)
    clock.now += 1.5
    assert feed.poll(10, 0) is None
    feed.close()


def test_a_growing_file_is_read_as_it_grows_until_a_later_file_is_ready(tmp_path):
    base = str(tmp_path)
    write(f"{base}/in/a.jsonl", jsonl(1))
    feed = feed_in(base, source("in/*.jsonl", "jsonl"))
    assert collect(feed, 1)[0]["id"].to_list() == ["1"]
    write(f"{base}/in/a.jsonl", jsonl(2), "a")
    assert collect(feed, 1)[0]["id"].to_list() == ["2"]
    write(f"{base}/in/b.jsonl", jsonl(3))
    assert collect(feed, 1)[0]["id"].to_list() == ["3"]
    assert feed.position()["finished"] == ["in/a.jsonl"]
    feed.close()


def test_malformed_lines_are_record_errors_with_file_and_line(tmp_path):
    base = str(tmp_path)
    write(f"{base}/in/a.jsonl", b'{"id": 1}\n{"id": \n\n[1, 2]\n{"id": "\xff"}\n{"id": 5}\n')
    write(f"{base}/in/b.csv", 'id,name\n1,x\n2\n3,"open\n4,,\n')
    jl = feed_in(base, source("in/*.jsonl", "jsonl"))
    cs = feed_in(base, source("in/*.csv", "csv", options={"null_values": ["NA"]}))
    frame, where = collect(jl, 5)
    rows, at = collect(cs, 4)
    jl.close()
    cs.close()
    assert frame[RAW_ERROR].to_list() == [
        None, 'malformed JSON (Expecting value): {"id": ', "the line is not a JSON object: [1, 2]",
        'not UTF-8 (byte 8): {"id": "\ufffd"}', None]
    assert where == ["in/a.jsonl:1", "in/a.jsonl:2", "in/a.jsonl:4", "in/a.jsonl:5", "in/a.jsonl:6"]
    assert frame["id"].to_list() == ["1", None, None, None, "5"]
    assert rows[RAW_ERROR].to_list() == [None, "expected 2 fields, found 1: 2",
                                         'malformed CSV (unexpected end of data): 3,"open', "expected 2 fields, found 3: 4,,"]
    assert at == ["in/b.csv:2", "in/b.csv:3", "in/b.csv:4", "in/b.csv:5"]


def test_csv_header_per_file_nulls_and_inferred_types(tmp_path):
    base = str(tmp_path)
    write(f"{base}/in/a.csv", "id;amount;name\n1;2.5;NA\n")
    write(f"{base}/in/b.csv", "name;id;amount\nz;2;\n")
    feed = feed_in(base, source("in/*.csv", "csv", options={"delimiter": ";", "null_values": ["NA"]}))
    frame, _ = collect(feed, 2)
    feed.close()
    assert frame.select("id", "amount", "name").rows() == [("1", "2.5", None), ("2", None, "z")]
    assert feed.schema == Struct((("id", t.INT), ("amount", t.FLOAT), ("name", t.STRING)))


def test_csv_without_header_uses_the_schema_names(tmp_path):
    base = str(tmp_path)
    write(f"{base}/in/a.csv", "1,x\n")
    schema = Struct((("id", t.INT), ("name", t.STRING)))
    feed = feed_in(base, source("in/*.csv", "csv", schema, options={"header": False}))
    frame, where = collect(feed, 1)
    feed.close()
    assert frame.select("id", "name").rows() == [("1", "x")] and where == ["in/a.csv:1"]


def test_text_lines_are_records_blank_ones_too(tmp_path):
    base = str(tmp_path)
    write(f"{base}/logs/x.txt", "first\r\n\nthird\n")
    feed = feed_in(base, source("logs/*.txt", "text"))
    frame, where = collect(feed, 3)
    feed.close()
    assert frame["line"].to_list() == ["first", "", "third"] and where == ["logs/x.txt:1", "logs/x.txt:2", "logs/x.txt:3"]


def test_restart_resumes_mid_file_past_the_csv_header_and_skips_finished_files(tmp_path):
    base = str(tmp_path)
    write(f"{base}/in/a.csv", "id,name\n1,a\n2,b\n")
    write(f"{base}/in/b.csv", "name,id\nc,3\nd,4\ne,5\n")
    first = feed_in(base, source("in/*.csv", "csv"))
    got, _ = collect(first, 3, max_records=3)
    position = json.loads(json.dumps(first.position()))
    first.close()
    second = feed_in(base, source("in/*.csv", "csv"), position)
    rest, where = collect(second, 2)
    second.close()
    assert got["id"].to_list() == ["1", "2", "3"] and rest["id"].to_list() == ["4", "5"]
    assert rest["name"].to_list() == ["d", "e"] and where == ["in/b.csv:3", "in/b.csv:4"]
    assert rest[ROW].to_list() == [3, 4]


def test_a_started_file_that_is_removed_is_finished_and_its_name_not_read_again(tmp_path):
    base = str(tmp_path)
    write(f"{base}/in/a.jsonl", jsonl(1))
    feed = feed_in(base, source("in/*.jsonl", "jsonl"))
    assert collect(feed, 1)[0]["id"].to_list() == ["1"]
    os.remove(f"{base}/in/a.jsonl")
    time.sleep(0.1)
    assert feed.poll(10, 0.1) is None
    assert feed.position()["files"] == {} and feed.position()["finished"] == ["in/a.jsonl"]
    write(f"{base}/in/a.jsonl", jsonl(2))  # the same name again: read once means once
    assert feed.poll(10, 0.3) is None
    feed.close()


def test_status_lists_pending_files(tmp_path):
    clock = Clock()
    base = str(tmp_path)
    write(f"{base}/in/a.jsonl", jsonl(1))
    feed = feed_in(base, source("in/*.jsonl", "jsonl"), clock=clock, scan_every=1.0)
    feed.poll(10, 0)
    assert feed.status() == {"pending": ["in/a.jsonl"], "reading": {}, "finished": 0}
    feed.close()


def test_a_folder_that_does_not_exist_yet_is_found_later(tmp_path):
    base = str(tmp_path)
    feed = feed_in(base, source("later/*.jsonl", "jsonl"))
    assert feed.poll(10, 0.05) is None
    write(f"{base}/later/a.jsonl", jsonl(7))
    assert collect(feed, 1)[0]["id"].to_list() == ["7"]
    feed.close()


def test_formats_other_than_lines_are_refused():
    with pytest.raises(ValueError, match="reads csv, jsonl or text, not 'parquet'"):
        WatchFeed(source("in/*.parquet", "parquet"), "/tmp")
    with pytest.raises(ValueError, match="cannot read compressed files"):
        WatchFeed(source("in/*.csv.gz", "csv"), "/tmp")


# --- exactly once, over random writes, polls and restarts ---

LINE = st.one_of(st.integers(0, 10**6).map(lambda i: json.dumps({"id": i})), st.just('{"id": oops'))
FILES = st.lists(st.lists(LINE, min_size=0, max_size=6), min_size=1, max_size=4)
GRACE = 3.0
STEPS = st.lists(st.sampled_from(["write", "poll", "tick", "restart"]), min_size=1, max_size=40)


@given(files=FILES, steps=STEPS, cuts=st.randoms(use_true_random=False), final_newline=st.booleans())
def test_every_line_exactly_once_across_restarts(files, steps, cuts, final_newline):
    base = tempfile.mkdtemp()
    try:
        _run_writes(base, files, steps, cuts, final_newline)
    finally:
        shutil.rmtree(base)


def _run_writes(base, files, steps, cuts, final_newline):
    texts = ["".join(line + "\n" for line in lines) for lines in files]
    if not final_newline and texts[-1]:
        texts[-1] = texts[-1][:-1]
    written, paused = [0] * len(texts), 0.0
    clock = Clock()
    src = source("in/*.jsonl", "jsonl", Struct((("id", t.INT),)))
    feed = feed_in(base, src, clock=clock, scan_every=1.0, tail_grace=GRACE)
    got: list[tuple[str, str | None, str | None, int]] = []

    def take(limit: int) -> None:
        frame = feed.poll(limit, 0)
        if frame is not None:
            where = frame.select(feed.positions(pl.col(ROW))).to_series().to_list()
            got.extend(zip(where, frame["id"].to_list(), frame[RAW_ERROR].to_list(), frame[ROW].to_list(),
                           strict=True))

    os.makedirs(f"{base}/in")
    for step in steps:
        current = next((i for i, text in enumerate(texts) if written[i] < len(text)), None)
        if step == "write" and current is not None:
            end = cuts.randint(written[current] + 1, len(texts[current]))
            write(f"{base}/in/f{current}.jsonl", texts[current][written[current]:end], "a")
            written[current], paused = end, 0.0
        elif step == "poll":
            take(cuts.randint(1, 5))
        elif step == "tick" and (current is None or texts[current][:written[current]].endswith("\n")
                                 or written[current] == 0 or paused + 1.1 < GRACE):
            clock.now += 1.1  # a writer pauses mid-line past the next scans, never for the grace
            paused += 1.1
        elif step == "restart":
            position = json.loads(json.dumps(feed.position()))
            feed.close()
            feed = feed_in(base, src, position, clock, scan_every=1.0, tail_grace=GRACE)
    for i, text in enumerate(texts):
        write(f"{base}/in/f{i}.jsonl", text[written[i]:], "a")
    for _ in range(3):
        clock.now += GRACE + 0.1
        take(1000)
    take(1000)
    feed.close()
    expected = [(f"in/f{i}.jsonl:{n}", line) for i, lines in enumerate(files) for n, line in enumerate(lines, 1)]
    assert [w for w, *_ in got] == [w for w, _ in expected]
    assert [r for *_, r in got] == list(range(len(expected)))
    for (_, ident, error, _), (_, line) in zip(got, expected, strict=True):
        assert (ident, error) == ((str(json.loads(line)["id"]), None) if "oops" not in line
                                  else (None, 'malformed JSON (Expecting value): {"id": oops'))


def test_closing_while_the_folder_is_busy_logs_nothing(tmp_path):
    """watchdog's inotify thread may log that it is inactive when it wakes during the stop, or that its
    queue overflowed while the folder is busy: no such record may reach a handler outside watchdog's
    loggers (with logging unconfigured, as in `flowc run`, it was a line on stderr)."""
    base = str(tmp_path)
    os.makedirs(f"{base}/in")
    done = threading.Event()

    def churn() -> None:
        while not done.is_set():
            write(f"{base}/in/scratch.tmp", "x\n", "a")

    writer = threading.Thread(target=churn, daemon=True)
    writer.start()
    try:
        for _ in range(40):
            feed = feed_in(base, source("in/*.jsonl", "jsonl"))
            time.sleep(0.02)
            feed.close()
    finally:
        done.set()
        writer.join()
    assert_watchdog_records_reach_no_handler()


def assert_watchdog_records_reach_no_handler() -> None:
    seen: list[logging.LogRecord] = []
    collect = logging.Handler()
    collect.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(collect)
    try:
        logging.getLogger("watchdog.observers.inotify_buffer").warning("Inotify queue overflowed")
    finally:
        logging.getLogger().removeHandler(collect)
    assert seen == []
