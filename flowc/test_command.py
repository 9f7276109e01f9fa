"""`flowc test SPEC...` (SPEC §8): run each test of each spec through the real pipeline and compare.

Per test, the spec is rewritten (`harness_spec`): every source becomes an inline source holding the
test's records for it (none when the test does not name it), keeping its schema and event time, so
conversions and windows behave as in the real pipeline; every sink becomes a Parquet file in a
temporary folder (Parquet keeps the types for the comparison); each `<step>.errors` / `<step>.late`
named in `expect` gets a temporary sink reading it (`dead_letter` names the dead-letter sink, which
receives the side outputs nothing reads); the state directory is temporary. The rewritten
spec runs in this process with the real runner (`prepare` + `start`), `now()` pinned by the test's
`now:`, and each named output is compared with its expectation (`flowc.test_compare`).

Exit status: 0 every test passed (or was updated by `--update`), 1 a test failed or a spec has
errors, 2 usage.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from flowc.compiler.checks.tests_section import parse_test_now
from flowc.compiler.spec import Config, Sink, Source, Spec, SpecTest, thaw
from flowc.dsl.types import Struct
from flowc.test_compare import OutputDiff, compare, convert_record, yaml_value

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True, slots=True)
class TestResult:
    name: str
    diffs: tuple[OutputDiff, ...] = ()
    error: str | None = None  # the test could not run, or its pipeline failed
    actual: Mapping[str, tuple[dict[str, Any], ...]] = dataclasses.field(default_factory=dict)  # per output
    schemas: Mapping[str, Struct | None] = dataclasses.field(default_factory=dict)  # per output

    @property
    def passed(self) -> bool:
        return self.error is None and all(d.ok for d in self.diffs)


def harness_spec(spec: Spec, test: SpecTest, folder: str) -> tuple[Spec, dict[str, str]]:
    """`spec` rewritten to run `test` inside `folder`, and the sink that holds each expected output."""
    given = {r.name: r.records for r in test.inputs}
    sources = tuple(_inline(s, given.get(s.name, ()), _schema_for_tests(spec, s)) for s in spec.sources)
    sinks = [_to_parquet(k, os.path.join(folder, f"sink{i}.parquet")) for i, k in enumerate(spec.sinks)]
    outputs = {}
    names = {k.name for k in spec.sinks}
    for i, expected in enumerate(test.expect):
        if expected.name in names or (expected.name == "dead_letter" and spec.settings.dead_letter):
            outputs[expected.name] = expected.name  # the dead-letter sink's node is named `dead_letter` too
            continue
        # A side output: a sink reading it, as a user's sink would (which makes the step dead-letter).
        sink = Sink(f"__expect_{i}", "file", expected.name, Config({}))
        sinks.append(_to_parquet(sink, os.path.join(folder, f"expect{i}.parquet")))
        outputs[expected.name] = sink.name
    dead_letter = spec.settings.dead_letter
    settings = dataclasses.replace(
        spec.settings, state_dir=os.path.join(folder, "state"),
        dead_letter=_to_parquet(dead_letter, os.path.join(folder, "dead_letter.parquet")) if dead_letter else None)
    return dataclasses.replace(spec, sources=sources, sinks=tuple(sinks), settings=settings, tests=()), outputs


def _inline(source: Source, records: tuple[Config, ...], schema: Any) -> Source:
    return dataclasses.replace(source, type="inline", config=Config({}), records=records, schema=schema,
                               format=None, bounded=True, fields=())


def _schema_for_tests(spec: Spec, source: Source) -> Any:
    """What `_source_schema` finds, with the metadata fields of a Kafka source (`_key`, `_partition`, ...:
    the spec's steps may read them, and a test's records may give them)."""
    from flowc.compiler.checks.source_schemas import with_kafka_fields

    schema = _source_schema(spec, source)
    return with_kafka_fields(schema, source) if schema is not None else None


def _source_schema(spec: Spec, source: Source) -> Any:
    """The declared schema; else one inferred from the records every test of the spec gives the source
    (so all tests see one schema); else the schema `flowc run` would infer from the real source (a
    generate source's field types, a file's first rows), when it can be read."""
    if source.schema is not None:
        return source.schema
    import polars as pl

    from flowc.compiler.checks.source_schemas import records_schema, with_event_time
    from flowc.dsl import types as t
    from flowc.runtime.run_setup import infer_rows
    from flowc.runtime.sources import open_reader

    records = [thaw(r) for test in spec.tests for given in test.inputs if given.name == source.name
               for r in given.records]
    if records:  # typed as `flowc run` types inline records; the event time read as a datetime
        return with_event_time(records_schema(tuple(records), open_type=t.STRING), source)
    try:
        reader = open_reader(source, os.path.dirname(os.path.abspath(spec.file)))
        return with_event_time(reader.schema(infer_rows(spec, source)), source)
    except (OSError, ValueError, pl.exceptions.PolarsError):
        return None  # no data to infer from: the source is empty in every test anyway


def _to_parquet(sink: Sink, path: str) -> Sink:
    return dataclasses.replace(sink, type="file", config=Config({"path": path}), format="parquet", key=None,
                               headers=())


def pinned_clock(now: str | None) -> Callable[[], datetime] | None:
    """The clock `now()` reads in a test with `now:` (ValueError when it is no ISO-8601 time)."""
    if now is None:
        return None
    instant = parse_test_now(now)
    return lambda: instant


def run_test(spec: Spec, test: SpecTest, text: str) -> TestResult:
    from flowc.runtime.run_setup import SchemaMismatch

    try:
        clock = pinned_clock(test.now)
    except ValueError:
        return TestResult(test.name, error=f"now: '{test.now}' is not an ISO-8601 time")
    with tempfile.TemporaryDirectory(prefix="flowc-test-") as folder:
        rewritten, outputs = harness_spec(spec, test, folder)
        try:
            return _run(rewritten, test, text, outputs, clock)
        except SchemaMismatch as mismatch:  # a type error against the schemas inferred from the data
            return TestResult(test.name, error=str(mismatch))
        except Exception as error:  # one broken test must not hide the results of the others
            return TestResult(test.name, error=_reason(error))


def _reason(error: Exception) -> str:
    """The error's own message when it is one of a run's (a file, a table, Polars), else with its class
    (a bug: the class helps a bug report)."""
    import polars as pl

    from flowc.runtime.failure_text import failure_reason

    if isinstance(error, OSError | ValueError | pl.exceptions.PolarsError):
        return failure_reason(error)
    return f"{type(error).__name__}: {error}"


def _run(spec: Spec, test: SpecTest, text: str, outputs: dict[str, str],
         clock: Callable[[], datetime] | None) -> TestResult:
    from flowc.runtime.events import EventLog
    from flowc.runtime.executor import RunOptions, start
    from flowc.runtime.run_setup import prepare

    prepared = prepare(spec, text)
    options = RunOptions(clock=clock) if clock else RunOptions()
    outcome = start(prepared, EventLog.open(spec.settings.state_dir), options)
    if outcome.status != "completed":
        return TestResult(test.name, error=f"the pipeline {outcome.status}: {outcome.reason}")
    nodes = {n.sink.name: n for n in prepared.plan.sinks}
    diffs, actual, schemas = [], {}, {}
    for expected in test.expect:
        node = nodes[outputs[expected.name]]
        records = _written(str(node.sink.config["path"]))
        schema = prepared.plan.schemas.get(node)
        converted, problems = convert_expected([thaw(r) for r in expected.records], schema)
        diffs.append(dataclasses.replace(compare(expected.name, converted, records, test.ordered), problems=problems))
        actual[expected.name], schemas[expected.name] = tuple(records), schema
    return TestResult(test.name, tuple(diffs), actual=actual, schemas=schemas)


def convert_expected(records: list[dict[str, Any]], schema: Struct | None,
                     ) -> tuple[list[dict[str, Any] | None], tuple[tuple[int, str], ...]]:
    """Each record converted to the output's types (None when it has a problem), and the problems."""
    if schema is None:  # the output's schema is unknown: compare the values as written
        return list(records), ()
    converted: list[dict[str, Any] | None] = []
    problems = []
    for i, record in enumerate(records):
        values, found = convert_record(record, schema)
        converted.append(None if found else values)
        problems += [(i, problem) for problem in found]
    return converted, tuple(problems)


