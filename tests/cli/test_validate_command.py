"""`flowc validate` end to end: files and folders in, diagnostics and exit codes out (SPEC §10)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli

CLEAN = """\
version: 1
pipeline: orders
sources:
  orders:
    type: file
    path: data/orders.csv
    schema: {order_id: int, status: string, amount: float, country: string}
steps:
  - filter: status == "paid" and amount > 10
  - map:
      country: upper(country)
sinks:
  out:
    type: file
    path: out/orders.jsonl
"""

UNKNOWN_FIELD = CLEAN.replace("amount > 10", "amout > 10")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(*args: str, cwd: Path | None = None):
    return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)


def test_clean_spec_exits_0_and_says_so(tmp_path: Path) -> None:
    spec = write(tmp_path, "orders.flow.yaml", CLEAN)
    result = run(str(spec))
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 file checked: no problems\n"


def test_unknown_field_points_inside_the_expression_with_a_caret(tmp_path: Path) -> None:
    spec = write(tmp_path, "orders.flow.yaml", UNKNOWN_FIELD)
    result = run(str(spec))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{spec}:9:34: error[E104]: unknown field 'amout' in filter; did you mean 'amount'?")
    assert lines[1:4] == [
        "  |",
        '9 |   - filter: status == "paid" and amout > 10',
        "  |                                  ^^^^^",
    ]
    assert lines[-1] == "1 file checked: 1 error"


def test_json_format_is_an_array_with_positions(tmp_path: Path) -> None:
    spec = write(tmp_path, "orders.flow.yaml", UNKNOWN_FIELD)
    result = run("--format", "json", str(spec))
    assert result.exit_code == 1
    [item] = json.loads(result.stdout)
    assert list(item) == ["file", "line", "col", "end_line", "end_col", "severity", "code", "message", "help",
                          "notes"]
    assert (item["file"], item["line"], item["col"], item["end_line"], item["end_col"]) == (str(spec), 9, 34, 9, 39)
    assert (item["severity"], item["code"]) == ("error", "E104")


def test_github_format_annotates_the_span(tmp_path: Path) -> None:
    spec = write(tmp_path, "orders.flow.yaml", UNKNOWN_FIELD)
    result = run("--format", "github", str(spec))
    assert result.exit_code == 1
    file_prop = str(spec).replace(":", "%3A").replace(",", "%2C")
    assert result.stdout == (
        f"::error file={file_prop},line=9,col=34,endLine=9,endColumn=39,title=E104::"
        "unknown field 'amout' in filter; did you mean 'amount'? "
        "(help: fields available here: order_id, status, amount, country)\n"
    )


DANGLING = CLEAN.replace("  - map:\n", "  - name: unused\n    from: orders\n    filter: amount > 1\n  - from: filter_1\n    map:\n")


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    spec = write(tmp_path, "orders.flow.yaml", DANGLING)
    relaxed = run(str(spec))
    assert relaxed.exit_code == 0, relaxed.stdout
    assert "warning[W301]: 'unused' is not read by any sink" in relaxed.stdout
    strict = run("--strict", str(spec))
    assert strict.exit_code == 1
    assert "error[W301]: 'unused' is not read by any sink" in strict.stdout


UNREAD_SOURCE = CLEAN.replace("steps:\n", """\
  returns:
    type: file
    path: data/returns.csv
    schema: {order_id: int}
  refunds:
    type: file
    path: data/refunds.csv
    schema: {order_id: int}
steps:
  - from: orders
