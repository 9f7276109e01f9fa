"""Durations, sizes and rates as written in specs (`flowc.dsl.units`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.dsl.units import format_duration, parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(("text", "micros"), [
    ("250ms", 250_000), ("30s", 30_000_000), ("5m", 300_000_000), ("1h", 3_600_000_000),
    ("1d", 86_400_000_000), ("0s", 0), ("7us", 7), (" 2s ", 2_000_000),
])
def test_durations_are_microseconds(text: str, micros: int) -> None:
    assert parse_duration(text) == micros


@pytest.mark.parametrize("text", ["", "5", "1.5s", "-1s", "5 min", "1w", "s", "5M", "1h30m"])
def test_malformed_durations_are_none(text: str) -> None:
    assert parse_duration(text) is None


def test_non_text_is_no_duration() -> None:
    assert parse_duration(5) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "size"), [
    ("512KB", 512_000), ("100MB", 100_000_000), ("1GB", 10**9), ("1KiB", 1024), ("2MiB", 2 * 1024**2),
    ("10B", 10), ("1TB", 10**12),
])
def test_sizes_are_bytes_kb_decimal_kib_binary(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "1", "1.5MB", "1kb", "-1MB", "MB"])
def test_malformed_sizes_are_none(text: str) -> None:
    assert parse_size(text) is None


@pytest.mark.parametrize(("text", "rate"), [("10/s", 10.0), ("120/m", 2.0), ("0.5/s", 0.5), ("36/h", 0.01)])
def test_rates_are_per_second(text: str, rate: float) -> None:
    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["10", "/s", "10/d", "ten/s"])
def test_malformed_rates_are_none(text: str) -> None:
    assert parse_rate(text) is None


@given(st.integers(min_value=0, max_value=10**15))
def test_format_duration_round_trips(micros: int) -> None:
    assert parse_duration(format_duration(micros)) == micros
