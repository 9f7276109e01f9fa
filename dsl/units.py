"""Durations, sizes and rates as written in a spec (SPEC §1): `250ms`, `100MB`, `10/s`.

Every parser returns None for text it does not accept, never raises: the JSON Schema (E405/E406)
reports the malformed text, and later phases only see values that parsed.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(\d+)(us|ms|s|m|h|d)$")
_MICROS = {"us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}

_SIZE = re.compile(r"^(\d+)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_BYTES = {
    "B": 1,
    "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
    "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4,
}

_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*/\s*(s|m|h)$")
_PER_SECOND = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> int | None:
    """Microseconds in a duration: an integer and one unit of us, ms, s, m, h, d.

    >>> parse_duration("250ms"), parse_duration("1d"), parse_duration("1.5s")
    (250000, 86400000000, None)
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    return int(match.group(1)) * _MICROS[match.group(2)] if match else None


# A duration field's text in a source (SPEC §3 `duration`): flowc's literal with an optional sign, or an
# ISO-8601 duration of exact units (weeks, days, hours, minutes, seconds with up to 6 fraction digits),
# as flowc's sinks write durations (`PT1M`, `-P1DT2H`, `PT0.000001S`). Years and months have no fixed
# length and are not read. `compiler/source_durations.py` is the Polars form; a property test compares.
_TEXT_DURATION = re.compile(r"(-?)([0-9]+)(us|ms|s|m|h|d)")
_ISO_DURATION = re.compile(r"(-?)P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?"
                           r"(?:([0-9]+)(?:\.([0-9]{1,6}))?S)?)?")
UNIT_MICROS = dict(_MICROS)  # the units of a duration literal, for the Polars reading
ISO_UNITS = (7 * _MICROS["d"], _MICROS["d"], _MICROS["h"], _MICROS["m"], _MICROS["s"])  # W D H M S
DURATION_MIN, DURATION_MAX = -(2**63), 2**63 - 1  # microseconds in a signed 64-bit count


def duration_from_text(text: str) -> int | None:
    """Microseconds in a duration field's text (`90s`, `-5m`, `PT1M30S`), None when it is not one or is
    out of range.

    >>> duration_from_text("1m"), duration_from_text("PT1M0.5S"), duration_from_text("-P1D")
    (60000000, 60500000, -86400000000)
    >>> duration_from_text("P1M"), duration_from_text("PT"), duration_from_text("60"), duration_from_text(" 1m")
    (None, None, None, None)
    """
    if (short := _TEXT_DURATION.fullmatch(text)) is not None:
        sign, number, unit = short.groups()
        micros = int(number) * _MICROS[unit]
    elif (iso := _ISO_DURATION.fullmatch(text)) is not None and any(iso.groups()[1:6]) and not text.endswith("T"):
        sign, *parts, fraction = iso.groups()
        micros = sum(int(p) * unit for p, unit in zip(parts, ISO_UNITS, strict=True) if p is not None)
        micros += int(fraction.ljust(6, "0")) if fraction is not None else 0
    else:
        return None
    micros = -micros if sign else micros
    return micros if DURATION_MIN <= micros <= DURATION_MAX else None


def parse_size(text: str | int) -> int | None:
    """Bytes in a size: an integer and a unit, or a plain non-negative integer of bytes.

    Units follow IEC 80000-13, as disks and network tools count: `KB`, `MB`, `GB`, `TB` are powers of
    1000, and `KiB`, `MiB`, `GiB`, `TiB` powers of 1024; `B` is a byte. Units are case-sensitive
    (`mb` would read as millibits to some people).

    >>> parse_size("512KB"), parse_size("1KiB"), parse_size("1GB"), parse_size(4096)
    (512000, 1024, 1000000000, 4096)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text if text >= 0 else None
    match = _SIZE.match(text.strip()) if isinstance(text, str) else None
    return int(match.group(1)) * _BYTES[match.group(2)] if match else None


def parse_rate(text: str | float) -> float | None:
    """Events per second in a rate such as `10/s`, `600/m` or `0.5/s`; a bare positive number (`rate: 100`,
    as a user of generators and rate limiters writes it) counts per second.

    >>> parse_rate("10/s"), parse_rate("120/m"), parse_rate(4), parse_rate(0.5)
    (10.0, 2.0, 4.0, 0.5)
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text) if text > 0 else None
    match = _RATE.match(text.strip()) if isinstance(text, str) else None
    return float(match.group(1)) / _PER_SECOND[match.group(2)] if match else None


def format_duration(micros: int) -> str:
    """The shortest exact spelling of a duration: `format_duration(90_000_000)` is `90s`.

    >>> format_duration(300_000_000), format_duration(1500), format_duration(0)
    ('5m', '1500us', '0s')
    """
    if micros == 0:
        return "0s"
    for unit in ("d", "h", "m", "s", "ms", "us"):
        if micros % _MICROS[unit] == 0:
            return f"{micros // _MICROS[unit]}{unit}"
    raise AssertionError("unreachable: every integer is a multiple of 1us")
