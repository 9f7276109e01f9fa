"""Desugaring a loaded document into the typed `Spec` (SPEC §1-§8).

This phase fills in what the spec leaves implicit: default step names (`<operator>_<n>`), `from:`
inference (§2), settings defaults, file formats from extensions, and it parses every expression.
Its only diagnostics are expression syntax errors (E2xx); every other problem is a check's
(`flowc.compiler.checks`), which reads the `Spec` built here.
"""

from __future__ import annotations

import dataclasses

from flowc.compiler import spec as s
from flowc.compiler.normalize_io import normalize_settings, normalize_sink, normalize_source
from flowc.compiler.normalize_steps import OPERATORS
from flowc.compiler.spec_reader import At
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.source import Document
from flowc.dsl.span import Span

Problems = list[Diagnostic]
_STEP_KEYS = ("name", "from", "on_error")


def normalize_spec(doc: Document) -> tuple[s.Spec | None, list[Diagnostic]]:
    """The typed spec of `doc` and the syntax errors of its expressions.

    None only when the document's top level is not a mapping (which the structure check reports)."""
    if not isinstance(doc.data, dict):
        return None, []
    problems: Problems = []
    root = At(doc, ())
    pipeline = str(root.get("pipeline", ""))
    sources = kafka_groups(tuple(normalize_source(name, at, problems) for name, at in (root / "sources").items()),
                           pipeline)
    steps = normalize_steps(root / "steps", sources, problems)
    sinks = normalize_sinks(root / "sinks", sources, steps, problems)
    description = root.get("description")
    spec = s.Spec(
        pipeline=pipeline,
        description=None if description is None else str(description),
        settings=normalize_settings(root / "settings", pipeline, doc.file, problems),
        sources=sources,
        steps=steps,
        sinks=sinks,
        tests=normalize_tests(root / "tests"),
        file=doc.file,
    )
    return spec, problems


def kafka_groups(sources: tuple[s.Source, ...], pipeline: str) -> tuple[s.Source, ...]:
    """Several Kafka sources without `group_id` get one each, `flowc-<pipeline>-<source>`, where SPEC §3's
    default, `flowc-<pipeline>`, would make them one group: one process cannot be two members of a
    group (kafka-python rejoins a group only inside `poll`, and the feeds are polled in turn, so the
    second member's join waits for the first's until the broker's rebalance timeout). One Kafka source
    keeps the default."""
    defaulted = {x.name for x in sources if x.type == "kafka" and "group_id" not in x.config}
    if len(defaulted) < 2:
        return sources
    return tuple(dataclasses.replace(x, config=s.Config({**x.config, "group_id": f"flowc-{pipeline}-{x.name}"}))
                 if x.name in defaulted else x for x in sources)


def normalize_steps(at: At, sources: tuple[s.Source, ...], problems: Problems) -> tuple[s.Step, ...]:
    steps: list[s.Step] = []
    for i, step in enumerate(at.elements()):
        if not isinstance(step.value, dict):
            continue
        previous = steps[-1].name if steps else None
        steps.append(normalize_step(step, i + 1, previous, sources, problems))
    return tuple(steps)


def normalize_step(at: At, position: int, previous: str | None, sources: tuple[s.Source, ...],
                   problems: Problems) -> s.Step:
    operator = next((k for k in at.value if k not in _STEP_KEYS and k in OPERATORS), "")
    # a misspelt operator (E401 says so) is read as meant, so the steps after it can still be checked
    written, operator = (operator, operator) if operator else _misspelled_operator(at.value)
    config = OPERATORS[operator](at / written, problems) if operator else s.Union()
    given = at.get("name")
    if operator == "union":
        inputs = tuple((e.value, e.span) for e in (at / "union").elements() if isinstance(e.value, str))
    elif at.has("from"):
        inputs = ((str(at.get("from")), (at / "from").span),)
    else:
        inputs = _inferred(previous, sources)
    on_error = at.get("on_error")
    return s.Step(
        name=str(given) if given is not None else f"{operator}_{position}",
        operator=operator,
        config=config,
        input_names=tuple(name for name, _ in inputs),
        on_error=None if on_error is None else str(on_error),
        span=(at / "name").span if given is not None else (at / written).key_span,
        input_spans=tuple(span for _, span in inputs),
        name_given=given is not None,
        key_spans=at.value_spans(),
        operator_span=(at / written).key_span,
    )


def _misspelled_operator(step: dict) -> tuple[str, str]:
    """The step's key that misspells an operator and that operator (`filtr`, `filter`), or ("", "")."""
    meant = ((str(k), codes.closest(str(k), OPERATORS)) for k in step if k not in _STEP_KEYS)
    return next(((key, operator) for key, operator in meant if operator), ("", ""))


def _inferred(previous: str | None, sources: tuple[s.Source, ...]) -> tuple[tuple[str, Span | None], ...]:
    """SPEC §2: the step before, else the only source; nothing when there are several (E302)."""
    if previous is not None:
        return ((previous, None),)
    if len(sources) == 1:
        return ((sources[0].name, None),)
    return ()


def normalize_sinks(at: At, sources: tuple[s.Source, ...], steps: tuple[s.Step, ...],
                    problems: Problems) -> tuple[s.Sink, ...]:
    sinks = []
    for name, sink in at.items():
        if not isinstance(sink.value, dict):
            continue
        if sink.has("from"):
            input_name, input_span = str(sink.get("from")), (sink / "from").span
        else:
            inferred = _inferred(steps[-1].name if steps else None, sources)
            input_name, input_span = inferred[0] if inferred else ("", None)
        sinks.append(normalize_sink(name, sink, input_name, input_span, problems))
    return tuple(sinks)


def normalize_tests(at: At) -> tuple[s.SpecTest, ...]:
    tests = []
    for i, test in enumerate(at.elements()):
        if not isinstance(test.value, dict):
            continue
        now = test.get("now")
        tests.append(s.SpecTest(
            name=str(test.get("name", f"test {i + 1}")),
            inputs=_record_sets(test / "inputs"),
            expect=_record_sets(test / "expect"),
            ordered=test.get("ordered") is True,
            now=None if now is None else str(now),
            span=(test / "name").span if test.has("name") else test.span,
            now_span=(test / "now").span,
        ))
    return tuple(tests)


def _record_sets(at: At) -> tuple[s.RecordSet, ...]:
    return tuple(
        s.RecordSet(name, tuple(s.freeze(r) for r in value.value or () if isinstance(r, dict)), value.key_span)
        for name, value in at.items()
    )
