"""Running a plan through the real batch runner, and random pipelines for the optimizer's property test.

`run_plan` feeds every source's fused query through `BatchRunner` batch by batch, exactly as
`flowc run` reads it the exact way (a file in chunks of the batch size, only the fields the plan reads), and gathers what each sink receives (dead-letter sink included), or the failure.
`pipelines()` draws well-typed chains of filter/map/select/drop/rename/explode/validate (a select keeps
fields or computes them; a select or map sometimes sets only constants) over a random schema (perhaps a struct field, null or not, that maps set dotted targets in) with inline records (some
values that do not convert, some expressions that can fail), or the same records in a JSON lines file
with some lines that do not parse, as spec text; sometimes a second sink
reads an earlier step (fan-out) and a third a step's `.errors`.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime

import polars as pl
import yaml
from hypothesis import strategies as st

from flowc.compiler.normalize import normalize_spec
from flowc.compiler.plan import Plan
from flowc.compiler.validate import validate_document
from flowc.dsl.diagnostics import Severity
from flowc.dsl.loader import load_text
from flowc.runtime.batching import BatchRunner, prefetched_batches, source_query
from flowc.runtime.envelope import Policy, RecordFailed
from flowc.runtime.run_setup import Prepared, prepare

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def prepared_of(text: str, file: str = "p.flow.yaml") -> Prepared:
    document, problems = load_text(text, file)
    assert document is not None, problems
    problems = [*problems, *validate_document(document)]
    errors = [p for p in problems if p.severity is Severity.ERROR]
    assert not errors, (text, errors)
    spec, _ = normalize_spec(document)
    return prepare(spec, text, optimize=False)


def run_plan(prepared: Prepared, plan: Plan, batch_size: int) -> dict[str, object]:
    """Per sink, its records (field/value pairs, in order), and the skipped and dead-lettered counts; or the
    failure message."""
    outputs: dict[str, list[pl.DataFrame]] = {s.step: [] for s in plan.sinks}
    counts = {"skipped": 0, "dead_lettered": 0}
    try:
        for scan in plan.scans:
            reader = prepared.readers[scan.step]
            schema, fields = prepared.schemas[scan.step], [name for name, _ in plan.schemas[scan].fields]
            chunked = reader.chunks(schema, None, None, batch_size, fields) if hasattr(reader, "chunks") else None
            raw = reader.frame(schema, None, None) if chunked is None else chunked.template
            query = source_query(plan, scan, raw, NOW)
            runner = BatchRunner(plan, query, Policy(scan.step, reader.positions))
            batches = (query.frame.collect_batches(chunk_size=batch_size, maintain_order=True) if chunked is None
                       else prefetched_batches(plan, scan, chunked.frames, NOW, False))
            for batch in batches:
                if batch.height:
                    result = runner.run(batch, NOW)
                    for node, frames in result.outputs.items():
                        outputs[node.step].extend(frames)
                    counts["skipped"] += result.skipped
                    counts["dead_lettered"] += result.dead_lettered
    except RecordFailed as failure:
        return {"failed": str(failure)}
    return {**{step: _rows(frames) for step, frames in outputs.items()}, "counts": counts}


def _rows(frames: list[pl.DataFrame]) -> list[tuple]:
    """Records as (field, value) pairs in field order, so field order counts too."""
    return [tuple(row.items()) for frame in frames for row in frame.to_dicts()]


# --- random pipelines ---

NAMES = ("a", "b", "c", "d", "s", "t", "u", "xs")
TYPES = ("int", "float", "string", "bool", "list<int>", "struct")
TEXTUAL = ("string", "string", "string", "string", "list<int>", "struct")
# JSON lines a reader cannot decode (`parse` errors): malformed ones, and lines whose every field holds a
# list (a struct field's value of another type) or a struct (a list field's), which do not decode only
# where the schema has such a nested field (a string field takes either as text)
MALFORMED = ('{"a": "x", b}', "not json", "[1, 2]", json.dumps({key: [1] for key in NAMES}),
             json.dumps({key: {"tier": "a"} for key in NAMES}))
STRUCT = {"tier": "string"}  # the type "struct" stands for; dotted map targets set fields in and below it


def _value(draw, type_: str):
    if draw(st.integers(0, 5)) == 0:
        return None
    if type_ == "int":
        return draw(st.one_of(st.integers(-5, 5), st.just("x") if draw(st.integers(0, 6)) == 0 else st.integers(-9, 9)))
    if type_ == "float":
        return draw(st.sampled_from([0.5, -1.25, 3.0, 10.5, 0.0]))
    if type_ == "string":
        return draw(st.sampled_from(["a", "B", "12", "-3", "x y", "", "9"]))
    if type_ == "bool":
        return draw(st.booleans())
    if type_ == "struct":
        return {"tier": draw(st.sampled_from(["a", "B", None]))}
    return draw(st.lists(st.integers(-3, 3), max_size=3))


def _expr(draw, schema: dict[str, str], wanted: str) -> str:
    """A well-typed expression of type `wanted` over `schema` (falls back to a constant)."""
    fields = [n for n, t in schema.items() if t == wanted]
    ints = [n for n, t in schema.items() if t == "int"]
    strings = [n for n, t in schema.items() if t == "string"]
    options = {
        "int": ["1 + 2", "-(4)"] + [f"{f} + {k}" for f in fields for k in (1, 2 * 3)]
        + [f"{f} // 2" for f in fields] + [f"to_int({s})" for s in strings] + [f"len({s})" for s in strings]
        + [f"if({f} > 0, {f}, 0)" for f in fields] + [f"({f} % 3) + ({f} % 3)" for f in fields],
        "float": ["2.5 * 2"] + [f"{f} * 1.5" for f in fields] + [f"{f} / 2" for f in ints],
        "string": ['"k"', 'upper("ab")'] + [f"upper({f})" for f in fields] + [f'{f} + "!"' for f in fields]
        + [f"to_string({i})" for i in ints],
        "bool": ["true", "1 < 2"] + [f"{f} > {k}" for f in ints for k in (0, 1 + 1)]
        + [f'{s} != "a"' for s in strings] + [f"{s} is null" for s in strings]
        + [f"to_int({s}) > 0" for s in strings] + [f"not {f}" for f in fields]
        + [f"{f} % 2 == 0 or {f} is null" for f in ints],
    }[wanted]
    return draw(st.sampled_from(options + fields))


def _fresh(draw, schema: dict[str, str]) -> str:
    free = [n for n in NAMES if n not in schema]
    return draw(st.sampled_from(free)) if free else "z" + str(len(schema))


def _step(draw, schema: dict[str, str]) -> dict | None:
    kind = draw(st.sampled_from(["filter", "filter", "map", "map", "map", "select", "drop", "drop", "rename",
                                 "explode", "validate", "constants", "constants"]))
    if kind == "filter":
        return {"filter": _expr(draw, schema, "bool")}
    if kind == "validate":
        return {"validate": {"rule": _expr(draw, schema, "bool")}}
    if kind == "map":
        out, read = {}, dict(schema)  # every expression of a map reads the input record
        for _ in range(draw(st.integers(1, 2))):
            type_ = draw(st.sampled_from(["int", "float", "string", "string", "bool"]))
            structs = [f"{n}.{p}" for n, t in schema.items() if t == "struct" for p in ("tier", "x.y", "new")]
            target = draw(st.sampled_from([*schema, _fresh(draw, schema), *structs]))
            if any(t.startswith(target + ".") for t in out):  # E310: a field set after a path into it
                continue
            out[target] = _expr(draw, read, type_)
            if "." not in target:
                schema[target] = type_
        return {"map": out}
    names = list(schema)
    if kind == "constants":  # a select or map whose every value is a constant (or now())
        return _constants(draw, schema, draw(st.sampled_from(["select", "map"])))
    if kind == "select" and draw(st.booleans()):
        return _computed_select(draw, schema)
    if kind == "select":
        keep = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        for n in names:
            if n not in keep:
                del schema[n]
        return {"select": keep}
    if kind == "drop" and len(names) > 1:
        gone = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names) - 1, unique=True))
        for n in gone:
            del schema[n]
        return {"drop": gone}
    if kind == "rename":
        old, new = draw(st.sampled_from(names)), _fresh(draw, schema)
        renamed = {(new if k == old else k): v for k, v in schema.items()}
        schema.clear()
        schema.update(renamed)
        return {"rename": {old: new}}
    lists = [n for n, t in schema.items() if t == "list<int>"]
    if kind == "explode" and lists:
        field = draw(st.sampled_from(lists))
        schema[field] = "int"
        return {"explode": field}
    return None


CONSTANTS = {"int": ["1", "1 + 2"], "float": ["2.5 * 2"], "string": ['"k"', 'upper("ab")'], "bool": ["true"],
             "datetime": ["now()"]}  # `run_plan` gives both runs the same now()


def _constants(draw, schema: dict[str, str], kind: str) -> dict:
    """A select or map whose values are all constants: the select keeps no input field (the optimizer once
    pruned its scan to no columns and then removed the select as a no-op, losing its fields)."""
    out: dict[str, str] = {}
    if kind == "select":
        schema.clear()
    for _ in range(draw(st.integers(1, 2))):
        type_ = draw(st.sampled_from(sorted(CONSTANTS)))
        target = draw(st.sampled_from([*schema, _fresh(draw, schema)]))
        out[target] = draw(st.sampled_from(CONSTANTS[type_]))
        schema[target] = type_
    return {kind: out}


def _computed_select(draw, schema: dict[str, str]) -> dict:
    """`select: {name: expr}`: exactly the computed fields, every expression reading the input record."""
    read, out, types = dict(schema), {}, {}
    for _ in range(draw(st.integers(1, 2))):
        type_ = draw(st.sampled_from(["int", "float", "string", "bool"]))
        target = draw(st.sampled_from([*read, _fresh(draw, read)]))
        out[target], types[target] = _expr(draw, read, type_), type_
    schema.clear()
    schema.update(types)
    return {"select": out}


@st.composite
def pipelines(draw) -> tuple[str, int]:
    """(spec text, batch size, the source's files by name: none for inline records)."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=5, unique=True))
    # mostly text fields: none can fail to convert, so scans get pruned (a nested field can still fail to
    # decode in a file: it must not be pruned)
    textual = draw(st.integers(0, 2)) == 0
    schema = {n: draw(st.sampled_from(TEXTUAL if textual else TYPES)) for n in names}
    records = [{n: _value(draw, t) for n, t in schema.items()} for _ in range(draw(st.integers(0, 8)))]
    declared = {n: (dict(STRUCT) if t == "struct" else t) for n, t in schema.items()}
    source: dict = {"type": "inline", "schema": declared, "records": records}
    files: dict[str, str] = {}
    if draw(st.booleans()):  # the same records as a JSON lines file, perhaps with lines that do not parse
        lines = [json.dumps(r) for r in records]
        for bad in draw(st.lists(st.sampled_from(MALFORMED), max_size=2)):
            lines.insert(draw(st.integers(0, len(lines))), bad)
        source, files = {"type": "file", "path": "src.jsonl", "schema": declared}, {"src.jsonl": "\n".join(lines) + "\n"}
    steps = [s for s in (_step(draw, schema) for _ in range(draw(st.integers(1, 6)))) if s is not None]
    policy = draw(st.sampled_from(["fail", "skip", "dead_letter"]))
    steps = steps or [{"filter": "true"}]
    sinks = {"out": {"type": "file", "path": "out.jsonl"}}
    names = [f"{next(iter(step))}_{i}" for i, step in enumerate(steps, start=1)]
    if len(steps) > 1 and draw(st.booleans()):  # fan-out: a second sink reads an earlier step
        sinks["side"] = {"type": "file", "path": "side.jsonl", "from": draw(st.sampled_from(names[:-1]))}
    failing = [n for n in names if n.split("_")[0] in ("filter", "map", "validate")]
    if failing and draw(st.booleans()):  # a sink reads a step's errors (that step then dead-letters)
        sinks["bad"] = {"type": "file", "path": "bad.jsonl", "from": draw(st.sampled_from(failing)) + ".errors"}
    doc = {"version": 1, "pipeline": "p",
           "settings": {"on_error": policy, "dead_letter": {"type": "file", "path": "dead.jsonl"}},
           "sources": {"src": source}, "steps": steps, "sinks": sinks}
    return yaml.safe_dump(doc, sort_keys=False), draw(st.sampled_from([1, 3, 100])), files


def spec_text(body: str) -> str:
    return "version: 1\npipeline: p\n" + textwrap.dedent(body)
