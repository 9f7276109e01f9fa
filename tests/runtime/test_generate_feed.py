"""`generate` with a `rate` or without a `count`: a paced, resumable feed (SPEC §3)."""

from __future__ import annotations

import polars as pl

from flowc.compiler.lower_plan import ROW
from flowc.compiler.normalize import normalize_spec
from flowc.dsl.loader import load_text
from flowc.runtime.sources import is_feed
from flowc.runtime.sources.generated import GenerateFeed


def source(body: str):
    doc, problems = load_text(f"version: 1\npipeline: p\nsources:\n  g: {body}\nsinks:\n  o: {{type: console}}\n",
                              "p.flow.yaml")
    assert doc is not None, problems
    return normalize_spec(doc)[0].sources[0]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_records_are_released_at_the_rate() -> None:
    fake = FakeTime()
    feed = GenerateFeed(source("{type: generate, count: 10, rate: 4/s, fields: {n: _n * 10}}"), fake.clock, fake.sleep)
    feed.open(None)
    assert feed.poll(100, 0.1) is None  # nothing is due at once, and the wait ends at the timeout
    fake.now = 1.0
    first = feed.poll(100, 0.0)
    assert first.get_column("n").to_list() == [0, 10, 20, 30] and first.get_column(ROW).to_list() == [0, 1, 2, 3]
    # waits for the next record (due at 1.25 s), then gathers a partial batch for `timeout` after it
    second = feed.poll(100, 0.5)
    assert second.get_column("n").to_list() == [40, 50, 60] and fake.now == 1.75
    assert not feed.exhausted()
    third = feed.poll(100, 5.0)  # the last three are due by 2.5 s: the batch is full before the timeout
    assert third.get_column("n").to_list() == [70, 80, 90] and fake.now == 2.5
    assert feed.next == 10 and feed.exhausted()
    assert feed.poll(100, 0.0) is None


def test_time_not_polled_banks_at_most_one_seconds_records() -> None:
    """A pause of 100 s released 400 records at once on `flowc resume`; now one second's worth, then the rate."""
    fake = FakeTime()
    feed = GenerateFeed(source("{type: generate, rate: 4/s, fields: {n: _n}}"), fake.clock, fake.sleep)
    feed.open(None)
    fake.now = 100.0
    assert feed.poll(1000, 0.0).get_column("n").to_list() == [0, 1, 2, 3]
    fake.now = 100.5
    assert feed.poll(1000, 0.0).get_column("n").to_list() == [4, 5]


def test_a_resumed_feed_goes_on_at_the_checkpointed_record() -> None:
    g = source("{type: generate, fields: {n: _n}}")
    assert is_feed(g)
    feed = GenerateFeed(g)
    feed.open({"next": 7})
    batch = feed.poll(3, 0.0)
    assert batch.get_column("n").to_list() == [7, 8, 9] and feed.position() == {"next": 10}
    assert not feed.exhausted()  # no count: endless
    assert batch.select(feed.positions(pl.col(ROW))).to_series().to_list() == ["_n=7", "_n=8", "_n=9"]


def test_a_counted_generator_without_a_rate_is_scanned_not_polled() -> None:
    assert not is_feed(source("{type: generate, count: 3, fields: {n: _n}}"))