""", 1).replace("  - filter: status", "    filter: status") + "  bad_refunds: {type: console, from: refunds.errors}\n"


def test_a_source_nothing_reads_warns_as_a_dangling_step_does(tmp_path: Path) -> None:
    """SPEC §2: a source no step or sink reads is W301, as a step no sink reads (an error with
    --strict); one whose `.errors` a sink reads is read."""
    spec = write(tmp_path, "orders.flow.yaml", UNREAD_SOURCE)
    relaxed = run(str(spec))
    assert relaxed.exit_code == 0, relaxed.stdout
    assert relaxed.stdout.splitlines()[0] == f"{spec}:8:3: warning[W301]: 'returns' is not read by any sink"
    assert relaxed.stdout.splitlines()[-1] == "1 file checked: 1 warning"
    strict = run("--strict", str(spec))
    assert strict.exit_code == 1
    assert f"{spec}:8:3: error[W301]: 'returns' is not read by any sink" in strict.stdout


def test_sql_not_equal_is_pointed_at_from_its_first_character(tmp_path: Path) -> None:
    """`<>` lexes as `<` then `>`: the caret was under the `>` alone; it spans `<>` from the `<`."""
    spec = write(tmp_path, "orders.flow.yaml", CLEAN.replace('status == "paid"', 'status <> "paid"'))
    result = run(str(spec))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:4] == [
        f"{spec}:9:20: error[E202]: unexpected '<>' in expression; expected an operator; use '!=' for not equal",
        "  |",
        '9 |   - filter: status <> "paid" and amount > 10',
        "  |                    ^^",
    ]


def test_folder_is_searched_for_flow_yaml_files_and_every_file_reported(tmp_path: Path) -> None:
    write(tmp_path, "a/good.flow.yaml", CLEAN)
    bad = write(tmp_path, "a/b/bad.flow.yaml", UNKNOWN_FIELD)
    also_bad = write(tmp_path, "c.flow.yaml", CLEAN.replace("version: 1", "version: 2"))
    write(tmp_path, "a/ignored.yaml", "not: [a spec")
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert f"{bad}:9:34: error[E104]" in result.stdout
    assert f"{also_bad}:1:10: error[E408]" in result.stdout
    assert result.stdout.splitlines()[-1] == "3 files checked: 2 errors"


@pytest.mark.parametrize(
    "args",
    [[], ["--format", "xml", "x.flow.yaml"], ["--no-such-flag", "x.flow.yaml"], ["does/not/exist.flow.yaml"]],
    ids=["no-path", "bad-format", "bad-flag", "missing-path"],
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    write(tmp_path, "x.flow.yaml", CLEAN)
    result = CliRunner().invoke(cli, ["validate", *args])
    assert result.exit_code == 2


def test_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert "no *.flow.yaml files" in result.output


def test_installed_command_runs_end_to_end(tmp_path: Path) -> None:
    write(tmp_path, "orders.flow.yaml", UNKNOWN_FIELD)
    flowc = shutil.which("flowc")
    assert flowc, "the flowc console script is installed"
    result = subprocess.run([flowc, "validate", "orders.flow.yaml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert result.stdout.startswith("orders.flow.yaml:9:34: error[E104]: unknown field 'amout'")


@pytest.mark.parametrize("command", [["validate"], ["run"], ["plan"], ["test"]])
def test_a_file_that_is_not_yaml_shows_its_line_and_a_caret(tmp_path, command):
    """SPEC §10: `file:line:col`, the source line, a caret — also for E002, where no document loaded;
    an unterminated quote is found one past the last line (the end of the file)."""
    broken = tmp_path / "y.flow.yaml"
    broken.write_text("version: 1\npipeline: x\nsources:\n  s: {type: inline, records: [{a: 1}]\nsinks: {}\n")
    unended = tmp_path / "z.flow.yaml"
    unended.write_text('version: 1\npipeline: x\nsinks:\n  o: {type: file, path: "open}\n')
    for path, shown in ((broken, ["5 | sinks: {}", "  | ^"]), (unended, ["5 | ", "  | ^"])):
        result = CliRunner().invoke(cli, [*command, str(path)])
        assert result.exit_code == 1
        lines = result.output.splitlines()
        at = next(i for i, line in enumerate(lines) if "error[E002]" in line)
        assert lines[at].startswith(f"{path}:5:1: error[E002]: invalid YAML: ") and lines[at + 1:at + 4] == ["  |", *shown]


def test_an_expression_ending_in_an_escape_is_spanned_to_its_last_written_character(tmp_path):
    """The span of `a + \\"x\\"` in a double-quoted scalar ends after the escape `\\"`, not inside it
    (and `''y''` in a single-quoted one): its end was one column short (second acceptance audit)."""
    path = tmp_path / "q.flow.yaml"
    line = """  - map: {r: "a + \\"x\\"", t: 'a + ''y'''}"""
    path.write_text("version: 1\npipeline: q\nsources:\n  s: {type: inline, records: [{a: 1}]}\nsteps:\n"
                    f"{line}\nsinks:\n  o: {{type: file, path: o.jsonl}}\n")
    found = json.loads(CliRunner().invoke(cli, ["validate", "--format", "json", str(path)]).output)
    first, second = line.index("a + "), line.index("a + ", line.index("t:"))
    assert [(d["line"], d["col"], d["end_col"]) for d in found] == [
        (6, first + 1, line.index('", t:') + 1), (6, second + 1, len(line) - 1)]


@pytest.mark.parametrize(("path", "fmt"), [("in/*.json", ""), ("in/*.jsonl.gz", ""), ("in/x", ", format: parquet")])
def test_a_watched_source_of_files_that_are_not_lines_is_refused_before_the_run(tmp_path, path, fmt):
    """E318: the run ended in a ValueError traceback (third acceptance audit)."""
    spec = tmp_path / "w.flow.yaml"
    spec.write_text("version: 1\npipeline: w\nsources:\n"
                    f"  s: {{type: file, path: '{path}', watch: true, schema: {{id: int}}{fmt}}}\n"
                    "sinks:\n  o: {type: file, path: o.jsonl}\n")
    for command in ("validate", "run"):
        result = CliRunner().invoke(cli, [command, str(spec)])
        assert result.exit_code == 1 and "error[E318]: watched source 's'" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_an_unset_variable_does_not_hide_the_other_problems(tmp_path):
    """SPEC §10: every problem, not the first. An audit found E010 alone reported, the unknown key and
    the unknown field after it not; what is on the reference's own line is its echo and is left out."""
    spec = tmp_path / "vq.flow.yaml"
    spec.write_text("version: 1\npipeline: vq\nbogus: 1\nsettings:\n  batch_size: ${FLOWC_TEST_UNSET_BS}\n"
                    "sources:\n  s: {type: inline, schema: {a: int}, records: [{a: 1}]}\nsteps:\n"
                    "  - filter: zz > 1\nsinks:\n  o:\n    type: file\n    path: out/${FLOWC_TEST_UNSET_X}.jsonl\n")
    result = CliRunner().invoke(cli, ["validate", str(spec), "--format", "json"], catch_exceptions=False,
                                env={"FLOWC_TEST_UNSET_BS": None, "FLOWC_TEST_UNSET_X": None})
    assert result.exit_code == 1, result.output
    found = [(d["code"], d["line"], d["col"]) for d in json.loads(result.output)]
    assert found == [("E401", 3, 1), ("E010", 5, 15), ("E104", 9, 13), ("E010", 13, 15)], result.output
