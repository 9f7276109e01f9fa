"""Hypothesis strategies for typed data: a random schema, records that fit it, and random WELL-TYPED
expressions over it, grown by type (for a wanted type, pick a construct that produces it).

Used by `tests/compiler/test_lowering_matches_interpreter.py`: the reference interpreter and the Polars
lowering must agree on every generated record. Records reach for the edges: nulls, missing keys,
unicode, ints near ±2**63, huge and tiny floats, empty lists, durations across the Int64 range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from hypothesis import strategies as st

from flowc.compiler.lower_functions import POLARS_FUNCTIONS
from flowc.compiler.typecheck import check_expression
from flowc.dsl import ast
from flowc.dsl import types as t
from flowc.dsl.functions import FUNCTIONS
from flowc.dsl.parser import parse_expression
from flowc.dsl.types import ListOf, Struct, Type

MISSING = object()  # a record without the key (reads as null)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
COMPARABLE = (t.INT, t.FLOAT, t.STRING, t.BOOL, t.DATETIME, t.DATE, t.DURATION)
FIELD_NAMES = ("a", "b", "c", "d", "e", "odd name")

# --- schemas and records ---------------------------------------------------------------------------

SCALAR_TYPES = st.sampled_from([t.INT, t.INT, t.FLOAT, t.FLOAT, t.BOOL, t.STRING, t.DATETIME, t.DATE, t.DURATION])


def value_types(depth: int = 2) -> st.SearchStrategy[Type]:
    if depth == 0:
        return SCALAR_TYPES
    inner = value_types(depth - 1)
    return st.one_of(
        SCALAR_TYPES, SCALAR_TYPES,
        inner.map(ListOf),
        st.lists(st.tuples(st.sampled_from(FIELD_NAMES[:4]), inner), min_size=1, max_size=3,
                 unique_by=lambda f: f[0]).map(lambda fs: Struct(tuple(fs))),
    )


def schemas() -> st.SearchStrategy[Struct]:
    return st.lists(st.tuples(st.sampled_from(FIELD_NAMES), value_types()), min_size=1, max_size=6,
                    unique_by=lambda f: f[0]).map(lambda fs: Struct(tuple(fs)))


EDGE_INTS = (INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1, 2**62, -(2**62), 2**32, 0, 1, -1, 2, -2, 7)
EDGE_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 1e308, -1e308, 5e-324, 1e-300, 9.007199254740993e15)
STRINGS = ("", "a", "A", "ab", "é", "ß", "\u00e9", "e\u0301", "日本", "😀", " x ", "10", "-3.5", "true")
_UTC_MIN, _UTC_MAX = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)

INTS = st.one_of(st.sampled_from(EDGE_INTS), st.integers(-1000, 1000), st.integers(INT_MIN, INT_MAX))
FLOATS = st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(allow_nan=False, allow_infinity=False),
                   st.integers(-100, 100).map(float))
TEXT = st.one_of(st.sampled_from(STRINGS),
                 st.text(st.characters(exclude_categories=("Cs",)), max_size=6))
DATETIMES = st.one_of(
    st.sampled_from([datetime(1970, 1, 1, tzinfo=UTC), datetime(2024, 2, 29, 12, tzinfo=UTC),
                     _UTC_MIN.replace(tzinfo=UTC), _UTC_MAX.replace(tzinfo=UTC)]),
    st.datetimes(min_value=_UTC_MIN, max_value=_UTC_MAX, timezones=st.just(UTC)),
)
DURATIONS = st.one_of(
    st.sampled_from([0, 1, -1, 60_000_000, 86_400_000_000, INT_MAX, INT_MIN, 2**62]),
    st.integers(-(10**12), 10**12), st.integers(INT_MIN, INT_MAX),
).map(lambda us: timedelta(microseconds=us))
_SCALAR_VALUES = {
    t.INT: INTS, t.FLOAT: FLOATS, t.BOOL: st.booleans(), t.STRING: TEXT,
    t.DATETIME: DATETIMES, t.DATE: st.dates(), t.DURATION: DURATIONS,
}


def values(type_: Type, *, nullable: bool = True) -> st.SearchStrategy[object]:
    """Values of `type_` (None among them); structs may lack keys."""
    if isinstance(type_, ListOf):
        present = st.lists(values(type_.item), max_size=3)
    elif isinstance(type_, Struct):
        present = st.fixed_dictionaries({}, optional={n: values(ft) for n, ft in type_.fields})
    else:
        present = _SCALAR_VALUES[type_]
    return _sometimes_null(present) if nullable else present


def _sometimes_null(present: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.integers(0, 5).flatmap(lambda i: st.none() if i == 0 else present)


@st.composite
def records(draw: st.DrawFn, schema: Struct) -> dict[str, object]:
    """Records of `schema`; a key may be missing (it reads as null)."""
    record = {n: draw(values(ft)) for n, ft in schema.fields}
    missing = draw(st.lists(st.sampled_from([n for n, _ in schema.fields]), max_size=1))
    return {n: v for n, v in record.items() if n not in missing}


# --- expressions ---------------------------------------------------------------------------------

def paths(schema: Struct) -> list[tuple[ast.Expr, Type]]:
    """Every field reachable by name: top-level fields and the fields of structs inside them."""
    found: list[tuple[ast.Expr, Type]] = []
    todo: list[tuple[ast.Expr, Type]] = [(ast.Field(name=n), ft) for n, ft in schema.fields]
    while todo:
        expr, type_ = todo.pop()
        found.append((expr, type_))
        if isinstance(type_, Struct):
            todo.extend((ast.GetField(obj=expr, name=n), ft) for n, ft in type_.fields)
    return found


def literal(type_: Type) -> st.SearchStrategy[ast.Expr] | None:
    if type_ == t.INT:
        return st.one_of(st.sampled_from([0, 1, 2, 3, 10, INT_MAX]), st.integers(0, INT_MAX)).map(
            lambda v: ast.IntLit(value=v))
    if type_ == t.FLOAT:
        return st.sampled_from([0.0, 0.5, 1.5, 2.0, 1e300, 1e-300]).map(lambda v: ast.FloatLit(value=v))
    if type_ == t.BOOL:
        return st.booleans().map(lambda v: ast.BoolLit(value=v))
    if type_ == t.STRING:
        return TEXT.map(lambda v: ast.StringLit(value=v))
    if type_ == t.DURATION:
        return st.sampled_from([0, 1, 60_000_000, 86_400_000_000]).map(lambda v: ast.DurationLit(micros=v))
    if type_ == t.DATETIME:
        return st.just(ast.Call(name="now", args=()))
    if isinstance(type_, ListOf) and type_.item in (t.INT, t.STRING):
        return st.just(ast.ListLit(items=()))
    return None


Signature = tuple[str, tuple[Type, ...], Type, tuple[tuple[int, ast.Expr], ...]]


@cache
def function_signatures() -> tuple[Signature, ...]:
    """(name, argument types, result type, constant arguments) of calls the library accepts.

    Functions without constant arguments: every combination of a pool of types that `result_type`
    accepts. Functions with some (a regex, a format): the calls of their documented examples, whose
    constants are kept and whose other arguments are grown like any other.
    """
    pool = (t.INT, t.FLOAT, t.BOOL, t.STRING, t.DATETIME, t.DURATION, t.DATE, ListOf(t.INT), ListOf(t.STRING))
    found: list[Signature] = []
    for name, fn in sorted(FUNCTIONS.items()):
        if name not in POLARS_FUNCTIONS:
            continue
        if fn.constant_args:
            found.extend(_example_signatures(name))
            continue
        high = fn.min_args + 2 if fn.max_args is None else min(fn.max_args, fn.min_args + 2)
        for arity in range(fn.min_args, high + 1):
            for args in _combinations(pool, arity):
                result = fn.result_type(args)
                if not isinstance(result, str) and result != t.NULL:
                    found.append((name, args, result, ()))
    return tuple(found)


_EXAMPLE_SCHEMA = Struct((("s", t.STRING), ("n", t.INT), ("x", t.FLOAT), ("tags", ListOf(t.STRING)),
                          ("ts", t.DATETIME)))


def _example_signatures(name: str) -> list[Signature]:
    found: list[Signature] = []
    for text, _ in FUNCTIONS[name].examples:
        call = parse_expression(text)
        typed = check_expression(call, _EXAMPLE_SCHEMA, where="example")
        if not isinstance(call, ast.Call) or typed.problems or typed.type in (None, t.NULL):
            continue
        constant = {i for i, _ in FUNCTIONS[name].constant_args}
        args = tuple(typed.types[a] for a in call.args)
        found.append((name, args, typed.type, tuple((i, a) for i, a in enumerate(call.args) if i in constant)))
    return found


def _combinations(pool: tuple[Type, ...], arity: int) -> list[tuple[Type, ...]]:
    combos: list[tuple[Type, ...]] = [()]
    for _ in range(arity):
        combos = [(*c, p) for c in combos for p in pool]
    return combos


class Grower:
    """Grows well-typed expressions over one schema: `expr(draw, wanted, depth)`."""

    def __init__(self, schema: Struct) -> None:
        self.schema = schema
        self.fields = paths(schema)

    def available(self, type_: Type) -> bool:
        return literal(type_) is not None or any(ft == type_ for _, ft in self.fields)

    def leaf(self, draw: st.DrawFn, wanted: Type) -> ast.Expr:
        options: list[st.SearchStrategy[ast.Expr]] = []
        matching = [e for e, ft in self.fields if ft == wanted]
        if matching:
            options.append(st.sampled_from(matching))
        lit = literal(wanted)
        if lit is not None:
            options.append(lit)
        if not options or draw(st.integers(0, 29)) == 0:
            return ast.NullLit()
        if matching and draw(st.integers(0, 2)) > 0:  # fields first: records bring the edge values
            return draw(options[0])
        return draw(st.one_of(options))

    def expr(self, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
        if depth <= 0 or draw(st.integers(0, 3)) == 0:
            return self.leaf(draw, wanted)
        options = [make for make, ok, weight in _CONSTRUCTIONS if ok(self, wanted) for _ in range(weight)]
        options += [_call] if self.calls(wanted) else []
        return draw(st.sampled_from(options))(self, draw, wanted, depth - 1)

    def calls(self, wanted: Type) -> list[Signature]:
        return [sig for sig in function_signatures() if sig[2] == wanted
                and all(self.available(a) for i, a in enumerate(sig[1]) if i not in dict(sig[3]))]

    def comparable_type(self, draw: st.DrawFn) -> Type:
        return draw(st.sampled_from([c for c in COMPARABLE if self.available(c)]))


# Each construction: (make(grower, draw, wanted, depth) -> Expr, applies(grower, wanted) -> bool).

def _arith(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    if wanted == t.INT:
        op, left, right = draw(st.sampled_from(["+", "-", "*", "//", "%"])), t.INT, t.INT
    elif wanted == t.FLOAT:
        op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%"]))
        left, right = draw(st.sampled_from([(t.FLOAT, t.FLOAT), (t.INT, t.FLOAT), (t.FLOAT, t.INT),
                                            *([(t.INT, t.INT)] if op == "/" else [])]))
    else:
        op, left, right = draw(st.sampled_from(_TEMPORAL_ARITH[wanted]))
    return ast.Binary(op=op, left=g.expr(draw, left, depth), right=g.expr(draw, right, depth))


_TEMPORAL_ARITH = {
    t.STRING: [("+", t.STRING, t.STRING)],
    t.DATETIME: [("+", t.DATETIME, t.DURATION), ("+", t.DURATION, t.DATETIME), ("-", t.DATETIME, t.DURATION)],
    t.DURATION: [("-", t.DATETIME, t.DATETIME), ("+", t.DURATION, t.DURATION), ("-", t.DURATION, t.DURATION),
                 ("*", t.DURATION, t.INT), ("*", t.INT, t.DURATION)],
}


def _negate(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    return ast.Unary(op="-", operand=g.expr(draw, wanted, depth))


def _compare(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    left, right = _comparable_pair(g, draw)
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    return ast.Binary(op=op, left=g.expr(draw, left, depth), right=g.expr(draw, right, depth))


def _comparable_pair(g: Grower, draw: st.DrawFn) -> tuple[Type, Type]:
    left = g.comparable_type(draw)
    right = draw(st.sampled_from([t.INT, t.FLOAT])) if left in t.NUMERIC else left
    return left, right


def _logic(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    kind = draw(st.sampled_from(["and", "or", "not", "is null", "in", "between"]))
    if kind == "not":
        return ast.Unary(op="not", operand=g.expr(draw, t.BOOL, depth))
    if kind in ("and", "or"):
        return ast.Binary(op=kind, left=g.expr(draw, t.BOOL, depth), right=g.expr(draw, t.BOOL, depth))
    if kind == "is null":
        any_type = draw(st.sampled_from([ft for _, ft in g.fields] + [t.INT]))
        return ast.IsNull(operand=g.expr(draw, any_type, depth), negated=draw(st.booleans()))
    left, right = _comparable_pair(g, draw)
    operand = g.expr(draw, left, depth)
    if kind == "between":
        return ast.Between(operand=operand, low=g.expr(draw, right, depth), high=g.expr(draw, right, depth))
    items = tuple(g.expr(draw, right, depth) for _ in range(draw(st.integers(1, 3))))
    return ast.In(operand=operand, items=items, negated=draw(st.booleans()))


def _branch_type(draw: st.DrawFn, wanted: Type) -> Type:
    """A type whose values may stand in a branch of type `wanted` (an int where a float is wanted)."""
    return draw(st.sampled_from([t.INT, t.FLOAT])) if wanted == t.FLOAT else wanted


def _conditional(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    def branch() -> ast.Expr:
        return g.expr(draw, _branch_type(draw, wanted), depth)

    if draw(st.booleans()):
        return ast.If(cond=g.expr(draw, t.BOOL, depth), then=branch(), else_=branch())
    whens = tuple(ast.When(cond=g.expr(draw, t.BOOL, depth), value=branch())
                  for _ in range(draw(st.integers(1, 3))))
    return ast.Case(whens=whens, else_=branch() if draw(st.booleans()) else None)


def _list(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    assert isinstance(wanted, ListOf)
    return ast.ListLit(items=tuple(g.expr(draw, _branch_type(draw, wanted.item), depth)
                                   for _ in range(draw(st.integers(1, 3)))))


def _index(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    index = draw(st.one_of(st.integers(-4, 4).map(_int_expr), st.just(None)))
    return ast.Index(obj=g.expr(draw, ListOf(wanted), depth), index=index or g.expr(draw, t.INT, depth))


def _int_expr(value: int) -> ast.Expr:
    return ast.IntLit(value=value) if value >= 0 else ast.Unary(op="-", operand=ast.IntLit(value=-value))


def _call(g: Grower, draw: st.DrawFn, wanted: Type, depth: int) -> ast.Expr:
    name, args, _, constants = draw(st.sampled_from(g.calls(wanted)))
    fixed = dict(constants)
    return ast.Call(name=name, args=tuple(fixed.get(i) or g.expr(draw, a, depth) for i, a in enumerate(args)))


def _is_list_of_scalars(g: Grower, wanted: Type) -> bool:
    return isinstance(wanted, ListOf) and isinstance(wanted.item, t.Scalar) and g.available(wanted.item)


_CONSTRUCTIONS = (  # (make, applies, weight)
    (_arith, lambda g, w: w in (t.INT, t.FLOAT, t.STRING, t.DATETIME, t.DURATION), 4),
    (_negate, lambda g, w: w in (t.INT, t.FLOAT, t.DURATION), 1),
    (_compare, lambda g, w: w == t.BOOL, 3),
    (_logic, lambda g, w: w == t.BOOL, 3),
    (_conditional, lambda g, w: True, 1),
    (_list, _is_list_of_scalars, 1),
    (_index, lambda g, w: _is_list_of_scalars(g, ListOf(w)) or any(ft == ListOf(w) for _, ft in g.fields), 1),
)


@st.composite
def typed_cases(draw: st.DrawFn, *, wanted: Type | None = None, max_records: int = 6):
    """(schema, expression, records): an expression of type `wanted` (or any type) over `schema`."""
    schema = draw(schemas())
    grower = Grower(schema)
    if wanted is None:
        candidates = [ft for _, ft in grower.fields] + [t.INT, t.FLOAT, t.BOOL, t.STRING, t.DURATION,
                                                          t.DATETIME] * 2
        wanted = draw(st.sampled_from(candidates))
    expr = grower.expr(draw, wanted, draw(st.integers(1, 4)))
    rows = draw(st.lists(records(schema), min_size=1, max_size=max_records))
    return schema, expr, rows