def _written(path: str) -> list[dict[str, Any]]:
    """The records a Parquet sink wrote (no file: it wrote none)."""
    import polars as pl

    return pl.read_parquet(path).to_dicts() if os.path.exists(path) else []


# --- the command ---


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--update", is_flag=True, help="Write the actual outputs into the failing expectations.")
@click.option("-k", "--name", "selected", metavar="TEXT", help="Run only tests whose name contains TEXT.")
def test(paths: tuple[Path, ...], update: bool, selected: str | None) -> None:
    """Run the tests of spec files (or folders of **/*.flow.yaml) and compare their outputs."""
    from flowc.cli import _spec_files  # imported here: cli imports this module

    files = _spec_files(paths)
    tally = {"passed": 0, "failed": 0, "updated": 0, "spec errors": 0}
    for file in files:
        for outcome, n in _test_file(file, update, selected).items():
            tally[outcome] += n
    ran = tally["passed"] + tally["failed"] + tally["updated"]
    parts = ", ".join(f"{n} {k}" for k, n in tally.items() if n or k == "passed")
    parts = parts.replace("1 spec errors", "1 spec with errors").replace(" spec errors", " specs with errors")
    click.echo(f"{ran} test{'s' if ran != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}: {parts}")
    sys.exit(EXIT_FAILED if tally["failed"] or tally["spec errors"] else EXIT_OK)


