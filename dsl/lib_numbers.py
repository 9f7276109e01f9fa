"""Number functions of SPEC §5, and `coalesce`."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal

from flowc.dsl.function_def import INT, NUMBER, ORDERED, Fails, FunctionDef, Problem, common_type, same_as_arg
from flowc.dsl.record_errors import OVERFLOW, RecordError
from flowc.dsl.types import Type

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_EXACT = Context(prec=2000, Emin=-2000, Emax=2000)  # a float's decimal expansion has at most 1075 digits
MAX_DIGITS = 400  # beyond this many digits either way, rounding is the identity or gives 0 for every float


def _checked(value: int, name: str) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise RecordError(OVERFLOW, f"integer overflow in {name}")
    return value


def _abs(x: int | float) -> int | float:
    return _checked(abs(x), "abs") if isinstance(x, int) else abs(x)


def round_int(x: int, digits: int) -> int:
    if digits >= 0:
        return x
    unit = 10 ** -digits
    quotient, remainder = divmod(abs(x), unit)
    rounded = (quotient + (2 * remainder >= unit)) * unit
    return _checked(rounded if x >= 0 else -rounded, "round")


def round_float(x: float, digits: int) -> float:
    """Half away from zero on the exact binary value of `x` (`round(2.675, 2)` is 2.67)."""
    if not math.isfinite(x):
        return x
    exact = Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=_EXACT)
    return float(exact)


def _round(x: int | float, digits: int = 0) -> int | float:
    return round_float(x, digits) if isinstance(x, float) else round_int(x, digits)


def _check_round(constants: tuple[object, ...]) -> list[Problem]:
    digits = constants[1] if len(constants) > 1 else 0
    if isinstance(digits, int) and abs(digits) > MAX_DIGITS:
        return [(1, "E225", {"name": "round", "problem": f"digits must be between -{MAX_DIGITS} and {MAX_DIGITS}"})]
    return []


def _whole(x: int | float, to_int: Callable[[float], int]) -> int | float:
    """floor/ceil as IEEE computes them: a float stays a float, and keeps its sign at zero (ceil(-0.5)
    is -0.0, as in Polars)."""
    if isinstance(x, int) or not math.isfinite(x) or x == int(x):
        return x
    return math.copysign(float(to_int(x)), x)


def _pick(choose: Callable[..., object]) -> Callable[..., object]:
    """least/greatest over the non-null arguments; NaN only when every other argument is null; a float
    zero result is 0.0, never -0.0."""

    def evaluate(*args: object) -> object:
        present = [a for a in args if a is not None]
        if any(isinstance(a, float) for a in present):
            present = [float(a) for a in present]  # type: ignore[arg-type]
        numbers = [a for a in present if not (isinstance(a, float) and math.isnan(a))]
        chosen = choose(numbers) if numbers else (present[0] if present else None)
        # 0.0 and -0.0 are equal, and which one min/max keep differs between Python and Polars: a zero is 0.0
        return chosen + 0.0 if isinstance(chosen, float) else chosen

    return evaluate


def _coalesce(*thunks: Callable[[], object]) -> object:
    for thunk in thunks:
        value = thunk()
        if value is not None:
            return value
    return None


def _ordered_type(args: tuple[Type, ...]) -> Type | str:
    return common_type(args, ORDERED)


def _round_type(args: tuple[Type, ...]) -> Type | str:
    return same_as_arg(0, NUMBER, INT)(args)


def _unary_number(name: str, evaluate, doc: str, examples, decisions=()) -> FunctionDef:
    return FunctionDef(name, f"{name}(x: int | float) -> same type", 1, 1, same_as_arg(0, NUMBER), evaluate,
                       "propagate", doc, examples, decisions=decisions)


NUMBER_FUNCTIONS = (
    _unary_number("abs", _abs, "The absolute value; `abs` of the smallest int overflows (a record error).",
                  (("abs(n)", 7), ("abs(-1.5)", 1.5))),
    FunctionDef("round", "round(x: int | float, digits?: int) -> same type", 1, 2, _round_type, _round,
                "propagate",
                "`x` rounded half away from zero to `digits` decimals (default 0; negative rounds to tens, "
                "hundreds, ...), on the exact stored binary value. An int stays an int.",
                (("round(x, 2)", 2.67), ("round(2.5)", 3.0), ("round(-1250, -2)", -1300)),
                constant_args=((1, "int (the number of digits)"),), check_values=_check_round,
                decisions=("round's digits must be a constant between -400 and 400",)),
    _unary_number("floor", lambda x: _whole(x, math.floor),
                  "The largest whole number not above `x`, of the type of `x`.",
                  (("floor(-2.5)", -3.0), ("floor(n)", -7)),
                  ("floor and ceil keep the argument's type (floor(2.5) is 2.0); use to_int for an int",)),
    _unary_number("ceil", lambda x: _whole(x, math.ceil),
                  "The smallest whole number not below `x`, of the type of `x`.",
                  (("ceil(2.1)", 3.0),)),
    FunctionDef("least", "least(x, ...) -> common type", 1, None, _ordered_type, _pick(min), "skip",
                "The smallest non-null argument (strings by code point); null only when every argument is "
                "null. Ints and floats compare as floats; NaN counts only when nothing else is left.",
                (("least(3, null, 1.5)", 1.5), ("least(\"b\", \"a\")", "a")),
                decisions=("least/greatest ignore NaN unless every non-null argument is NaN",
                           "least/greatest of equal zeros is 0.0, never -0.0")),
    FunctionDef("greatest", "greatest(x, ...) -> common type", 1, None, _ordered_type, _pick(max), "skip",
                "The largest non-null argument (strings by code point); null only when every argument is "
                "null. Ints and floats compare as floats; NaN counts only when nothing else is left.",
                (("greatest(n, 2, null)", 2), ("greatest(missing, missing)", None))),
    FunctionDef("coalesce", "coalesce(x, ...) -> common type", 1, None, common_type, _coalesce, "custom",
                "The first non-null argument. Arguments after it are not evaluated, so they cannot fail.",
                (("coalesce(null, n, 0)", -7), ("coalesce(null, to_int(\"x\"))", Fails("conversion: cannot convert 'x' to int")),
                 ("coalesce(n, to_int(\"x\"))", -7)),
                lazy=True),
)
