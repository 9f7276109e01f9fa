"""An `enrich` step's table checked against its input (SPEC §4), where the table's fields are known.

The table's schema is known when it declares one, or under `flowc validate --with-data`, which samples
the file as it samples a source's (`data_sample`); otherwise nothing is read and the table's fields go
unchecked. Known, the key and every listed field must exist in it (E104), and the two keys must have
types that can hold equal values (E314): equal types, or int against float (compared by value).
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import spec as s
from flowc.compiler.checks.data_sample import sample_schema
from flowc.compiler.checks.scope import Scope
from flowc.dsl import types as t
from flowc.dsl.types import Type


def check_table(config: s.Enrich, scope: Scope, left_type: Type | None) -> None:
    """E104 for a key or listed field the table lacks, E314 for keys of types that can never be equal."""
    table = config.table.schema
    if table is None:
        return
    in_table = Scope(table, scope.found)
    where = f"enrich table '{config.table.path}'"
    right_type = in_table.field(config.right_on, where)
    in_table.fields(config.fields, where)
    if left_type is not None and right_type is not None and not comparable(left_type, right_type):
        scope.report("E314", config.left_on.span, left=config.left_on.name, left_type=left_type,
                     right=config.right_on.name, path=config.table.path, right_type=right_type)


def comparable(a: Type, b: Type) -> bool:
    """Whether a value of `a` can equal one of `b` in a lookup (NULL: unknown, so assumed so)."""
    return a == b or t.NULL in (a, b) or (a in t.NUMERIC and b in t.NUMERIC)


def with_sampled_table(step: s.Step, spec_file: str, rows: int) -> s.Step:
    """`step` with its enrich table's schema sampled from the file, when it declares none and the file
    can be read; unchanged otherwise (the table then goes unchecked until the run reads it)."""
    config = step.config
    if not isinstance(config, s.Enrich) or config.table.schema is not None or config.table.type != "file":
        return step
    as_source = s.Source(name=f"{step.name}.table", type="file", schema=None, event_time=None,
                         config=s.Config({**s.thaw(config.table.config), "path": config.table.path}),
                         format=config.table.format)
    sampled, _ = sample_schema(as_source, spec_file, rows)
    if sampled is None:
        return step
    table = dataclasses.replace(config.table, schema=sampled)
    return dataclasses.replace(step, config=dataclasses.replace(config, table=table))
