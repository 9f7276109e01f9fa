"""The hold a schemaless feed puts on a batch that tells no schema (`SchemaHold`)."""

from __future__ import annotations

from flowc.runtime.sources.feed import SchemaHold


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_that_tells_a_schema_is_never_held() -> None:
    hold = SchemaHold(limit=5.0, clock=Clock())
    assert hold.holds(tells_nothing=False) is False
    assert hold.since is None


def test_a_batch_that_tells_nothing_is_held_until_the_limit_from_the_first_hold() -> None:
    clock = Clock()
    hold = SchemaHold(limit=5.0, clock=clock)
    assert hold.holds(tells_nothing=True) is True
    clock.now += 4.9
    assert hold.holds(tells_nothing=True) is True  # counted from the first hold, not the last
    clock.now += 0.1
    assert hold.holds(tells_nothing=True) is False
    assert hold.since is None  # let go: a later batch that tells nothing starts a new hold
    assert hold.holds(tells_nothing=True) is True


def test_a_batch_that_tells_a_schema_ends_the_hold() -> None:
    clock = Clock()
    hold = SchemaHold(limit=5.0, clock=clock)
    assert hold.holds(tells_nothing=True) is True
    clock.now += 4.0
    assert hold.holds(tells_nothing=False) is False
    clock.now += 4.0
    assert hold.holds(tells_nothing=True) is True  # a new hold: 4 s, not 8 s, since it began
