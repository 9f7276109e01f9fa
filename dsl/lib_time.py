"""Time functions of SPEC §5, and the timestamp formats `parse_timestamp`/`format_timestamp` share.

A format is literal text with the directives of `DIRECTIVES`, each a fixed number of digits, so that
the reference (Python's `re`) and Polars (`str.extract_groups`, chrono's `strftime`) read and write
exactly the same texts.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from flowc.dsl import types as t
from flowc.dsl.function_def import STRING, TIMES, Fails, FunctionDef, Problem, same_as_arg, typed
from flowc.dsl.lib_convert import render_value
from flowc.dsl.record_errors import CONVERSION, RecordError

# directive -> (group name, regex when parsing); %f reads 1-9 fraction digits and writes 6
DIRECTIVES = {"%Y": ("year", "[0-9]{4}"), "%m": ("month", "[0-9]{2}"), "%d": ("day", "[0-9]{2}"),
              "%H": ("hour", "[0-9]{2}"), "%M": ("minute", "[0-9]{2}"), "%S": ("second", "[0-9]{2}"),
              "%f": ("fraction", "[0-9]{1,9}"), "%z": ("offset", "Z|[+-][0-9]{2}:?[0-9]{2}"),
              "%j": ("yday", None)}  # %j formats only
_DIRECTIVE = re.compile(r"%.")
ISO_REGEX = (r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
             r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?)?"
             r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?)?$")
UNITS = ("year", "month", "week", "day", "hour", "minute", "second")
DEFAULTS = {"year": 1970, "month": 1, "day": 1}


def format_problem(fmt: str, parsing: bool) -> str | None:
    seen: set[str] = set()
    for directive in _DIRECTIVE.findall(fmt):
        if directive == "%%":
            continue
        if directive not in DIRECTIVES or (parsing and DIRECTIVES[directive][1] is None):
            allowed = " ".join(d for d, (_, rx) in DIRECTIVES.items() if rx or not parsing)
            return f"unsupported directive '{directive}' in format; use {allowed} or %%"
        if directive in seen:
            return f"directive '{directive}' appears twice in format"
        seen.add(directive)
    return "format ends with a lone '%'" if "%" in _DIRECTIVE.sub("", fmt) else None


def format_regex(fmt: str) -> str:
    """The regex, with one named group per directive, that a text in format `fmt` matches in full."""
    parts, i = ["^"], 0
    for match in _DIRECTIVE.finditer(fmt):
        parts.append(re.escape(fmt[i:match.start()]))
        directive = match.group()
        name, rx = DIRECTIVES.get(directive, (None, None))
        parts.append("%" if directive == "%%" else f"(?P<{name}>{rx})")
        i = match.end()
    parts.append(re.escape(fmt[i:]) + "$")
    return "".join(parts)


def timestamp_from_parts(parts: dict[str, str | None]) -> datetime | None:
    """The UTC time that the matched groups name, or None when they name none (Feb 30, 25:00)."""
    num = {k: int(parts[k]) if parts.get(k) else DEFAULTS.get(k, 0) for k in ("year", "month", "day", "hour", "minute", "second")}
    micros = int((parts.get("fraction") or "0")[:6].ljust(6, "0"))
    offset = parts.get("offset") or "Z"
    sign, digits = (1 if offset[0] == "+" else -1), offset[1:].replace(":", "")
    off_h, off_m = (int(digits[:2]), int(digits[2:])) if offset != "Z" else (0, 0)
    if num["hour"] > 23 or num["minute"] > 59 or num["second"] > 59 or off_h > 23 or off_m > 59:
        return None
    try:
        local = datetime(num["year"], num["month"], num["day"], num["hour"], num["minute"], num["second"], micros, UTC)
        return local - sign * timedelta(hours=off_h, minutes=off_m)
    except (ValueError, OverflowError):
        return None


def _parse_timestamp(s: str, fmt: str | None = None) -> datetime:
    match = re.match(ISO_REGEX if fmt is None else format_regex(fmt), s)
    result = timestamp_from_parts(match.groupdict()) if match else None
    if result is None:
        suffix = "" if fmt is None else f" with format '{fmt}'"
        raise RecordError(CONVERSION, f"cannot convert {render_value(s)} to datetime{suffix}")
    return result


def _format_timestamp(ts: datetime, fmt: str) -> str:
    values = {"%Y": f"{ts.year:04d}", "%m": f"{ts.month:02d}", "%d": f"{ts.day:02d}", "%H": f"{ts.hour:02d}",
              "%M": f"{ts.minute:02d}", "%S": f"{ts.second:02d}", "%f": f"{ts.microsecond:06d}",
              "%j": f"{ts.timetuple().tm_yday:03d}", "%z": "+0000", "%%": "%"}
    return _DIRECTIVE.sub(lambda m: values[m.group()], fmt)


def date_trunc(unit: str, ts: datetime | date) -> datetime | date:
    if unit == "week":
        start = ts - timedelta(days=ts.weekday())
        return start.replace(hour=0, minute=0, second=0, microsecond=0) if isinstance(start, datetime) else start
    keep = UNITS.index(unit)
    fields = {"month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "microsecond": 0}
    reset = {k: v for k, v in fields.items() if (UNITS.index(k) if k in UNITS else 7) > keep}
    if not isinstance(ts, datetime):
        reset = {k: v for k, v in reset.items() if k in ("month", "day")}
    return ts.replace(**reset)


def _check_parse(constants: tuple[object, ...]) -> list[Problem]:
    fmt = constants[1] if len(constants) > 1 else None
    problem = format_problem(fmt, parsing=True) if isinstance(fmt, str) else None
    return [(1, "E225", {"name": "parse_timestamp", "problem": problem})] if problem else []


def _check_format(constants: tuple[object, ...]) -> list[Problem]:
    fmt = constants[1]
    problem = format_problem(fmt, parsing=False) if isinstance(fmt, str) else None
    return [(1, "E225", {"name": "format_timestamp", "problem": problem})] if problem else []


def _check_unit(constants: tuple[object, ...]) -> list[Problem]:
    unit = constants[0]
    if isinstance(unit, str) and unit not in UNITS:
        return [(0, "E225", {"name": "date_trunc", "problem": f"unknown unit '{unit}'; units are {', '.join(UNITS)}"})]
    return []


def _now() -> datetime:
    raise AssertionError("now() is the batch time: the interpreter and the lowering evaluate it themselves")


def _part(name: str, evaluate, doc: str, allowed, examples) -> FunctionDef:
    kinds = " | ".join(str(a) for a in allowed)
    return FunctionDef(name, f"{name}(ts: {kinds}) -> int", 1, 1, typed(t.INT, allowed), evaluate, "propagate",
                       doc, examples)


TIME_FUNCTIONS = (
    FunctionDef("now", "now() -> datetime", 0, 0, typed(t.DATETIME), _now, "custom",
                "The batch's start time, recorded with the batch and reused when it is replayed "
                "(`flowc test` pins it with a test's `now:`).", (("now()", datetime(2024, 3, 11, 9, 0, tzinfo=UTC)),)),
    FunctionDef("parse_timestamp", "parse_timestamp(s: string, format?: string) -> datetime", 1, 2,
                typed(t.DATETIME, STRING, STRING), _parse_timestamp, "propagate",
                "The UTC time that `s` names. Without `format`: ISO-8601 `YYYY-MM-DD`, optionally followed by "
                "`T` or a space, `HH:MM`, optional `:SS` and fraction, and `Z` or an offset `+HH:MM` (no "
                "offset is UTC). A `format` uses %Y %m %d %H %M %S (fixed widths), %f (1-9 fraction "
                "digits), %z (`Z`, `+HH:MM` or `+HHMM`) and %%. A text that does not fit is a conversion error.",
                (("parse_timestamp(\"2024-03-10T15:05:09.25+01:00\")", datetime(2024, 3, 10, 14, 5, 9, 250000, UTC)),
                 ("parse_timestamp(\"10/03/2024\", \"%d/%m/%Y\")", datetime(2024, 3, 10, tzinfo=UTC)),
                 ("parse_timestamp(\"2024-02-30\")", Fails("conversion: cannot convert '2024-02-30' to datetime"))),
                constant_args=((1, "string (a format)"),), check_values=_check_parse,
                decisions=("parse_timestamp keeps microseconds and drops further fraction digits",
                           "parse_timestamp's fields missing from a format default to 1970-01-01 00:00:00")),
    FunctionDef("format_timestamp", "format_timestamp(ts: datetime, format: string) -> string", 2, 2,
                typed(t.STRING, (t.DATETIME,), STRING), _format_timestamp, "propagate",
                "`ts` written with `format`: %Y %m %d %H %M %S (zero-padded), %f (6 digits of microseconds), "
                "%j (day of the year), %z (`+0000`) and %%.",
                (("format_timestamp(ts, \"%d.%m.%Y %H:%M\")", "10.03.2024 14:05"),),
                constant_args=((1, "string (a format)"),), check_values=_check_format),
    _part("year", lambda ts: ts.year, "The year of a datetime or date.", TIMES, (("year(ts)", 2024),)),
    _part("month", lambda ts: ts.month, "The month, 1 to 12.", TIMES, (("month(ts)", 3),)),
    _part("day", lambda ts: ts.day, "The day of the month, 1 to 31.", TIMES, (("day(ts)", 10),)),
    _part("hour", lambda ts: ts.hour, "The hour, 0 to 23 (UTC).", (t.DATETIME,), (("hour(ts)", 14),)),
    _part("minute", lambda ts: ts.minute, "The minute, 0 to 59.", (t.DATETIME,), (("minute(ts)", 5),)),
    _part("day_of_week", lambda ts: ts.isoweekday(), "The ISO day of the week: Monday is 1, Sunday is 7.",
          TIMES, (("day_of_week(ts)", 7),)),
    FunctionDef("date_trunc", "date_trunc(unit: string, ts: datetime | date) -> same type", 2, 2,
                same_as_arg(1, STRING, TIMES), date_trunc, "propagate",
                "`ts` truncated to the start of its `unit`: `year`, `month`, `week` (Monday), `day`, `hour`, "
                "`minute` or `second`. A date stays a date (units below `day` leave it unchanged).",
                (("date_trunc(\"week\", ts)", datetime(2024, 3, 4, tzinfo=UTC)),
                 ("date_trunc(\"hour\", ts)", datetime(2024, 3, 10, 14, tzinfo=UTC))),
                constant_args=((0, "string (a unit)"),), check_values=_check_unit,
                decisions=("date_trunc units: year, month, week (ISO, Monday), day, hour, minute, second",
                           "day_of_week is ISO: Monday 1 ... Sunday 7")),
)
