"""Two outputs of one step under one name (E310): each problem with the span of the name to change.

Polars would fail the run on such a step (a duplicate column) or keep one value and silently lose the
other, so these are compile errors. What needs no schema (a name listed twice, a target replacing an
earlier one, `as` equal to `index`) is found from the step alone; a name that an input field already holds
only when the input schema is known, which at run time includes a schema inferred from the data.
"""

from __future__ import annotations

from flowc.compiler import spec as s
from flowc.dsl.span import Span
from flowc.dsl.types import Struct

Problem = tuple[Span | None, str]


def overlapping_targets(assignments: tuple[s.Assignment, ...], operator: str) -> dict[int, str]:
    """By position in `assignments`: each target that loses a value another target sets.

    A `map` applies its targets in the order written, so `{u.x: a, u: b}` loses `a` (`u: b` replaces
    all of `u`), while `{u: b, u.x: a}` sets `x` inside the struct `b` (an error of its own when `b` is
    not a struct). A `select` builds each output field from its targets at once, and a field's own
    value and values set inside it do not combine there, whatever the order.
    """
    found: dict[int, str] = {}
    for i, later in enumerate(assignments):
        for earlier in assignments[:i]:
            short, long = sorted((earlier.target, later.target), key=len)
            if long[: len(short)] != short:
                continue
            whole, inner = _dotted(short), _dotted(long)
            if operator == "select":
                found[i] = (f"select sets '{whole}' and also '{inner}' inside it; select '{whole}' alone and "
                            f"set '{inner}' in a map after it")
            elif later.target == short:
                found[i] = f"map sets '{whole}' after '{inner}', replacing the value set there; write '{whole}' first"
            else:
                continue
            break
    return found


def repeated_names(names: tuple[s.Name, ...], operator: str) -> list[Problem]:
    """Each name of a field list that an earlier entry already lists."""
    seen: set[str] = set()
    found: list[Problem] = []
    for name in names:
        if name.name in seen:
            found.append((name.span, f"{operator} lists '{name.name}' twice"))
        seen.add(name.name)
    return found


def aggregate_collisions(config: s.Aggregate) -> list[Problem]:
    """A `compute` name that the output already has: a `by` field, or a window's `window_start` or
    `window_end` (SPEC §4: the output is the `by` fields, the window's bounds, then what is computed);
    a `by` field listed twice; and, when windowed, a `by` field named like a window bound (its value
    and the bound would be two output fields of one name: audit 4 F4, a DuplicateError at run)."""
    taken = {b.name: "a 'by' field" for b in config.by}
    found = repeated_names(config.by, "aggregate 'by'")
    if config.window is not None:
        bounds = {"window_start": "the window's start", "window_end": "the window's end"}
        found += [(b.span, f"aggregate groups by '{b.name}', but a windowed aggregate's output has "
                           f"'{b.name}' ({bounds[b.name]}); rename the field before the aggregate")
                  for b in config.by if b.name in bounds]
        taken |= bounds
    found += [(c.expression.span, f"aggregate computes '{c.name}', but '{c.name}' is {taken[c.name]} of its "
                                  f"output; name the computed field otherwise") for c in config.compute if c.name in taken]
    return found


def explode_collisions(config: s.Explode, schema: Struct | None) -> list[Problem]:
    """`as` or `index` naming a field the output already has (SPEC §4: explode replaces the list
    field by its elements, under `as` when given, and adds `index`), or `index` naming the list field
    (even with `as`). `schema` None checks only what needs no schema."""
    list_field = config.field.name
    found: list[Problem] = []
    if config.index == list_field:  # the index would be computed over the list before it is exploded
        found.append((config.index_span, f"explode's 'index' '{list_field}' is the list field itself; "
                                         f"give 'index' another name"))
    elif config.index is not None and config.index == config.as_:
        found.append((config.index_span, f"explode's 'index' and 'as' are both '{config.as_}'; "
                                         f"give them different names"))
    others = set() if schema is None else {n for n, _ in schema.fields if n != list_field}
    named = [("as", config.as_, config.as_span)]
    if not found:  # an `index` equal to `as` is one mistake, reported once
        named.append(("index", config.index, config.index_span))
    for key, name, span in named:
        if name is not None and name in others:
            found.append((span, f"explode's '{key}' '{name}' is already a field of the input; give it "
                                f"another name (or drop or rename '{name}' before the explode)"))
    return found


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)
