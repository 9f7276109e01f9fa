"""Black-box acceptance tests of `flowc plan` and `flowc schema` (SPEC §10), written from SPEC.md
alone: the graph before and after optimisation, the rewrites that fired, a Polars plan per stage, the
three formats; the JSON Schema of the language accepts SPEC's own examples and rejects what SPEC
calls an error."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

# SPEC §1's example, with §8's test, verbatim but for the source (an inline one, so it runs anywhere)
EXAMPLE = """\
# orders.flow.yaml
version: 1
pipeline: order-analytics            # [a-z][a-z0-9_-]*
description: Paid orders per country, per minute.

settings:
  batch_size: 100000                 # records per micro-batch (default 100000)
  batch_timeout: 1s                  # unbounded sources: flush a partial batch after this (default 1s)
  state_dir: .flow/order-analytics   # event log + checkpoints (default .flow/<pipeline>, relative to this file)
  on_error: dead_letter              # fail | skip | dead_letter   (default fail)
  dead_letter: {type: file, path: out/dead.jsonl}

sources:
  orders:
    type: inline
    records: []
    schema: {order_id: int, ts: datetime, status: string, amount: float, qty: int, country: string}
    event_time: {field: ts, max_out_of_orderness: 30s}

steps:
  - filter: status in ("paid", "shipped") and amount > 10
  - map:
      total: amount * qty
      country: upper(coalesce(country, "zz"))
  - name: per_minute
    aggregate:
      by: [country]
      window: {type: tumbling, size: 1m}
      compute:
        orders: count()
        revenue: sum(total)
        avg_basket: avg(total)

sinks:
  report:
    type: file
    path: out/revenue.jsonl
    format: jsonl

tests:
  - name: drops cancelled orders
    inputs:
      orders: [{order_id: 1, status: paid, amount: 20, qty: 2, country: de, ts: "2026-01-01T00:00:05Z"}]
    expect:
      report: [{country: DE, orders: 1, revenue: 40.0}]   # subset of fields; order-insensitive unless ordered: true
"""

# a map then filters on input fields: a careful optimiser moves/fuses the filters
REWRITABLE = """\
version: 1
pipeline: rw
sources:
  orders:
    type: inline
    schema: {id: int, status: string, amount: float, qty: int, junk: string}
    records: []
steps:
  - map: {total: amount * qty}
  - filter: status == "paid"
  - filter: amount > 1
  - select: [id, total]
sinks:
  out: {type: file, path: out.jsonl}