def _test_file(file: str, update: bool, selected: str | None) -> dict[str, int]:
    from flowc import render
    from flowc.compiler.normalize import normalize_spec
    from flowc.compiler.validate import validate_path
    from flowc.dsl.diagnostics import Severity

    document, found = validate_path(file)
    errors = [d for d in found if d.severity is Severity.ERROR]
    if document is None or errors:
        click.echo(render.render_text(errors, render.sources_of(document, errors)), err=True, nl=False)
        click.echo(f"{file}: not run: the spec has errors")
        return {"spec errors": 1}
    spec, _ = normalize_spec(document)
    indexed = [(i, t) for i, t in zip(_test_indices(document), spec.tests, strict=True)
               if selected is None or selected in t.name]
    if not spec.tests or not indexed:
        click.echo(f"{file}: no tests" + (f" named like '{selected}'" if spec.tests else ""))
        return {}
    click.echo(f"{file}: {len(indexed)} test{'s' if len(indexed) != 1 else ''}")
    results = [(index, run_test(spec, test, document.text)) for index, test in indexed]
    updated = _update(document, results) if update else set()
    tally = {"passed": 0, "failed": 0, "updated": 0}
    for index, result in results:
        if index in updated:
            click.echo(f"UPDATED {result.name}")
            tally["updated"] += 1
            continue
        click.echo("\n".join(render_result(result, _locator(document, index))))
        tally["passed" if result.passed else "failed"] += 1
    return tally


def _test_indices(document: Any) -> list[int]:
    """The position in the document's `tests` list of each SpecTest (normalisation skips non-mappings)."""
    return [i for i, t in enumerate(document.data.get("tests") or ()) if isinstance(t, dict)]


def _locator(document: Any, test_index: int) -> Callable[[str, int], str]:
    def where(name: str, record: int) -> str:
        span = document.value_spans.get(("tests", test_index, "expect", name, record))
        return f" (line {span.line})" if span else ""

    return where


def render_result(result: TestResult, where: Callable[[str, int], str]) -> list[str]:
    """`PASS name`, or `FAIL name` and what differs, output by output."""
    if result.passed:
        return [f"PASS {result.name}"]
    lines = [f"FAIL {result.name}"]
    if result.error is not None:
        return [*lines, f"  {result.error}"]
    for diff in (d for d in result.diffs if not d.ok):
        lines.append(f"  {diff.name}: {len(diff.expected)} expected, {len(diff.actual)} written, "
                     f"{diff.matched} matched")
        lines += [f"    record {i + 1}{where(diff.name, i)}: {problem}" for i, problem in diff.problems]
        for mismatch in diff.mismatches:
            i = mismatch.expected_index
            lines.append(f"    record {i + 1}{where(diff.name, i)} {yaml_value(diff.expected[i])}")
            written = f"written record {i + 1}" if diff.ordered else "closest written"
            lines.append(f"      {written}: {yaml_value(mismatch.actual)}")
            lines += [f"      {field}: expected {yaml_value(e)}, got {yaml_value(a)}" for field, e, a in mismatch.fields]
        lines += [f"    missing: record {i + 1}{where(diff.name, i)} {yaml_value(diff.expected[i])}"
                  for i in diff.missing]
        lines += [f"    unexpected: {yaml_value(record)}" for record in diff.unexpected]
    return lines


def _update(document: Any, results: list[tuple[int, TestResult]]) -> set[int]:
    """Rewrite the failing expectations of tests that ran; the test indices updated."""
    from flowc.test_update import Update, UpdateFailed, kept_fields, write_updates

    updates, wanted = [], {}
    for index, result in results:
        if result.error is not None:
            continue
        for diff in (d for d in result.diffs if not d.ok):
            original = [thaw(r) for r in document.data["tests"][index]["expect"][diff.name] or ()
                        if isinstance(r, dict)]
            records = tuple(kept_fields(original, result.actual[diff.name]))
            updates.append(Update(index, diff.name, records))
            wanted[(index, diff.name)] = (records, result.schemas.get(diff.name))
    if not updates:
        return set()
    try:
        write_updates(document, updates, lambda reloaded: _read_back(reloaded, wanted))
    except UpdateFailed as failed:
        click.echo(f"error: {document.file}: not updated: {failed}", err=True)
        return set()
    return {index for index, _ in wanted}


def _read_back(reloaded: Any, wanted: Mapping[tuple[int, str], Any]) -> list[str]:
    """Problems in the reloaded expectations: each must match what the pipeline wrote, in order."""
    problems = []
    for (index, name), (records, schema) in wanted.items():
        written = [r for r in reloaded.data["tests"][index]["expect"][name] or () if isinstance(r, dict)]
        converted, found = convert_expected(written, schema)
        if found or not compare(name, converted, records, ordered=True).ok:
            problems.append(f"test {index + 1}, '{name}'" + "".join(f"; {p}" for _, p in found))
    return problems
