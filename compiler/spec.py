"""The typed spec model: a `.flow.yaml` file after normalisation (SPEC §1-§8).

`flowc.compiler.normalize.normalize_spec` builds it from a loaded `Document`; the checks read it, and
the compiler lowers it into an operator graph. Everything is frozen and hashable: collections are
tuples or `Config` (a frozen mapping), and spans take no part in equality, so two specs that say the
same thing compare equal wherever they are written (SPEC §9's "same definition" test).

Defaults of SPEC are filled in here (step names, `from:` inference, settings), so later phases never
re-derive them. Durations are integer microseconds, sizes integer bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowc.dsl.ast import Expr
from flowc.dsl.source import ScalarMap
from flowc.dsl.span import Span, TextRange
from flowc.dsl.types import Struct


class Config(Mapping[str, Any]):
    """A frozen, hashable mapping of plain YAML data (nested dicts frozen, lists made tuples)."""

    __slots__ = ("_items",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._items = {str(k): freeze(v) for k, v in (data or {}).items()}

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items(), key=lambda kv: kv[0])))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return f"Config({self._items!r})"


def freeze(value: Any) -> Any:
    """Plain YAML data made immutable: dicts -> `Config`, lists -> tuples."""
    if isinstance(value, Mapping):
        return value if isinstance(value, Config) else Config(value)
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of `freeze`: `Config` -> dict, tuples -> lists (for JSON and for Polars)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Name:
    """A name written in the spec (a field, an input) with where it is written."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Expression:
    """An expression scalar: its text, its parsed tree (None when it did not parse, which normalisation
    has reported), and how to turn a position inside the text into a file position."""

    text: str
    expr: Expr | None
    span: Span | None = field(default=None, compare=False, repr=False)
    scalar: ScalarMap | None = field(default=None, compare=False, repr=False)

    def locate(self, pos: TextRange) -> Span | None:
        """The file span of `pos` inside this expression (the whole scalar for a non-string one)."""
        return self.scalar.span(pos) if self.scalar is not None else self.span


@dataclass(frozen=True, slots=True)
class EventTime:
    field: Name
    max_out_of_orderness: int = 0  # microseconds


@dataclass(frozen=True, slots=True)
class Retry:
    max_attempts: int = 5
    backoff: int = 200_000  # microseconds
    max_backoff: int = 30_000_000


@dataclass(frozen=True, slots=True)
class Source:
    """`type` is file, kafka, http, inline or generate; `config` holds every key but `type`, `schema`,
    `event_time`, `records` and `fields`, as written (parse durations with `flowc.dsl.units`).
    `format` is resolved (for files from the path's extension; None when it cannot be told: E309).
    `records` are an inline source's rows; `fields` a generate source's expressions over `_n`."""

    name: str
    type: str
    config: Config
    schema: Struct | None
    event_time: EventTime | None
    span: Span | None = field(default=None, compare=False, repr=False)
    format: str | None = None
    bounded: bool = True
    records: tuple[Config, ...] = ()
    fields: tuple[tuple[str, Expression], ...] = ()
    key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)  # config values
    written: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)  # before `${...}`


# --- operators of SPEC §4: one class each, `Step.config` holds one of them ---


@dataclass(frozen=True, slots=True)
class Filter:
    predicate: Expression


@dataclass(frozen=True, slots=True)
class Assignment:
    """`target: value` of a `map` or `select`; `target` is the dotted path (`("user", "tier")`)."""

    target: tuple[str, ...]
    value: Expression
    span: Span | None = field(default=None, compare=False, repr=False)  # the key


@dataclass(frozen=True, slots=True)
class Map:
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True, slots=True)
class Select:
    """`select: [a, b]` gives `fields`; `select: {new: expr}` gives `assignments` (one of the two)."""

    fields: tuple[Name, ...] = ()
    assignments: tuple[Assignment, ...] = ()


@dataclass(frozen=True, slots=True)
class Drop:
    fields: tuple[Name, ...]


@dataclass(frozen=True, slots=True)
class Rename:
    pairs: tuple[tuple[Name, Name], ...]  # (old, new), in the order written


@dataclass(frozen=True, slots=True)
class Explode:
    field: Name
    as_: str | None = None  # the element's field name; None keeps the list field's name
    index: str | None = None
    keep_empty: bool = False
    # where `as` and `index` are written, for the name-collision checks (E310)
    as_span: Span | None = field(default=None, compare=False, repr=False)
    index_span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    predicate: Expression


