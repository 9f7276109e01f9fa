"""The operator graph: what a pipeline computes, as immutable nodes (ibis' `ops` in spirit).

A node holds its inputs (other nodes), so a plan is a DAG of frozen values: equal subgraphs compare
and hash equal, and rewrites use `dataclasses.replace`. Every node but `Scan` carries `step`, the name
the user knows it by (a step, a sink), which error envelopes and messages show. Spans take no part in
equality. Ids (`n0, n1, ...`) are not stored here: `flowc.compiler.plan` numbers nodes in topological
order when it prints them.

Side outputs are nodes too: `Errors(of=n)` is the stream of `n`'s record errors (SPEC §6), what a
spec names `<step>.errors`; the dead-letter sink reads every `Errors` node that nothing else reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flowc.compiler.spec import Assignment, Computation, Expression, Rule, Sink, Source, Table, Window
from flowc.dsl.span import Span

FAIL, SKIP, DEAD_LETTER = "fail", "skip", "dead_letter"
POLICIES = (FAIL, SKIP, DEAD_LETTER)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """The records of a bounded source (file, inline, generate)."""

    source: Source
    on_error: str = FAIL  # for values that do not fit the source's schema
    columns: tuple[str, ...] | None = None  # projection pushed into the reader (None: every field)

    @property
    def step(self) -> str:
        return self.source.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    input: Node
    predicate: Expression
    step: str
    on_error: str = FAIL
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Map:
    """Set fields; every expression reads the input record. Targets are dotted paths."""

    input: Node
    assignments: tuple[Assignment, ...]
    step: str
    on_error: str = FAIL
    span: Span | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        assert self.assignments, "a map sets at least one field"


@dataclass(frozen=True, slots=True, kw_only=True)
class Select:
    """Keep exactly `fields` (by name), or compute exactly `assignments` (one of the two)."""

    input: Node
    step: str
    fields: tuple[str, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    on_error: str = FAIL
    span: Span | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        assert bool(self.fields) != bool(self.assignments), "select keeps fields or computes them, not both"


@dataclass(frozen=True, slots=True, kw_only=True)
class Drop:
    input: Node
    fields: tuple[str, ...]
    step: str
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename:
    input: Node
    pairs: tuple[tuple[str, str], ...]  # (old, new)
    step: str
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Explode:
    input: Node
    field: str
    step: str
    as_: str | None = None
    index: str | None = None
    keep_empty: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Validate:
    input: Node
    rules: tuple[Rule, ...]
    step: str
    on_error: str = FAIL
    span: Span | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        assert self.rules, "validate has at least one rule"


@dataclass(frozen=True, slots=True, kw_only=True)
class Union:
    inputs: tuple[Node, ...]
    step: str
    span: Span | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        assert len(self.inputs) >= 1, "a union reads at least one input"


@dataclass(frozen=True, slots=True, kw_only=True)
class Sql:
    """A row-wise Polars SQL query over `input`; a record it fails on (a CAST) is a record error."""

    input: Node
    query: str
    step: str
    on_error: str = FAIL
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate:
    """Group and aggregate (SPEC §4); windowed on `event_time` when `window` is set, else over the whole
    (bounded) input. `event_time` is `window.time` or the field the source's event time travels in."""

    input: Node
    by: tuple[str, ...]
    window: Window | None
    compute: tuple[Computation, ...]
    step: str
    event_time: str | None = None
    max_out_of_orderness: int = 0  # microseconds
    on_error: str = FAIL  # for a record whose event time is null (it has no window)
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dedupe:
    """Drop a record whose key has a kept record less than `within` away in event time (SPEC §4)."""

    input: Node
    key: tuple[str, ...]
    within: int | None  # microseconds; None: a key is remembered for the whole run
    step: str
    event_time: str | None = None  # None: the batch time stands in for event time
    max_out_of_orderness: int = 0
    on_error: str = FAIL  # for a record whose event time is null
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrich:
    """Lookup join against `table`, read whole into memory (SPEC §4)."""

    input: Node
    table: Table
    left_on: str
    right_on: str
    fields: tuple[str, ...]  # table fields added (every field but the key when the spec lists none)
    step: str
    how: str = "left"
    reload: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Late:
    """`<of>.late`: the records a windowed aggregate judged late, as they arrived."""

    of: Node

    @property
    def step(self) -> str:
        return f"{self.of.step}.late"


@dataclass(frozen=True, slots=True, kw_only=True)
class Errors:
    """`<of>.errors`: the records `of` could not process, each with its `_error`/`_source` envelope."""

    of: Node

    @property
    def step(self) -> str:
        return f"{self.of.step}.errors"


@dataclass(frozen=True, slots=True, kw_only=True)
class SinkNode:
    """A sink. Only the dead-letter sink reads several inputs (every unread `Errors` node)."""

    inputs: tuple[Node, ...]
    sink: Sink

    @property
    def step(self) -> str:
        return self.sink.name


Node = (Scan | Filter | Map | Select | Drop | Rename | Explode | Validate | Union | Sql | Aggregate | Dedupe | Enrich
        | Late | Errors | SinkNode)
STATEFUL = (Aggregate, Dedupe, Enrich)
FAILING = (Scan, Filter, Map, Select, Validate, Sql)  # node types that can produce record errors


def timed(node: Node) -> str | None:
    """The event-time field of a windowed aggregate or a dedupe on event time, where a record whose
    event time is null is a record error of the step (it has no window, no place in the span)."""
    if (isinstance(node, Aggregate) and node.window is not None) or isinstance(node, Dedupe):
        return node.event_time
    return None


def inputs(node: Node) -> tuple[Node, ...]:
    """The nodes `node` reads, in order."""
    if isinstance(node, Scan):
        return ()
    if isinstance(node, Union | SinkNode):
        return node.inputs
    if isinstance(node, Errors | Late):
        return (node.of,)
    return (node.input,)


def topological(roots: tuple[Node, ...]) -> tuple[Node, ...]:
    """Every node reachable from `roots`, inputs before readers, in a deterministic order: a depth-first
    walk that visits inputs left to right and roots in the order given (no recursion: plans may be long)."""
    order: list[Node] = []
    placed: set[Node] = set()
    for root in roots:
        stack: list[tuple[Node, Iterator[Node]]] = [(root, iter(inputs(root)))]
        while stack:
            node, pending = stack[-1]
            child = next((c for c in pending if c not in placed), None)
            if child is not None:
                stack.append((child, iter(inputs(child))))
                continue
            stack.pop()
            if node not in placed:
                placed.add(node)
                order.append(node)
    return tuple(order)
