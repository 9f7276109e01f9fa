"""The example table of the language's semantics (SPEC §5 and docs/language.md#semantics), shared by
`tests/dsl/test_interpret.py` (the reference interpreter) and `tests/compiler/test_lower_expr.py`
(the Polars lowering): one row per rule, an expression over `RECORD`, and what it must give.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct

INT_MAX, INT_MIN = 2**63 - 1, -(2**63)
NOW = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)
TS = datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)

SCHEMA = Struct((
    ("i", t.INT), ("big", t.INT), ("small", t.INT), ("n", t.INT), ("m", t.INT),
    ("f", t.FLOAT), ("huge", t.FLOAT), ("s", t.STRING), ("u", t.STRING), ("b", t.BOOL), ("nb", t.BOOL),
    ("ts", t.DATETIME), ("last", t.DATETIME), ("d", t.DURATION), ("dbig", t.DURATION), ("day", t.DATE),
    ("l", ListOf(t.INT)), ("ls", ListOf(t.STRING)), ("empty", ListOf(t.INT)),
    ("st", Struct((("x", t.INT), ("y", t.STRING)))), ("nst", Struct((("x", t.INT),))),
))
RECORD: dict[str, object] = {
    "i": 7, "big": INT_MAX, "small": INT_MIN, "n": None,  # "m" is missing
    "f": 2.5, "huge": 1e308, "s": "ab", "u": "é", "b": True, "nb": None,
    "ts": TS, "last": datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "d": timedelta(minutes=90),
    "dbig": timedelta(microseconds=INT_MAX), "day": date(2024, 2, 29),
    "l": [10, 20, 30], "ls": ["x", None], "empty": [],
    "st": {"x": 1}, "nst": None,  # st.y is missing inside the struct
}


class Err(str):
    """The text of the record error an expression must raise."""


def overflow(what: str, op: str) -> Err:
    return Err(f"overflow: {what} overflow in '{op}'")


CASES: list[tuple[str, object]] = [
    # literals and fields
    ("42", 42), ("-3.5", -3.5), ("'x\\ty'", "x\ty"), ("5m", timedelta(minutes=5)), ("[1, 2]", [1, 2]),
    ("[]", []), ("[1, 2.5]", [1.0, 2.5]), ("[n, 1]", [None, 1]), ("null", None), ("now()", NOW),
    ("m", None), ("m is null", True), ("st.x", 1), ("st.y", None), ("nst.x", None), ("$.i", 7),
    # null propagation
    ("n + 1", None), ("n == n", None), ("-n", None), ("n * 0", None), ("null + 1", None),
    ("n is null", True), ("n is not null", False), ("i is null", False),
    # three-valued logic
    ("nb and false", False), ("nb and true", None), ("nb or true", True), ("nb or false", None),
    ("not nb", None), ("not b", False), ("false and nb", False), ("true or nb", True),
    # arithmetic
    ("i + 1", 8), ("i - 10", -3), ("i * -2", -14), ("i + f", 9.5), ("i * 1.0", 7.0),
    ("7 / 2", 3.5), ("6 / 3", 2.0), ("7 // 2", 3), ("-7 // 2", -4), ("7 // -2", -4),
    ("7 % 2", 1), ("-7 % 2", 1), ("7 % -2", -1), ("-7.5 % 2", 0.5), ("5.5 % -2", -0.5),
    ("7.5 // 2", 3.0), ("1.0 // 0.1", 10.0), ("1.0 % 0.1", 0.0),
    ("concat((f - f) // -0.5)", "-0.0"), ("concat(0.0 // -0.5)", "-0.0"),  # IEEE floor keeps a zero's sign
    ("7 / 0", None), ("7.0 / 0", None), ("7 / 0.0", None), ("7 // 0", None), ("7 % 0", None),
    ("f % 0.0", None), ("(i // 2) * 2 + i % 2 == i", True),
    ("huge * 10", float("inf")), ("-huge * 10", float("-inf")),
    # integer overflow is a record error, never a wrap
    ("big + 1", overflow("integer", "+")), ("small - 1", overflow("integer", "-")), ("big * 2", overflow("integer", "*")),
    ("-small", overflow("integer", "-")), ("small // -1", overflow("integer", "//")), ("small % -1", 0),
    ("abs(small)", Err("overflow: integer overflow in abs")), ("-1 * small", overflow("integer", "*")), ("2 * (big // 2 + 1)", overflow("integer", "*")),
    ("small * 1", INT_MIN), ("big * -1", -INT_MAX), ("0 * small", 0), ("-3037000500 * 3037000500", overflow("integer", "*")),
    ("3037000499 * -3037000499", -9223372030926249001),
    ("big - 1 + 1", INT_MAX), ("-big - 1", INT_MIN), ("small * -1", overflow("integer", "*")),
    ("(big + 1) + (small - 1)", overflow("integer", "+")), ("(small - 1) * (big + 1)", overflow("integer", "-")),
    # strings
    ("s + u", "abé"), ("'' + s", "ab"), ("'a' < 'b'", True),
    ("u > 'z'", True), ("'Z' < 'a'", True), ("s == 'ab'", True), ("'é' < '😀'", True),
    # time
    ("ts + 5m", TS + timedelta(minutes=5)), ("5m + ts", TS + timedelta(minutes=5)),
    ("ts - 1d", TS - timedelta(days=1)), ("now() - ts", NOW - TS), ("d + d", timedelta(minutes=180)),
    ("d - 2h", timedelta(minutes=-30)), ("-d", timedelta(minutes=-90)), ("d * 2", timedelta(minutes=180)),
    ("3 * d", timedelta(minutes=270)), ("last + 1d", overflow("datetime", "+")),
    ("ts - dbig", overflow("datetime", "-")), ("dbig + 1m", overflow("duration", "+")),
    ("dbig * 2", overflow("duration", "*")), ("ts < now()", True), ("d > 1h", True), ("day == day", True),
    # comparisons
    ("i == 7.0", True), ("i < 7.5", True), ("9007199254740993 == 9007199254740992.0", True),
    ("true > false", True), ("i != 7", False), ("0.0 == -0.0", True),
    ("huge * 10 - huge * 10 == huge * 10 - huge * 10", True), ("huge * 10 - huge * 10 > huge * 10", True),
    ("huge * 10 - huge * 10 < 1.0", False),
    # in, between
    ("2 in (1, 2)", True), ("3 in (1, null)", False), ("n in (1, 2)", None), ("1 not in (2, null)", True),
    ("2 in [2.0]", True), ("s in ('x', 'ab')", True),
    ("i in ()", False), ("n in ()", None), ("i not in ()", True),
    ("huge * 10 - huge * 10 in (1.0, huge * 10 - huge * 10)", True),
    ("2 between 1 and 3", True), ("n between 1 and 3", None), ("5 between null and 3", False),
    ("2 between null and 3", None), ("i between 7 and 7", True),
    # conditionals
    ("if(nb, 1, 2)", 2), ("if(b, 1, 2.5)", 1.0), ("case when false then 1 end", None),
    ("case when nb then 1 when true then 2 else 3 end", 2), ("if(b, null, 2)", None),
    # errors only from what is evaluated
    ("if(false, big + 1, 0)", 0), ("if(nb, big + 1, 0)", 0), ("if(b, big + 1, 0)", overflow("integer", "+")),
    ("false and big + 1 > 0", False), ("true or big + 1 > 0", True),
    ("nb and big + 1 > 0", overflow("integer", "+")), ("case when false then big + 1 else 1 end", 1),
    ("case when b then 1 else big + 1 end", 1), ("coalesce(1, big + 1)", 1),
    ("coalesce(n, big + 1)", overflow("integer", "+")), ("(big + 1) is null", overflow("integer", "+")),
    # lists and structs
    ("l[0]", 10), ("l[-1]", 30), ("l[3]", None), ("l[-4]", None), ("l[n]", None), ("empty[0]", None),
    ("ls[1]", None), ("[1, 2][i - 6]", 2), ("[[1], []][0]", [1]),
]