@dataclass(frozen=True, slots=True)
class Validate:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """`type` tumbling (size), sliding (size, every) or session (gap); microseconds. `time` names the
    event-time field when the window does not use the source's."""

    type: str
    size: int | None = None
    every: int | None = None
    gap: int | None = None
    allowed_lateness: int = 0
    time: Name | None = None
    max_out_of_orderness: int = 0
    span: Span | None = field(default=None, compare=False, repr=False)
    key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Computation:
    """`name: function(args)` of an aggregate's `compute`. `function` is None when the entry is not one
    aggregate call (reported as E106)."""

    name: str
    function: str | None
    args: tuple[Expr, ...]
    expression: Expression


@dataclass(frozen=True, slots=True)
class Aggregate:
    by: tuple[Name, ...]
    window: Window | None
    compute: tuple[Computation, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """An `enrich` lookup table: a file read whole into memory."""

    type: str
    path: str
    format: str | None
    schema: Struct | None
    config: Config
    span: Span | None = field(default=None, compare=False, repr=False)
    key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)
    written: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Enrich:
    table: Table
    left_on: Name  # the input's key field
    right_on: Name  # the table's key field
    fields: tuple[Name, ...]  # table fields to add; () adds every table field but the key
    how: str = "left"
    reload: bool = False


@dataclass(frozen=True, slots=True)
class Dedupe:
    key: tuple[Name, ...]
    within: int | None  # microseconds; None: a key is kept for the whole run


@dataclass(frozen=True, slots=True)
class Union:
    pass  # the inputs are the step's `input_names`


@dataclass(frozen=True, slots=True)
class Sql:
    query: str
    span: Span | None = field(default=None, compare=False, repr=False)
    scalar: ScalarMap | None = field(default=None, compare=False, repr=False)

    def locate(self, pos: TextRange) -> Span | None:
        return self.scalar.span(pos) if self.scalar is not None else self.span


Operator = Filter | Map | Select | Drop | Rename | Explode | Validate | Aggregate | Enrich | Dedupe | Union | Sql
STATEFUL = ("aggregate", "dedupe", "enrich")


@dataclass(frozen=True, slots=True)
class Step:
    """`operator` is the operator key (`filter`, ...), `config` its typed form. `input_names` are
    source, step or side-output names (`orders`, `parse.errors`); empty when `from:` could not be
    inferred (E302). `on_error` is the step's own policy, None to inherit `settings.on_error`."""

    name: str
    operator: str
    config: Operator
    input_names: tuple[str, ...]
    on_error: str | None
    span: Span | None = field(default=None, compare=False, repr=False)
    input_spans: tuple[Span | None, ...] = field(default=(), compare=False, repr=False)
    name_given: bool = field(default=False, compare=False)  # False for a default `<operator>_<n>`
    key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)  # name, from, ...
    operator_span: Span | None = field(default=None, compare=False, repr=False)  # the operator's key


@dataclass(frozen=True, slots=True)
class Sink:
    """`input_name` is None only for the dead-letter sink, which reads every unread side output, and
    "" when `from:` could not be inferred (E302)."""

    name: str
    type: str
    input_name: str | None
    config: Config
    span: Span | None = field(default=None, compare=False, repr=False)
    format: str | None = None
    retry: Retry = Retry()
    key: Expression | None = None  # kafka
    headers: tuple[tuple[str, Expression], ...] = ()  # kafka
    input_span: Span | None = field(default=None, compare=False, repr=False)
    key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)
    written: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Settings:
    batch_size: int = 100_000
    batch_timeout: int = 1_000_000  # microseconds
    state_dir: str = ""  # absolute, or relative to the working directory; `.flow/<pipeline>` beside the spec
    on_error: str = "fail"
    dead_letter: Sink | None = None
    infer_rows: int = 1000
    key_spans: Mapping[str, Span] = field(default_factory=dict, compare=False, repr=False)
    written: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)  # before `${...}`


@dataclass(frozen=True, slots=True)
class RecordSet:
    """Records for (`inputs`) or expected from (`expect`) one source, sink or side output."""

    name: str
    records: tuple[Config, ...]
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SpecTest:
    name: str
    inputs: tuple[RecordSet, ...]
    expect: tuple[RecordSet, ...]
    ordered: bool = False
    now: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False)
    now_span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Spec:
    pipeline: str
    description: str | None
    settings: Settings
    sources: tuple[Source, ...]
    steps: tuple[Step, ...]
    sinks: tuple[Sink, ...]
    tests: tuple[SpecTest, ...]
    file: str

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)
