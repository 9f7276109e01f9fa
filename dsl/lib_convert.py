"""Conversion functions of SPEC §5, and the one text form of every scalar (`to_string`).

A conversion that fails on a non-null value raises `RecordError(CONVERSION, ...)`; the message names
the value (as `render_value` shows it) and the target type. The Polars lowering builds the same text.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

from flowc.dsl import types as t
from flowc.dsl.function_def import FunctionDef, typed
from flowc.dsl.record_errors import CONVERSION, RecordError

CONVERTIBLE = (t.STRING, t.INT, t.FLOAT, t.BOOL, t.DATETIME, t.DATE)
INT_TEXT = re.compile(r"[+-]?[0-9]+")
FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
TRUE_TEXT = ("true", "1")
FALSE_TEXT = ("false", "0")
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
MESSAGE_CHARS = 40  # a long string is cut to this many characters (and "...") inside an error message


def format_float(x: float) -> str:
    """The shortest text that reads back as `x`, laid out as Polars casts a float to a string.

    That is Python's `repr`, except that exponents are not zero-padded (`2.5e-7`), 1e-5 <= |x| < 1e-4
    is written out (`0.00001`), and NaN is `NaN`.
    """
    if math.isnan(x):
        return "NaN"
    text = repr(x)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if power == -5:
        return ("-" if x < 0 else "") + "0.0000" + mantissa.lstrip("-").replace(".", "")
    return f"{mantissa}e{power}" if power < 0 else f"{mantissa}e+{power}"


def format_datetime(ts: datetime) -> str:
    """ISO-8601 in UTC with a `Z`; the fraction has 0, 3 or 6 digits, as many as it needs."""
    text = f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d}"
    micros = ts.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


def to_string(x: object) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return format_float(x)
    if isinstance(x, datetime):
        return format_datetime(x)
    if isinstance(x, date):
        return x.isoformat()
    raise TypeError(f"to_string of {type(x).__name__}")  # the type checker allows no other type


def render_value(x: object) -> str:
    """A value as an error message shows it: strings quoted (long ones cut), others as `to_string`."""
    if isinstance(x, str):
        return "'" + (x[:MESSAGE_CHARS] + "..." if len(x) > MESSAGE_CHARS else x) + "'"
    return to_string(x)


def conversion_error(value: object, target: str) -> RecordError:
    return RecordError(CONVERSION, f"cannot convert {render_value(value)} to {target}")


def to_int(x: object) -> int:
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        if math.isfinite(x) and INT_MIN <= math.trunc(x) <= INT_MAX:
            return math.trunc(x)
    elif isinstance(x, str) and INT_TEXT.fullmatch(x) and INT_MIN <= int(x) <= INT_MAX:
        return int(x)
    raise conversion_error(x, "int")


def to_float(x: object) -> float:
    if isinstance(x, bool | int | float):
        return float(x)
    if isinstance(x, str) and FLOAT_TEXT.fullmatch(x) and math.isfinite(value := float(x)):
        return value
    raise conversion_error(x, "float")


def to_bool(x: object) -> bool:
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return x != 0
    if isinstance(x, str) and x.lower() in TRUE_TEXT + FALSE_TEXT:
        return x.lower() in TRUE_TEXT
    raise conversion_error(x, "bool")


CONVERSION_FUNCTIONS = (
    FunctionDef("to_int", "to_int(x: int | float | string | bool) -> int", 1, 1,
                typed(t.INT, (t.INT, t.FLOAT, t.STRING, t.BOOL)), to_int, "propagate",
                "`x` as an int: a float is truncated toward zero; a string must be an optional sign and "
                "decimal digits; `true` is 1. A value out of the 64-bit range, NaN, infinity or any other "
                "string is a conversion error.",
                (("to_int(\"42\")", 42), ("to_int(x)", 2), ("to_int(-2.9)", -2)),
                decisions=("to_int truncates floats toward zero; NaN, infinities and out-of-range floats fail",
                           "to_int of a string accepts only [+-]digits: \" 42 \" and \"4.0\" fail (use trim, to_float)",
                           "to_int(true) is 1 and to_int(false) is 0")),
    FunctionDef("to_float", "to_float(x: int | float | string | bool) -> float", 1, 1,
                typed(t.FLOAT, (t.INT, t.FLOAT, t.STRING, t.BOOL)), to_float, "propagate",
                "`x` as a float. A string must be a decimal number with an optional sign and exponent "
                "(`-1.5`, `.5`, `1e6`); one that is too large for a float, `nan`, `inf` or any other "
                "string is a conversion error.",
                (("to_float(\"1e3\")", 1000.0), ("to_float(n)", -7.0)),
                decisions=("to_float of a string accepts [+-]digits[.digits][e[+-]digits] only, no spaces, nan or inf",)),
    FunctionDef("to_string", "to_string(x: string | int | float | bool | datetime | date) -> string", 1, 1,
                typed(t.STRING, CONVERTIBLE), to_string, "propagate",
                "`x` as text: ints in decimal, floats in their shortest exact form (`0.1`, `1e+16`, "
                "`2.5e-7`), bools as `true`/`false`, datetimes in ISO-8601 with a `Z`, dates as `YYYY-MM-DD`.",
                (("to_string(x)", "2.675"), ("to_string(n)", "-7"), ("to_string(ts)", "2024-03-10T14:05:09.250Z")),
                decisions=("to_string of a float is the shortest text that reads back exactly; scientific "
                           "below 1e-5 and from 1e16",
                           "to_string of a datetime is ISO-8601 UTC with Z and 0, 3 or 6 fraction digits")),
    FunctionDef("to_bool", "to_bool(x: bool | int | string) -> bool", 1, 1,
                typed(t.BOOL, (t.BOOL, t.INT, t.STRING)), to_bool, "propagate",
                "`x` as a bool: a string `true`/`1` or `false`/`0` in any case; an int is true unless "
                "it is 0. Any other string is a conversion error.",
                (("to_bool(\"TRUE\")", True), ("to_bool(0)", False)),
                decisions=("to_bool accepts 'true', 'false', '1', '0' in any case, no spaces; ints are true unless 0",)),
)
