"""The function library of SPEC §5: one registry that the type checker, the reference interpreter,
the Polars lowering (`flowc.compiler.lower_functions`) and the docs (`docs/functions.md`) all read.

Each entry says how to type a call, how to evaluate it on Python values, and documents itself with
examples that the tests run through both the interpreter and the Polars lowering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowc.dsl import types as t
from flowc.dsl.types import Type

NullRule = str  # "propagate": any null argument gives null (the interpreter short-circuits);
#                 "skip": null arguments are ignored, null only when all are null;
#                 "custom": `evaluate` sees the nulls and decides


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
    examples: tuple[tuple[str, object], ...]  # (expression over EXAMPLE_RECORD, expected result)
    lazy: bool = False  # the interpreter evaluates arguments one by one and stops when it can (coalesce)


EXAMPLE_RECORD: dict[str, object] = {"s": " Hello ", "n": -7, "x": 2.675, "missing": None}

FUNCTIONS: dict[str, FunctionDef] = {}


def register(fn: FunctionDef) -> FunctionDef:
    assert fn.name not in FUNCTIONS, f"function {fn.name} registered twice"
    FUNCTIONS[fn.name] = fn
    return fn


def _string_to_string(args: tuple[Type, ...]) -> Type | str:
    return t.STRING if args[0] in (t.STRING, t.NULL) else f"expected string, got {args[0]}"


register(FunctionDef(
    name="upper",
    signature="upper(s: string) -> string",
    min_args=1,
    max_args=1,
    result_type=_string_to_string,
    evaluate=str.upper,
    nulls="propagate",
    doc="The string in upper case (Unicode rules).",
    examples=(("upper(s)", " HELLO "),),
))
