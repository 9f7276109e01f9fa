"""`flowc plan SPEC` (SPEC §10): the operator graph before and after optimisation, the rewrites that
fired, and the Polars plan of each stage.

A stage is a source's fused query: the scan and the steps the runner runs inside it as ONE Polars lazy
query (`flowc.runtime.batching.source_query`), shown with `LazyFrame.explain()`, so a filter pushed
into a Parquet scan shows as `SELECTION:` and a pruned read as `PROJECT k/n COLUMNS`. Sources without a
declared schema are sampled as `flowc run` samples them (the first `infer_rows` records).

`--format json` is stable (documented in docs/plan.md); `--format mermaid` draws both graphs.
Exit status: 0 printed, 1 spec errors (also type errors against the sampled schemas, shown as
`flowc validate` shows errors; or a source without a declared schema that cannot be read), 2 usage.
A file source with a declared schema and no file yet is planned all the same; its stage says that
its Polars plan waits for the files.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from flowc import render
from flowc.dsl.diagnostics import Severity

EXIT_OK, EXIT_FAILED = 0, 1
JSON_FORMAT = "flowc-plan/1"
_CSER = re.compile(r"__POLARS_CSER_0x[0-9a-f]+")
TEXT_WIDTH = 160  # the text form cuts Polars plan lines here (the JSON form keeps them whole)
_PLANNED_AT = datetime(1970, 1, 1, tzinfo=UTC)  # `now()` in printed plans: output must not vary by clock


@dataclass(frozen=True)
class Stage:
    source: str
    nodes: tuple[str, ...]  # ids (in the optimised plan) of the nodes fused into the source's query
    polars_plan: str
    per_batch: tuple[str, ...] = ()  # ids of the nodes after the query, run on each collected batch


@click.command("plan")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "output_format", type=click.Choice(["text", "json", "mermaid"]), default="text",
              show_default=True, help="How to print the plan.")
def plan(spec_path: str, output_format: str) -> None:
    """Show the operator graph of SPEC before and after optimisation, the rewrites, and the Polars plans."""
    from flowc.compiler.normalize import normalize_spec
    from flowc.compiler.optimize import optimize
    from flowc.compiler.validate import validate_document
    from flowc.dsl.loader import load_document
    from flowc.run_command import show_mismatch
    from flowc.runtime.run_setup import SchemaMismatch, prepare, recalled_schemas

    document, found = load_document(spec_path)
    if document is not None and not any(d.severity is Severity.ERROR for d in found):
        found = found + validate_document(document)
    errors = [d for d in found if d.severity is Severity.ERROR]
    if document is None or errors:
        click.echo(render.render_text(errors, render.sources_of(document, errors)), err=True, nl=False)
        sys.exit(EXIT_FAILED)
    spec, _ = normalize_spec(document)
    try:
        prepared = prepare(spec, document.text, recalled_schemas(spec.settings.state_dir), optimize=False)
        optimized = optimize(prepared.plan)
        stages = _stages(prepared, optimized.plan)
    except SchemaMismatch as mismatch:  # a type error against a schema inferred from the data
        sys.exit(show_mismatch(mismatch, document))
    except (FileNotFoundError, OSError, ValueError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_FAILED)
    report = plan_json(spec, spec_path, prepared.plan, optimized, stages)
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
    elif output_format == "mermaid":
        click.echo(mermaid(report), nl=False)
    else:
        click.echo(text(report), nl=False)


def _stages(prepared: Any, after: Any) -> list[Stage]:
    from flowc.runtime.batching import source_query

    stages = []
    for scan in after.scans:
        reader = prepared.readers.get(scan.step)
        if reader is None:  # a polled source: its query is built batch by batch
            continue
        try:
            raw = reader.frame(prepared.schemas[scan.step], None, None)
        except FileNotFoundError as missing:  # a declared schema needs no file: the graph still shows
            later = _downstream(after, (scan,))
            stages.append(Stage(scan.step, (after.id(scan),), f"(no Polars plan: {missing})",
                                tuple(after.id(n) for n in after.nodes if n in later)))
            continue
        query = source_query(after, scan, raw, _PLANNED_AT)
        shown = stable(query.frame.explain().replace(prepared.base_dir + os.sep, ""))
        later = _downstream(after, query.chain)
        stages.append(Stage(scan.step, tuple(after.id(n) for n in query.chain), shown,
                            tuple(after.id(n) for n in after.nodes if n in later)))
    return stages


def _downstream(plan: Any, chain: tuple) -> set:
    """Nodes that read (directly or not) from the fused query's nodes, the query's own nodes excluded."""
    from flowc.compiler import ir

    reach = set(chain)
    for node in plan.nodes:  # topological: inputs come first
        if any(i in reach for i in ir.inputs(node)):
            reach.add(node)
    return reach - set(chain)


def stable(explained: str) -> str:
    """`explain()` text with Polars' common-subexpression column ids (`__POLARS_CSER_0x1000000a3`, a
    process-wide counter) renumbered 0, 1, ... by first appearance, so the same plan prints the same."""
    ids: dict[str, str] = {}
    return _CSER.sub(lambda m: ids.setdefault(m.group(0), f"__POLARS_CSER_{len(ids)}"), explained)


def plan_json(spec: Any, spec_path: str, before: Any, optimized: Any, stages: list[Stage]) -> dict[str, Any]:
    """The whole report as plain data: the JSON output, which the text and mermaid forms are drawn from."""
    return {
        "format": JSON_FORMAT,
        "pipeline": spec.pipeline,
        "spec": os.path.basename(spec_path),
        "before": {"nodes": _nodes(before)},
        "after": {"nodes": _nodes(optimized.plan)},
        "rewrites": [{"rule": a.rule, "step": a.step, "detail": a.detail} for a in optimized.applied],
        "stages": [{"source": s.source, "nodes": list(s.nodes), "polars_plan": s.polars_plan,
                    "per_batch": list(s.per_batch)} for s in stages],
    }


def _nodes(plan: Any) -> list[dict[str, Any]]:
    from flowc.compiler import ir
    from flowc.compiler.plan import format_plan

    lines = format_plan(plan).splitlines()
    out = []
    for node, line in zip(plan.nodes, lines, strict=True):
        schema = plan.schemas.get(node)
        out.append({
            "id": plan.id(node),
            "op": type(node).__name__.removesuffix("Node"),
            "step": node.step,
            "inputs": [plan.id(i) for i in ir.inputs(node)],
            "on_error": getattr(node, "on_error", None) if isinstance(node, ir.FAILING) else None,
            "columns": list(node.columns) if isinstance(node, ir.Scan) and node.columns is not None else None,
            "schema": {n: str(t) for n, t in schema.fields} if schema is not None else None,
            "text": line.partition(" := ")[2],
        })
    return out


def text(report: dict[str, Any]) -> str:
    parts = [f"pipeline {report['pipeline']} ({report['spec']})", "", "before:"]
    parts += [f"  {n['id']} := {n['text']}" for n in report["before"]["nodes"]]
    parts += ["", "after:"]
    parts += [f"  {n['id']} := {n['text']}" for n in report["after"]["nodes"]]
    rewrites = report["rewrites"]
    parts += ["", f"rewrites ({len(rewrites)}):" if rewrites else "rewrites: none"]
    parts += [f"  {r['rule']} at {r['step']}: {r['detail']}" for r in rewrites]
    for stage in report["stages"]:
        parts += ["", f"stage {stage['source']}: {' -> '.join(stage['nodes'])} (one Polars query, read in batches)"
                  + (f"; then per batch: {', '.join(stage['per_batch'])}" if stage["per_batch"] else "")]
        parts += [_cut(f"  {line}") for line in stage["polars_plan"].splitlines()]
    return "\n".join(parts) + "\n"


def _cut(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= TEXT_WIDTH else line[:TEXT_WIDTH - 1] + "…"


def mermaid(report: dict[str, Any]) -> str:
    """A `flowchart` of the graph before and after optimisation, each in its own subgraph (SPEC §10: the
    plan is both graphs): one box per node (operator and step), an arrow per input; the edges into side
    outputs (`.errors`) are dotted. The optimised graph keeps the plan's ids (`n0`); the written one
    prefixes them (`b_n0`), as one flowchart has one namespace of ids."""
    lines = ["flowchart TD"]
    edges: list[str] = []
    for graph, title, prefix in (("before", "before optimisation", "b_"), ("after", "after optimisation", "")):
        lines.append(f'  subgraph {graph} ["{title}"]')
        for n in report[graph]["nodes"]:
            lines.append(f'    {prefix}{n["id"]}["{_mermaid_label(n)}"]')
            arrow = "-.->" if n["op"] == "Errors" else "-->"
            edges += [f"  {prefix}{i} {arrow} {prefix}{n['id']}" for i in n["inputs"]]
        lines.append("  end")
    return "\n".join(lines + edges + _mermaid_comments(report)) + "\n"


def _mermaid_comments(report: dict[str, Any]) -> list[str]:
    """The rewrites and each stage's Polars plan as Mermaid comments (`%%`): a flowchart has no place
    to draw them, and a diagram is still the whole plan a reader of the file sees."""
    rewrites = report["rewrites"]
    lines = [f"%% rewrites ({len(rewrites)}):" if rewrites else "%% rewrites: none"]
    lines += [f"%%   {r['rule']} at {r['step']}: {r['detail']}" for r in rewrites]
    for stage in report["stages"]:
        lines.append(f"%% stage {stage['source']}: {' -> '.join(stage['nodes'])}; per batch: "
                     f"{', '.join(stage['per_batch']) or 'none'}")
        lines += [f"%%   {line}".rstrip() for line in stage["polars_plan"].splitlines()]
    return lines


def _mermaid_label(n: dict[str, Any]) -> str:
    label = f"{n['op']} {n['step']}"
    detail = n["text"].partition("] ")[2].removeprefix(f"{n['step']} ") if n["op"] not in ("Scan", "Errors") \
        else ""
    if n["op"] == "Scan" and n["columns"] is not None:
        detail = "columns: " + ", ".join(n["columns"])
    return label + (f"<br/>{_escape(detail)}" if detail else "")


def _escape(label: str) -> str:
    """Mermaid label text: quotes and angle brackets as entity codes (they would end or open markup)."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        label = label.replace(char, code)
    return label
