"""`flowc plan`: golden outputs for the examples, pushdown visible in the Polars plans, exit codes.

Goldens live in tests/golden/plan/<example>.{txt,json,mmd}. Refresh them with
`FLOWC_UPDATE_GOLDEN=1 pytest tests/cli/test_plan_command.py`. Polars plans are pinned by their scan
lines only (the reader, `PROJECT k/n COLUMNS`, `SELECTION:`: what the optimizer changes); the full
plan is in the command's output but its expression text belongs to the lowering, not to this command.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from flowc.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.flow.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "plan"
SCAN_LINE = re.compile(r"SCAN|PROJECT|SELECTION|^stage ")
UPDATE = os.environ.get("FLOWC_UPDATE_GOLDEN") == "1"


def flowc(*args: str):
    return CliRunner().invoke(cli, ["plan", *args])


def pinned_text(output: str) -> str:
    """The text output with each stage's Polars plan cut down to its scan lines."""
    out, in_stage = [], False
    for line in output.splitlines():
        in_stage = in_stage or line.startswith("stage ")
        if not in_stage or line.startswith("stage "):
            out.append(line.rstrip())
        elif SCAN_LINE.search(line):
            out.append("  " + line.strip())  # its depth in the Polars plan belongs to the reader
    return "\n".join(out) + "\n"


def pinned_json(output: str) -> str:
    report = json.loads(output)
    for stage in report["stages"]:
        stage["polars_plan"] = [x.strip() for x in stage["polars_plan"].splitlines() if SCAN_LINE.search(x)]
    return json.dumps(report, indent=2) + "\n"


def pinned_mermaid(output: str) -> str:
    """The Mermaid output with each stage's Polars plan (its `%%   ` comment lines after a `%% stage`
    line) cut down to its scan lines, as in `pinned_text`."""
    out, in_stage = [], False
    for line in output.splitlines():
        in_stage = in_stage or line.startswith("%% stage ")
        if not in_stage or line.startswith("%% stage "):
            out.append(line)
        elif SCAN_LINE.search(line):
            out.append("%%   " + line.removeprefix("%%").strip())
    return "\n".join(out) + "\n"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"no golden {name}; FLOWC_UPDATE_GOLDEN=1 writes it"
    assert actual == path.read_text(), f"{name} changed; FLOWC_UPDATE_GOLDEN=1 refreshes it"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_their_goldens(example):
    name = example.name.removesuffix(".flow.yaml")
    outputs = {fmt: flowc(str(example), "--format", fmt) for fmt in ("text", "json", "mermaid")}
    for fmt, result in outputs.items():
        assert result.exit_code == 0, (fmt, result.output)
    check_golden(f"{name}.txt", pinned_text(outputs["text"].output))
    check_golden(f"{name}.json", pinned_json(outputs["json"].output))
    check_golden(f"{name}.mmd", pinned_mermaid(outputs["mermaid"].output))


def write_spec(folder: Path, body: str) -> Path:
    path = folder / "p.flow.yaml"
    path.write_text("version: 1\npipeline: p\n" + textwrap.dedent(body))
    return path