"""


def flowc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plan")
    (path / "orders.flow.yaml").write_text(EXAMPLE, encoding="utf-8")
    (path / "rw.flow.yaml").write_text(REWRITABLE, encoding="utf-8")
    return path


def test_spec_example_validates_and_its_test_passes(folder):
    assert flowc("validate", "orders.flow.yaml", cwd=folder).returncode == 0
    done = flowc("test", "orders.flow.yaml", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr


def test_spec_example_verbatim_plans_without_its_data_files(tmp_path):
    """SPEC §1's example as printed (a csv glob that matches nothing yet, a declared schema): its
    graph, rewrites and stages can be planned, in every format (flowc used to exit 1)."""
    example = EXAMPLE.replace("    type: inline\n    records: []\n",
                              "    type: file\n    path: data/orders/*.csv\n    format: csv\n")
    assert "data/orders/*.csv" in example
    (tmp_path / "orders.flow.yaml").write_text(example, encoding="utf-8")
    assert flowc("validate", "orders.flow.yaml", cwd=tmp_path).returncode == 0
    for fmt in ["text", "json", "mermaid"]:
        done = flowc("plan", "--format", fmt, "orders.flow.yaml", cwd=tmp_path)
        assert done.returncode == 0, (fmt, done.stdout + done.stderr)
        assert "per_minute" in done.stdout
    stages = json.loads(flowc("plan", "--format", "json", "orders.flow.yaml", cwd=tmp_path).stdout)["stages"]
    assert [s["source"] for s in stages] == ["orders"] and "data/orders/*.csv" in stages[0]["polars_plan"]


def test_plan_text_shows_before_after_rewrites_and_polars_plans(folder):
    done = flowc("plan", "rw.flow.yaml", cwd=folder)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    lowered = out.lower()
    before, after = lowered.find("before"), lowered.find("after")
    assert 0 <= before < after, out
    for step in ["map_1", "filter_2", "filter_3", "select_4"]:
        assert step in out[:after], out  # every step, by its default name, in the graph before
    assert "rewrite" in lowered
    assert "col(" in out or "FILTER" in out  # a Polars plan


def test_plan_text_without_rewrites_still_has_both_graphs(folder):
    done = flowc("plan", "orders.flow.yaml", cwd=folder)
    assert done.returncode == 0, done.stderr
    lowered = done.stdout.lower()
    assert "before" in lowered and "after" in lowered and "per_minute" in lowered


def test_plan_json(folder):
    done = flowc("plan", "--format", "json", "rw.flow.yaml", cwd=folder)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert {"before", "after", "rewrites"} <= set(plan)
    assert plan["rewrites"], plan["rewrites"]
    text = json.dumps(plan)
    assert "filter_2" in text and "map_1" in text


def test_plan_mermaid(folder):
    done = flowc("plan", "--format", "mermaid", "rw.flow.yaml", cwd=folder)
    assert done.returncode == 0, done.stderr
    first = done.stdout.lstrip().splitlines()[0]
    assert re.match(r"^(flowchart|graph) (TD|TB|LR|BT|RL)\b", first), done.stdout
    assert "-->" in done.stdout and "select_4" in done.stdout
    lowered = done.stdout.lower()
    # SPEC §10: the plan is the graph before and after optimisation, in every format
    assert "before" in lowered and "after" in lowered, done.stdout
    assert "filter_3" in done.stdout  # fused away after optimisation, still drawn before it


def test_plan_of_invalid_spec_exits_1_with_diagnostic(tmp_path):
    (tmp_path / "bad.flow.yaml").write_text(REWRITABLE.replace("amount > 1", "amout > 1"))
    done = flowc("plan", "bad.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert re.search(r"bad\.flow\.yaml:11:13: error\[E\d+\]: .*amout", done.stdout + done.stderr), done.stderr


@pytest.mark.parametrize("args", [["--format", "dot", "rw.flow.yaml"], ["--nope", "rw.flow.yaml"], []])
def test_plan_usage_errors_exit_2(folder, args):
    assert flowc("plan", *args, cwd=folder).returncode == 2


@pytest.fixture(scope="module")
def schema(folder) -> dict:
    done = flowc("schema", cwd=folder)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    jsonschema.validators.validator_for(document).check_schema(document)
    return document


def validator(schema: dict):
    return jsonschema.validators.validator_for(schema)(schema)


def test_schema_accepts_the_spec_example(schema):
    errors = list(validator(schema).iter_errors(yaml.safe_load(EXAMPLE)))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d.update(colour="red"), "unknown top-level key"),
    (lambda d: d.pop("sources"), "sources is required"),
    (lambda d: d.pop("sinks"), "sinks is required"),
    (lambda d: d.pop("pipeline"), "pipeline is required"),
    (lambda d: d.update(version=2), "version must be 1"),
    (lambda d: d.update(pipeline="Order Analytics"), "pipeline name pattern"),
    (lambda d: d.update(sources={}), "at least one source"),
    (lambda d: d["settings"].update(on_error="ignore"), "on_error values"),
    (lambda d: d["steps"].append({"filter": "true", "map": {"a": 1}}), "exactly one operator"),
])
def test_schema_rejects_spec_errors(schema, change, why):
    document = yaml.safe_load(EXAMPLE)
    change(document)
    assert list(validator(schema).iter_errors(document)), why


def test_schema_has_no_options_but_help(folder):
    assert flowc("schema", "--bogus", cwd=folder).returncode == 2
