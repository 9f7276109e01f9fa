"""Black-box acceptance tests of `flowc validate` (SPEC §10, §5 compile errors), written from SPEC.md
alone: the `file:line:col: error[E123]: message` line, the source line and caret, exact positions of
errors inside expressions in plain, quoted and block YAML scalars, every problem reported, formats,
`--strict`, folders and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

HEADER = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning)\[(?P<code>[A-Z]+\d+)\]: "
                    r"(?P<message>.+)$")


def flowc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowc", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


HEAD = [
    "version: 1",
    "pipeline: p",
    "sources:",
    "  orders:",
    "    type: inline",
    "    schema: {status: string, amount: float, qty: int, name: string}",
    "    records: []",
    "steps:",
]
TAIL = [
    "sinks:",
    "  out: {type: file, path: out.jsonl}",
]


def spec_lines(steps: list[str]) -> list[str]:
    return HEAD + steps + TAIL


def write(folder: Path, lines: list[str], name: str = "p.flow.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def diagnostics(text: str) -> list[dict]:
    """Each header line of text output, with the lines after it (gutter, source line, caret, help)."""
    lines = text.splitlines()
    found = []
    for k, line in enumerate(lines):
        match = HEADER.match(line)
        if match:
            found.append({**match.groupdict(), "after": lines[k + 1:k + 5]})
    return found


def position(lines: list[str], token: str, nth: int = 1) -> tuple[int, int]:
    """1-based line and column of the nth occurrence of token in the file."""
    seen = 0
    for number, line in enumerate(lines, start=1):
        start = 0
        while (col := line.find(token, start)) >= 0:
            seen += 1
            if seen == nth:
                return number, col + 1
            start = col + 1
    raise AssertionError(f"{token!r} not in spec")


def width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def caret_column(source_text: str, after: list[str]) -> int:
    """The 1-based column (in characters) the caret points at, measured against the echoed source
    line in terminal columns (a caret under wide characters is shifted by their width)."""
    for k, line in enumerate(after):
        offset = line.find(source_text)
        if offset >= 0 and k + 1 < len(after) and "^" in after[k + 1]:
            target = after[k + 1].index("^")
            for chars in range(len(source_text) + 1):
                if width(line[:offset]) + width(source_text[:chars]) == target:
                    return chars + 1
            raise AssertionError(f"caret falls inside a wide character: {after!r}")
    raise AssertionError(f"source line {source_text!r} and a caret under it not in {after!r}")


# (name, step lines, token the error must point at, code prefix or None, words the message must contain)
POSITION_CASES = [
    ("plain", ['  - filter: amount > 10 and stauts == "paid"'], "stauts", ["stauts", "status"]),
    ("single_quoted", ["  - filter: 'name == ''x'' or stauts == ''y'''"], "stauts", ["stauts"]),
    ("double_quoted", ['  - filter: "name == \\"x\\" or stauts == \\"y\\""'], "stauts", ["stauts"]),
    ("double_quoted_unicode", ['  - filter: "name == \\"é日\\" or stauts == \\"y\\""'], "stauts", ["stauts"]),
    ("block_literal", ["  - map:", "      total: |", "        amount *", "          qtyy"], "qtyy", ["qtyy"]),
    ("block_folded", ["  - map:", "      total: >-", "        amount +", "        amont"], "amont", ["amont"]),
    ("block_keep_indent", ["  - filter: |-", "      amount > 1", "        and nmae == \"x\""], "nmae", ["nmae"]),
    ("flow_mapping", ["  - map: {total: amount * qyt}"], "qyt", ["qyt"]),
    ("unknown_function", ['  - map: {u: "lowr(name)"}'], "lowr", ["lowr"]),
    ("syntax_error", ["  - filter: amount > > 3"], "> 3", []),
    ("invalid_regex", ['  - filter: matches(name, "a(b")'], '"a(b"', []),
    ("type_error", ["  - filter: amount > 1 and status > 3"], "status > 3", []),
    ("nested_in_call", ['  - map: {u: "upper(coalesce(name, nmae))"}'], "nmae", ["nmae"]),
    ("second_line_of_list", ["  - filter: amount > 1", "  - filter: qty > 1 and nmae == 1"], "nmae", ["nmae"]),
]


@pytest.fixture(scope="module")
def position_results(tmp_path_factory) -> dict:
    """One `flowc validate` over a folder holding one spec per case (also checks folders and
    that every file's problem is reported)."""
    folder = tmp_path_factory.mktemp("positions")
    for name, steps, *_ in POSITION_CASES:
        write(folder / "specs", spec_lines(steps), name=f"{name}.flow.yaml")
    done = flowc("validate", "specs", cwd=folder)
    return {"done": done, "found": diagnostics(done.stdout + done.stderr)}


def test_folder_with_problems_exits_1(position_results):
    assert position_results["done"].returncode == 1


@pytest.mark.parametrize(("name", "steps", "token", "words"), POSITION_CASES, ids=[c[0] for c in POSITION_CASES])
def test_error_position_inside_expression(position_results, name, steps, token, words):
    lines = spec_lines(steps)
    expected_line, expected_col = position(lines, token)
    mine = [d for d in position_results["found"] if Path(d["file"]).name == f"{name}.flow.yaml"]
    output = position_results["done"].stdout + position_results["done"].stderr
    assert mine, output
    errors = [d for d in mine if d["sev"] == "error"]
    assert errors, output
    first = errors[0]
    assert (int(first["line"]), int(first["col"])) == (expected_line, expected_col), first
    for word in words:
        assert word in first["message"], first
    assert caret_column(lines[expected_line - 1], first["after"]) == expected_col, first


def test_every_problem_is_reported(tmp_path):
    lines = spec_lines([
        "  - filter: amout > 1",
        "  - map: {x: qtty * 2, y: nmae}",
        "  - filter: status > 3",
    ])
    write(tmp_path, lines)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    found = {(int(d["line"]), int(d["col"])) for d in diagnostics(done.stdout + done.stderr)}
    for token in ["amout", "qtty", "nmae"]:
        assert position(lines, token) in found, done.stdout + done.stderr
    assert any(line == position(lines, "status > 3")[0] for line, _ in found)


def test_header_names_the_file_as_given(tmp_path):
    lines = spec_lines(["  - filter: amout > 1"])
    write(tmp_path / "sub", lines)
    done = flowc("validate", "sub/p.flow.yaml", cwd=tmp_path)
    first = (done.stdout + done.stderr).splitlines()[0]
    line, col = position(lines, "amout")
    assert re.match(rf"^sub/p\.flow\.yaml:{line}:{col}: error\[E\d+\]: ", first), first


def test_clean_file_exits_0(tmp_path):
    write(tmp_path, spec_lines(["  - filter: amount > 1"]))
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in (done.stdout + done.stderr).lower()


@pytest.mark.parametrize("args", [["--format", "xml", "p.flow.yaml"], ["--bogus", "p.flow.yaml"], []])
def test_usage_errors_exit_2(tmp_path, args):
    write(tmp_path, spec_lines(["  - filter: amount > 1"]))
    assert flowc("validate", *args, cwd=tmp_path).returncode == 2


def test_folder_reads_flow_yaml_files_recursively_only(tmp_path):
    bad = spec_lines(["  - filter: amout > 1"])
    write(tmp_path / "specs", bad, name="a.flow.yaml")
    write(tmp_path / "specs" / "deep" / "er", bad, name="b.flow.yaml")
    (tmp_path / "specs" / "notes.yaml").write_text("not: [a, spec\n")
    (tmp_path / "specs" / "c.yaml").write_text("version: 2\n")
    done = flowc("validate", "specs", cwd=tmp_path)
    assert done.returncode == 1
    files = {Path(d["file"]).as_posix() for d in diagnostics(done.stdout + done.stderr)}
    assert {Path(f).name for f in files} == {"a.flow.yaml", "b.flow.yaml"}, done.stdout + done.stderr
    assert any(f.endswith("deep/er/b.flow.yaml") for f in files)


def test_folder_of_clean_specs_exits_0(tmp_path):
    write(tmp_path / "specs" / "x", spec_lines(["  - filter: amount > 1"]), name="a.flow.yaml")
    done = flowc("validate", "specs", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_several_paths_are_all_checked(tmp_path):
    write(tmp_path, spec_lines(["  - filter: amout > 1"]), name="a.flow.yaml")
    write(tmp_path, spec_lines(["  - filter: amount > 1"]), name="b.flow.yaml")
    write(tmp_path, spec_lines(["  - filter: qtty > 1"]), name="c.flow.yaml")
    done = flowc("validate", "a.flow.yaml", "b.flow.yaml", "c.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert {Path(d["file"]).name for d in diagnostics(done.stdout + done.stderr)} == {"a.flow.yaml", "c.flow.yaml"}


def test_json_format(tmp_path):
    lines = spec_lines(["  - filter: amout > 1 and nmae == 1"])
    write(tmp_path, lines)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    text = json.dumps(data)
    assert "amout" in text and "nmae" in text
    items = data if isinstance(data, list) else next(v for v in data.values() if isinstance(v, list))
    items = [i for i in items if isinstance(i, dict)]
    flat = []
    for item in items:  # either a flat list of diagnostics or a list of files with diagnostics
        flat.extend(item.get("diagnostics", [item]))
    positions = {(d.get("line"), d.get("col", d.get("column"))) for d in flat}
    assert position(lines, "amout") in positions and position(lines, "nmae") in positions, data
    assert all(re.fullmatch(r"E\d+", d["code"]) for d in flat), data


def test_json_format_clean_is_json_and_exits_0(tmp_path):
    write(tmp_path, spec_lines(["  - filter: amount > 1"]))
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0
    json.loads(done.stdout)


def test_github_format(tmp_path):
    lines = spec_lines(["  - filter: amout > 1"])
    write(tmp_path, lines)
    done = flowc("validate", "--format", "github", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    line, col = position(lines, "amout")
    annotations = [x for x in done.stdout.splitlines() if x.startswith("::error ")]
    assert len(annotations) == 1, done.stdout
    assert re.match(rf"^::error file=p\.flow\.yaml,line={line},col={col}(,[^:]*)?::.*amout", annotations[0]), \
        annotations[0]


# the sink reads the last step, so nothing reads `unused` (SPEC §2: a warning unless --strict)
DANGLING = ["  - name: unused", "    filter: qty > 1", "  - name: used", "    from: orders", "    filter: amount > 1"]


def test_warning_exits_0_without_strict(tmp_path):
    lines = spec_lines(DANGLING)
    write(tmp_path, lines)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    found = diagnostics(done.stdout + done.stderr)
    assert [d["sev"] for d in found] == ["warning"], done.stdout + done.stderr
    assert "unused" in found[0]["message"]


def test_strict_makes_warnings_errors(tmp_path):
    write(tmp_path, spec_lines(DANGLING))
    done = flowc("validate", "--strict", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert [d["sev"] for d in diagnostics(done.stdout + done.stderr)] == ["error"], done.stdout + done.stderr
    github = flowc("validate", "--strict", "--format", "github", "p.flow.yaml", cwd=tmp_path)
    assert github.returncode == 1 and github.stdout.startswith("::error file=p.flow.yaml,line="), github.stdout
    as_json = flowc("validate", "--strict", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert as_json.returncode == 1 and '"error"' in as_json.stdout and '"warning"' not in as_json.stdout


def test_github_warning_is_a_warning_annotation(tmp_path):
    write(tmp_path, spec_lines(DANGLING))
    done = flowc("validate", "--format", "github", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0
    assert any(x.startswith("::warning file=p.flow.yaml,line=") for x in done.stdout.splitlines()), done.stdout


def test_yaml_number_constant_out_of_range_is_a_diagnostic_not_a_crash(tmp_path):
    """A YAML scalar that is a number is a constant (SPEC §5); one no int64/float can hold is an error
    at that scalar (flowc used to crash with a traceback)."""
    lines = spec_lines(["  - map:", "      big: 99999999999999999999", "      inf: .inf", "      ok: 5"])
    write(tmp_path, lines)
    for command in ["validate", "run"]:
        done = flowc(command, "p.flow.yaml", cwd=tmp_path)
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "Traceback" not in output
        found = {(int(d["line"]), int(d["col"])) for d in diagnostics(output) if d["sev"] == "error"}
        assert found == {position(lines, "99999999999999999999"), position(lines, ".inf")}, output


@pytest.mark.parametrize(("settings", "tokens"), [
    (["  batch_size: -5", "  batch_timeout: 5 minutes", "  on_error: ignore"], ["-5", "5 minutes", "ignore"]),
    (["  dead_letter: 5", "  batch_size: x"], ["5", "x"]),
], ids=["bad values", "bad types"])
def test_bad_settings_do_not_hide_the_other_problems(tmp_path, settings, tokens):
    """SPEC §10: every problem, not the first: a setting with a bad value changes nothing the graph or
    the expressions mean, so their problems are reported beside it."""
    lines = [
        "version: 1",
        "pipeline: p",
        "settings:",
        *settings,
        *HEAD[2:],
        "  - filter: amout > 1",
        "sinks:",
        "  out: {type: file, path: out.jsonl, from: nowhere}",
    ]
    write(tmp_path, lines)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    found = {(int(d["line"]), int(d["col"])) for d in diagnostics(done.stdout + done.stderr)}
    for token in [*tokens, "amout", "nowhere"]:
        assert position(lines, token) in found, (token, done.stdout)


def test_bare_word_that_is_no_field_hints_at_expression_quotes(tmp_path):
    """SPEC §5: `map: {channel: web}` reads the field `web`; a string constant needs expression quotes.
    When no field is called so, the error says how to write the text."""
    lines = spec_lines(["  - map: {channel: web, kind: '\"web\"', label: web shop}"])
    write(tmp_path, lines)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    found, words = diagnostics(done.stdout + done.stderr)
    assert (int(found["line"]), int(found["col"])) == position(lines, "web")
    assert "'web'" in found["message"]
    assert """quote it inside the YAML: '"web"'""" in found["after"][3], found
    assert (int(words["line"]), int(words["col"])) == position(lines, "shop")
    assert """quote it inside the YAML: '"web shop"'""" in words["after"][3], words


def test_quoted_glob_pattern_and_each_file_once(tmp_path):
    """`flowc validate 'specs/**/*.flow.yaml'` (a CI job quotes the pattern, so no shell expands it)
    checks what it matches; a file named twice (a folder and a file in it) is checked once."""
    bad = spec_lines(["  - filter: amout > 1"])
    write(tmp_path / "specs" / "x", bad, name="a.flow.yaml")
    write(tmp_path / "specs", bad, name="b.flow.yaml")
    done = flowc("validate", "specs/**/*.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted(Path(d["file"]).name for d in diagnostics(done.stdout)) == ["a.flow.yaml", "b.flow.yaml"]
    twice = flowc("validate", "specs", "specs/b.flow.yaml", cwd=tmp_path)
    assert sorted(Path(d["file"]).name for d in diagnostics(twice.stdout)) == ["a.flow.yaml", "b.flow.yaml"]
    assert flowc("validate", "specs/**/*.nope.yaml", cwd=tmp_path).returncode == 2


def test_sql_habits_get_a_hint(tmp_path):
    """SQL users write `AND`, `IS NULL`, `NOT`, `<>`, `=`: each is an error at its spot that says what
    to write (keywords are lowercase; `!=`, `==`)."""
    # (step, the text the error points at, what the message suggests)
    cases = [("  - filter: amount > 1 AND qty > 1", "AND", "'and'"), ("  - filter: name IS NULL", "IS", "'is'"),
             ("  - filter: NOT amount > 1", "amount", "'not'"), ("  - filter: qty <> 1", "<> 1", "'!='"),
             ("  - filter: qty = 1", "= 1", "'=='")]
    lines = spec_lines([step for step, _, _ in cases])
    write(tmp_path, lines)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    found = {(int(d["line"]), int(d["col"])): d["message"] for d in diagnostics(done.stdout)}
    for number, (step, token, hint) in enumerate(cases, start=len(HEAD) + 1):
        at = (number, step.index(token, step.index(":") + 1) + 1)
        assert at in found, (step, done.stdout)
        assert hint in found[at], found[at]


def test_schema_type_typo_does_not_hide_the_other_problems(tmp_path):
    """SPEC §10: every problem: a misspelt type in a source's schema is reported, and so are the
    unrelated problems after it, with no echo of it where the field is used."""
    lines = [
        *HEAD[:5],
        "    schema: {status: string, amount: flaot, qty: int, name: string}",
        *HEAD[6:],
        "  - filter: amout > 1 and amount > 2",
        "  - map: {x: amount * 2, y: name > 3}",
        "sinks:",
        "  out: {type: file, path: out.jsonl, from: nowhere}",
        "  o2: {type: file, path: o2.jsonl}",
    ]
    write(tmp_path, lines)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    found = {(int(d["line"]), int(d["col"])) for d in diagnostics(done.stdout) if d["sev"] == "error"}
    assert found == {position(lines, "flaot"), position(lines, "amout"), position(lines, "name > 3"),
                     position(lines, "nowhere")}, done.stdout