def test_a_filter_written_after_a_map_is_pushed_into_the_parquet_scan(tmp_path):
    pl.DataFrame({"id": [1, 2, 3], "amount": [5.0, 20.0, 30.0], "note": ["a", "b", "c"]}).write_parquet(
        tmp_path / "t.parquet")
    path = write_spec(tmp_path, """
        sources:
          t: {type: file, path: t.parquet}
        steps:
          - map: {double: amount * 2.0}
          - filter: amount > 10
          - select: [id, double]
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    result = flowc(str(path))
    assert result.exit_code == 0, result.output
    assert "push_filters at filter_2: filter_2 moved below map_1" in result.output
    assert "prune_columns at t: reads 2 of 3 fields: id, amount" in result.output
    stage = result.output[result.output.index("stage t:"):]
    assert "Parquet SCAN [t.parquet]" in stage
    assert "PROJECT 2/3 COLUMNS" in stage
    assert re.search(r"SELECTION: .*amount.* > 10", stage), stage


def test_csv_projection_shows_in_the_stage(tmp_path):
    (tmp_path / "w.csv").write_text("a,b,c\n1,x,y\n")
    path = write_spec(tmp_path, """
        sources:
          w: {type: file, path: w.csv, schema: {a: int, b: string, c: string}}
        steps:
          - drop: [b]
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    report = json.loads(flowc(str(path), "--format", "json").output)
    assert report["after"]["nodes"][0]["columns"] == ["a", "c"]
    assert report["before"]["nodes"][0]["columns"] is None
    assert "PROJECT 2/3 COLUMNS" in report["stages"][0]["polars_plan"]
    assert {"rule": "prune_columns", "step": "w", "detail": "reads 2 of 3 fields: a, c"} in report["rewrites"]


def test_json_keys_are_the_documented_ones(tmp_path):
    report = json.loads(flowc(str(EXAMPLES[0]), "--format", "json").output)
    assert list(report) == ["format", "pipeline", "spec", "before", "after", "rewrites", "stages"]
    assert report["format"] == "flowc-plan/1"
    node_keys = ["id", "op", "step", "inputs", "on_error", "columns", "schema", "text"]
    assert all(list(n) == node_keys for part in ("before", "after") for n in report[part]["nodes"])
    assert all(list(s) == ["source", "nodes", "polars_plan", "per_batch"] for s in report["stages"])
    assert all(list(r) == ["rule", "step", "detail"] for r in report["rewrites"])


def test_spec_errors_print_diagnostics_and_exit_1(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: inline, records: [{amount: 1}], schema: {amount: int}}
        steps:
          - filter: amout > 1
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    result = CliRunner().invoke(cli, ["plan", str(path)])
    assert result.exit_code == 1
    assert "error[E104]" in result.output and "amout" in result.output


def test_a_source_that_cannot_be_read_exits_1(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: file, path: missing/*.csv, format: csv}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    result = flowc(str(path))
    assert result.exit_code == 1
    assert "no file matches 'missing/*.csv'" in result.output


def test_a_declared_schema_plans_without_the_files(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: file, path: missing/*.csv, format: csv, schema: {a: int}}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    result = flowc(str(path))
    assert result.exit_code == 0, result.output
    assert "(no Polars plan: source 's': no file matches 'missing/*.csv')" in result.output


def test_usage_errors_exit_2(tmp_path):
    assert flowc(str(EXAMPLES[0]), "--format", "yaml").exit_code == 2
    assert flowc(str(tmp_path / "nope.flow.yaml")).exit_code == 2
    assert flowc().exit_code == 2


def test_mermaid_escapes_quotes_and_marks_error_edges(tmp_path):
    path = write_spec(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: inline, records: [{a: "1"}], schema: {a: string}}
        steps:
          - filter: to_int(a) > 0 and a != "x"
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    out = flowc(str(path), "--format", "mermaid").output
    assert out.startswith("flowchart TD\n")
    assert '#quot;x#quot;' in out and "#gt; 0" in out
    assert "n1 -.-> n3" in out  # the filter's errors


def test_run_optimizes_unless_told_not_to_and_writes_the_same_either_way(tmp_path):
    (tmp_path / "o.csv").write_text("id,status,amount\n1,paid,20.5\n2,open,3.0\n3,paid,x\n4,paid,11.0\n")
    body = """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          o: {type: file, path: o.csv, schema: {id: int, status: string, amount: float}}
        steps:
          - map: {label: upper(status)}
          - filter: status == "paid"
        sinks:
          out: {type: file, path: out.jsonl}
        """
    path = write_spec(tmp_path, body)
    runner = CliRunner()
    optimized = runner.invoke(cli, ["run", str(path), "--dry-run"]).output
    written = runner.invoke(cli, ["run", str(path), "--dry-run", "--no-optimize"]).output
    assert "n1 := Filter[n0] filter_2" in optimized and "n1 := Map[n0] map_1" in written
    outputs = []
    for flags in ((), ("--no-optimize",)):
        result = runner.invoke(cli, ["run", str(path), "--reset", "--quiet", *flags])
        assert result.exit_code == 0, result.output
        outputs.append(((tmp_path / "out.jsonl").read_text(), (tmp_path / "dead.jsonl").read_text()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0].count("\n") == 2 and '"amount":null' not in outputs[0][0]
    assert '"step":"o"' in outputs[0][1].replace(" ", "")


def test_plan_and_dry_run_show_the_schema_a_run_froze_not_a_new_inference(tmp_path):
    """SPEC §3: an inferred schema is inferred once, recorded in the event log and then frozen."""
    (tmp_path / "in.csv").write_text("x,y\n1,a\n2,b\n")
    path = tmp_path / "f.flow.yaml"
    path.write_text("version: 1\npipeline: f\nsettings: {state_dir: state}\n"
                    "sources:\n  s: {type: file, path: in.csv}\nsinks:\n  out: {type: file, path: out.jsonl}\n")
    runner = CliRunner()
    assert runner.invoke(cli, ["run", str(path), "--quiet"]).exit_code == 0
    (tmp_path / "in.csv").write_text("x,y\nabc,a\n2,b\n")  # would now infer x as a string
    log = (tmp_path / "state" / "events.log").read_bytes()
    shown = runner.invoke(cli, ["plan", str(path), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert "Scan[s] {x: int, y: string}" in runner.invoke(cli, ["plan", str(path)]).output
    assert "Scan[s] {x: int, y: string}" in runner.invoke(cli, ["run", str(path), "--dry-run"]).output
    assert "Scan[s] {x: string, y: string}" in runner.invoke(cli, ["run", str(path), "--dry-run", "--reset"]).output
    assert (tmp_path / "state" / "events.log").read_bytes() == log  # neither wrote to the log
