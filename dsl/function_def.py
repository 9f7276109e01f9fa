"""The shape of a library function (`FunctionDef`) and the small typing helpers its entries share.

The entries themselves live in the `lib_*` modules; `flowc.dsl.functions` gathers them into the one
registry `FUNCTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.types import Type

NullRule = str  # "propagate": any null argument gives null (the interpreter short-circuits);
#                 "skip": null arguments are ignored, null only when all are null;
#                 "custom": `evaluate` sees the nulls and decides


class _NotConstant:
    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT = _NotConstant()  # an argument whose value is only known per record
Problem = tuple[int, str, dict[str, object]]  # (0-based argument index, diagnostic code, template args)


@dataclass(frozen=True, slots=True)
class Fails:
    """An example's expected outcome when the call is a record error: the error's text `str(error)`."""

    message: str


@dataclass(frozen=True, slots=True)
class FunctionDef:
    name: str
    signature: str  # for people: "upper(s: string) -> string"
    min_args: int
    max_args: int | None  # None: variadic
    result_type: Callable[[tuple[Type, ...]], Type | str]  # argument types -> result type, or an error text
    evaluate: Callable[..., object]  # the reference semantics on Python values
    nulls: NullRule
    doc: str
    examples: tuple[tuple[str, object], ...]  # (expression over EXAMPLE_RECORD, expected result or Fails)
    lazy: bool = False  # the interpreter evaluates arguments one by one and stops when it can (coalesce)
    # Arguments that must be constants (a regex, a format, a unit), as (index, what they must be).
    constant_args: tuple[tuple[int, str], ...] = ()
    # Validates the constant arguments (NOT_CONSTANT for the others); None when nothing to check.
    check_values: Callable[[tuple[object, ...]], Iterable[Problem]] | None = None
    decisions: tuple[str, ...] = ()  # where SPEC §5 was silent: what this function does, one line each

    def check_constants(self, constants: tuple[object, ...]) -> tuple[Problem, ...]:
        """Compile-time problems of a call whose argument `i` is `constants[i]` (or NOT_CONSTANT).

        E227 for a required constant that is not one; then the function's own checks (E223 for a bad
        regex, E225 for another bad constant). A null constant is never a problem: the call gives null.
        """
        problems: list[Problem] = [
            (i, "E227", {"index": i + 1, "name": self.name, "what": what})
            for i, what in self.constant_args
            if i < len(constants) and constants[i] is NOT_CONSTANT
        ]
        if not problems and self.check_values is not None:
            problems.extend(self.check_values(constants))
        return tuple(problems)


def constant_value(expr: ast.Node) -> object:
    """The value of a literal argument (`-2` included), else NOT_CONSTANT."""
    if isinstance(expr, ast.NullLit):
        return None
    if isinstance(expr, ast.BoolLit | ast.IntLit | ast.FloatLit | ast.StringLit):
        return expr.value
    if isinstance(expr, ast.Unary) and expr.op == "-" and isinstance(expr.operand, ast.IntLit | ast.FloatLit):
        return -expr.operand.value
    return NOT_CONSTANT


# --- typing helpers: each returns the result type or an error text -----------------------------------

def fits(got: Type, allowed: Iterable[Type]) -> bool:
    """`got` is one of `allowed`, or the type of `null` (which fits every type)."""
    return got == t.NULL or got in tuple(allowed)


def describe(allowed: Iterable[Type]) -> str:
    names = [str(a) for a in allowed]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def wrong(index: int, allowed: Iterable[Type], got: Type) -> str:
    return f"argument {index + 1} must be {describe(allowed)}, got {got}"


def check_args(args: tuple[Type, ...], *allowed: tuple[Type, ...]) -> str | None:
    """The error text for the first argument that does not fit its `allowed` types, else None."""
    for i, (got, ok) in enumerate(zip(args, allowed, strict=False)):
        if not fits(got, ok):
            return wrong(i, ok, got)
    return None


def typed(result: Type, *allowed: tuple[Type, ...]) -> Callable[[tuple[Type, ...]], Type | str]:
    """A `result_type` for a function with fixed argument types and a fixed result."""

    def result_type(args: tuple[Type, ...]) -> Type | str:
        return check_args(args, *allowed) or result

    return result_type


def same_as_arg(index: int, *allowed: tuple[Type, ...]) -> Callable[[tuple[Type, ...]], Type | str]:
    """A `result_type` whose result has the type of argument `index` (null stays null)."""

    def result_type(args: tuple[Type, ...]) -> Type | str:
        return check_args(args, *allowed) or args[index]

    return result_type


def common_type(args: tuple[Type, ...], allowed: tuple[Type, ...] | None = None) -> Type | str:
    """The common supertype of all arguments (int and float give float), or an error text."""
    result: Type = t.NULL
    for i, got in enumerate(args):
        if allowed is not None and not fits(got, allowed):
            return wrong(i, allowed, got)
        merged = t.common_supertype(result, got)
        if merged is None:
            return f"argument {i + 1} has type {got}, which does not fit {result}"
        result = merged
    return result


STRING = (t.STRING,)
INT = (t.INT,)
NUMBER = (t.INT, t.FLOAT)
TIMES = (t.DATETIME, t.DATE)
ORDERED = (t.INT, t.FLOAT, t.STRING, t.DATETIME, t.DATE, t.DURATION)
