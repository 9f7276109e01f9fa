"""Black-box audit of SPEC §5 (expressions) and §10 (`flowc validate`, `plan`, `run --dry-run`) through
the real `flowc` command.

SPEC §5: "the reference interpreter and the compiled form must agree on every record". A closed
expression (`matches("A", "[\\s-x]")`) is folded at compile time by the reference interpreter; the
same expression over a field is computed by Polars. `AGREEMENT` cases run both ways in one
`flowc run` and must give the same, expected, value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acceptance_cli import flowc, lines, write_spec


def _literal(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# (expression over `{x}`, the string `{x}` stands for, the expected value)
AGREEMENT: list[tuple[str, str, object]] = [
    # a class read as RE2 reads it: `\s`, `-`, `x` (not a range from the space to `x`)
    (r'matches({x}, "^[\\s-x]$")', "A", False), (r'matches({x}, "^[\\s-x]$")', "-", True),
    (r'matches({x}, "^[\\w-~]$")', "{", False), (r'matches({x}, "^[\\w-~]$")', "~", True),
    # `--/` after a range or first in a class is a range from `-` to `/`
    (r'matches({x}, "^[--/]$")', ".", True), (r'matches({x}, "^[x-z--/]$")', ".", True),
    (r'matches({x}, "^[a-c--b]$")', "X", True), (r'matches({x}, "^[\\--b]$")', "0", True),
    (r'matches({x}, "^[+--]$")', ",", True), (r'matches({x}, "^[\\w.-]+$")', "a.b-c", True),
    (r'regex_replace({x}, "[\\s-x]", "#")', "a x-y", "a###y"),
    # `\B` (not at an ASCII word boundary) never holds between the bytes of one character
    (r'matches({x}, "\\B")', "aéa", False), (r'matches({x}, "\\B")', "ab", True),
    (r'regex_replace({x}, "\\B", "-")', "aße", "aße"), (r'regex_replace({x}, "\\B", "-")', "a😀a", "a😀a"),
    (r'regex_replace({x}, "\\B", "-")', "abé", "a-bé-"),
    (r'regex_extract({x}, "\\B.", 0)', "aéb", None),
]


@pytest.fixture(scope="module")
def agreement(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("agreement")
    record = {f"x{k}": x for k, (_, x, _) in enumerate(AGREEMENT)}
    fields = []
    for k, (template, x, _) in enumerate(AGREEMENT):
        fields.append(f"      d{k}: {json.dumps(template.format(x=f'x{k}'), ensure_ascii=False)}")
        fields.append(f"      c{k}: {json.dumps(template.format(x=_literal(x)), ensure_ascii=False)}")
    schema = ", ".join(f"x{k}: string" for k in range(len(AGREEMENT)))
    write_spec(folder, f"""\
sources:
  s:
    type: inline
    schema: {{{schema}}}
    records:
      - {json.dumps(record, ensure_ascii=False)}
steps:
  - map:
""" + "\n".join(fields) + """
sinks:
  o: {type: file, path: o.jsonl}
""")
    done = flowc("run", "p.flow.yaml", "--quiet", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    [out] = lines(folder / "o.jsonl")
    return out


@pytest.mark.parametrize(("k", "template", "x", "expected"), [(k, *c) for k, c in enumerate(AGREEMENT)],
                         ids=[f"{t.format(x=repr(x))}" for t, x, _ in AGREEMENT])
def test_folded_and_compiled_forms_agree(agreement, k, template, x, expected):
    assert agreement[f"d{k}"] == expected, f"over a field: {agreement[f'd{k}']!r}"
    assert agreement[f"c{k}"] == expected, f"folded constant: {agreement[f'c{k}']!r}"


# --- flowc validate: several files, several problems, every format ---------------------------------

SPEC_A = """\
version: 1
pipeline: a
sources:
  s: {type: inline, schema: {amount: float, name: string}, records: []}
steps:
  - map:
      c: concat()
      r: |
        regex_extract(name,
          "(a)", 2)
  - filter: "name == \\"é\\" or amout > 1"
sinks:
  o: {type: file, path: o.jsonl}
"""
SPEC_B = """\
version: 1
pipeline: b
sources:
  s: {type: inline, schema: {i: int}, records: []}
steps:
  - name: unused
    filter: i > 1
  - name: used
    from: s
    filter: i > 2
sinks:
  o: {type: file, path: o.jsonl}
"""
# (file, line, col, end_line, end_col, severity, code, message)
EXPECTED = [
    ("a.flow.yaml", 7, 10, 7, 18, "error", "E221", "'concat' takes at least 1 argument, got 0"),
    ("a.flow.yaml", 10, 18, 10, 19, "error", "E225",
     "invalid argument to 'regex_extract': group 2 does not exist; the regex has groups 0 to 1"),
    ("a.flow.yaml", 11, 31, 11, 36, "error", "E104", "unknown field 'amout' in filter; did you mean 'amount'?"),
    ("b.flow.yaml", 6, 11, 6, 17, "warning", "W301", "'unused' is not read by any sink"),
]
KEYS = ["file", "line", "col", "end_line", "end_col", "severity", "code", "message", "help", "notes"]


@pytest.fixture(scope="module")
def two_specs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("two_specs")
    (folder / "a.flow.yaml").write_text(SPEC_A, encoding="utf-8")
    (folder / "b.flow.yaml").write_text(SPEC_B, encoding="utf-8")
    return folder


def test_validate_json_lists_every_problem_of_every_file_with_its_keys_in_order(two_specs):
    done = flowc("validate", "--format", "json", "a.flow.yaml", "b.flow.yaml", cwd=two_specs)
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)
    assert [list(d) for d in found] == [KEYS] * len(EXPECTED)
    assert [tuple(d[k] for k in KEYS[:8]) for d in found] == EXPECTED


def test_validate_text_and_github_give_the_same_positions(two_specs):
    text = flowc("validate", "a.flow.yaml", "b.flow.yaml", cwd=two_specs)
    headers = [x for x in text.stdout.splitlines() if x.startswith(("a.flow.yaml:", "b.flow.yaml:"))]
    assert headers == [f"{f}:{line}:{col}: {sev}[{code}]: {msg}" for f, line, col, _, _, sev, code, msg in EXPECTED]
    github = flowc("validate", "--format", "github", "a.flow.yaml", "b.flow.yaml", cwd=two_specs)
    assert github.returncode == 1
    annotations = [x.split("::")[1] for x in github.stdout.splitlines() if x.startswith("::")]
    assert annotations == [f"{'error' if sev == 'error' else 'warning'} file={f},line={line},col={col},"
                           f"endLine={end_line},endColumn={end_col},title={code}"
                           for f, line, col, end_line, end_col, sev, code, _ in EXPECTED]


def test_strict_turns_the_warning_into_an_error_only_in_its_file(two_specs):
    clean = flowc("validate", "b.flow.yaml", cwd=two_specs)
    strict = flowc("validate", "--strict", "--format", "json", "b.flow.yaml", cwd=two_specs)
    assert (clean.returncode, strict.returncode) == (0, 1)
    assert [(d["severity"], d["code"]) for d in json.loads(strict.stdout)] == [("error", "W301")]


def test_run_log_format_json_reports_the_same_diagnostics(two_specs):
    done = flowc("run", "a.flow.yaml", "--log-format", "json", cwd=two_specs)
    assert done.returncode == 1
    events = [json.loads(x) for x in done.stderr.splitlines()]
    assert [list(e) for e in events] == [["event", *KEYS]] * 3
    assert [tuple(e[k] for k in KEYS[:8]) for e in events] == EXPECTED[:3]


def test_a_field_name_that_is_no_identifier_is_suggested_with_its_back_quotes(tmp_path):
    """`order-id > 0` reads the fields `order` and `id`: the suggestion says how to write 'order-id'."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {order-id: int}, records: []}
        steps:
          - filter: order-id > 0
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    first = json.loads(done.stdout)[0]
    assert (first["line"], first["col"], first["code"]) == (6, 13, "E104")
    assert first["message"] == ("unknown field 'order' in filter; did you mean 'order-id'? "
                                "write it in back-quotes: `order-id`")


def test_an_empty_filter_or_rule_is_an_error_not_a_null_that_drops_everything(tmp_path):
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {i: int}, records: [{i: 1}]}
        steps:
          - filter:
          - validate:
              r1:
              r2: i > 0
          - filter: null
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert [(d["line"], d["col"], d["code"]) for d in json.loads(done.stdout)] == [(6, 12, "E211"), (8, 10, "E211")]


def test_a_regex_group_reference_in_a_spec_is_written_with_a_doubled_dollar(tmp_path):
    """SPEC §1 substitutes `${...}` in every string: `"${2}"` is no variable (E011, with the way out),
    and `$${2}` reaches regex_replace as the group reference `${2}`."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {s: string}, records: [{s: "ab12"}]}
        steps:
          - map:
              a: 'regex_replace(s, "([a-z]+)([0-9]+)", "${2}-$1")'
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    [problem] = json.loads(done.stdout)
    assert (problem["line"], problem["col"], problem["code"]) == (7, 49, "E011")
    assert problem["help"] == "to write '${2}' as text, write '$${2}'"
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(spec.read_text().replace('"${2}', '"$${2}'))
    done = flowc("run", "p.flow.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "o.jsonl") == [{"s": "ab12", "a": "12-ab"}]


@pytest.mark.parametrize(("step", "col"), [
    ('  - map: {y: coalesce(b, "none")}', 32),  # the call's `,` ends the YAML value
    ('  - map: {a: "x" + b}', 18),              # a value that starts with a quote ends at its closing quote
    ('  - map: {c: b in ["x", "y"]}', 19),
])
def test_an_unquoted_expression_in_a_flow_mapping_gets_a_hint_to_quote_it(tmp_path, step, col):
    """SPEC §5: write expressions that contain `,` `[` `{` or begin with a quote, quoted or in block
    style; the YAML error at the spot says so."""
    write_spec(tmp_path, "sources:\n  s: {type: inline, schema: {b: string}, records: []}\nsteps:\n" + step
               + "\nsinks:\n  o: {type: file, path: o.jsonl}\n")
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    [problem] = json.loads(done.stdout)
    assert (problem["line"], problem["col"], problem["code"]) == (6, col, "E002")
    assert "quote the whole expression" in problem["help"]


def test_nested_aggregates_and_count_star_are_explained(tmp_path):
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {k: string, x: int}, records: []}
        steps:
          - aggregate:
              by: [k]
              compute:
                z: sum(sum(x))
                w: count(*)
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert [(d["line"], d["col"], d["code"], d["message"]) for d in json.loads(done.stdout)] == [
        (9, 16, "E106", "aggregates do not nest: 'sum' inside an argument of aggregate 'z'"),
        (10, 18, "E202", "unexpected '*' in expression; expected an operand or ')'; 'count()' counts the records"),
    ]


def test_yaml_number_constants_at_the_int64_edge_and_beyond(tmp_path):
    """SPEC §5: a YAML number is a constant; ints are 64-bit, so the smallest one is a constant too,
    and a number no constant can hold is an error quoting what the file says."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {i: int}, records: [{i: 1}]}
        steps:
          - map:
              lo: -9223372036854775808
              hi: 9223372036854775807
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("run", "p.flow.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "o.jsonl") == [{"i": 1, "lo": -9223372036854775808, "hi": 9223372036854775807}]
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(spec.read_text().replace("lo: -9223372036854775808", "lo: 1e999"))
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    [problem] = json.loads(done.stdout)
    assert (problem["line"], problem["col"], problem["code"], problem["message"]) == (
        7, 11, "E209", "number '1e999' is out of range")


def test_a_comparison_with_null_is_a_warning_and_strict_makes_it_an_error(tmp_path):
    """SPEC §5: null propagates through comparisons, so `x != null` is null for every record and the
    filter drops them all; validate warns (exit 0), --strict fails, and the run still runs."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {x: int}, records: [{x: 1}, {x: null}]}
        steps:
          - filter: x != null or x is null
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0
    assert [(d["line"], d["col"], d["end_col"], d["severity"], d["code"], d["message"])
            for d in json.loads(done.stdout)] == [
        (6, 13, 22, "warning", "W201", "'!=' with null is null for every record, never true; use 'is not null'")]
    assert flowc("validate", "--strict", "p.flow.yaml", cwd=tmp_path).returncode == 1
    run = flowc("run", "p.flow.yaml", cwd=tmp_path)
    assert run.returncode == 0 and "warning[W201]" in run.stderr
    assert lines(tmp_path / "o.jsonl") == [{"x": None}]


def test_avg_of_large_ints_is_their_mean_while_their_sum_fails_the_run(tmp_path):
    """SPEC §5: overflow inside an aggregate (`sum`) fails the run; `avg` gives a float, and the mean
    of 64-bit ints always fits one, across batches and checkpoints too."""
    big = 9223372036854775807
    write_spec(tmp_path, f"""\
        settings: {{batch_size: 1}}
        sources:
          s: {{type: inline, schema: {{i: int}}, records: [{{i: {big}}}, {{i: {big}}}, {{i: {big - 3}}}]}}
        steps:
          - aggregate: {{compute: {{a: avg(i), m: max(i)}}}}
        sinks:
          o: {{type: file, path: o.jsonl}}
        """)
    done = flowc("run", "p.flow.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "o.jsonl") == [{"a": float(big - 1), "m": big}]
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(spec.read_text().replace("avg(i)", "sum(i)"))
    done = flowc("run", "p.flow.yaml", "--reset", cwd=tmp_path)
    assert done.returncode == 1 and "integer overflow in sum 'a'" in done.stderr, done.stderr


def test_a_text_diagnostic_stays_on_one_line_when_the_name_it_quotes_spans_two(tmp_path):
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {a: int}, records: []}
        steps:
          - map:
              b: |
                `weird
                name` + 1
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "p.flow.yaml", cwd=tmp_path)
    assert done.stdout.splitlines()[0] == r"p.flow.yaml:8:9: error[E104]: unknown field 'weird\nname' in map"


def test_a_field_name_with_spaces_written_bare_gets_the_back_quote_hint(tmp_path):
    """SPEC §5: `` `field with spaces` ``; `total amount > 10` (a CSV header) is two names side by side."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {total amount: float, Order Date: string}, records: []}
        steps:
          - filter: total amount > 10
          - map:
              d: Order Date
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    assert [(d["line"], d["col"], d["code"], d["help"]) for d in json.loads(done.stdout)] == [
        (6, 19, "E202", "a field whose name has spaces is written in back-quotes: `total amount`"),
        (8, 16, "E202", "a field whose name has spaces is written in back-quotes: `Order Date`; "
                        """to write the text instead, quote it inside the YAML: '"Order Date"'"""),
    ]


def test_a_datetime_compared_with_text_is_a_type_error_that_shows_the_conversion(tmp_path):
    """SPEC §5: type errors the schema reveals are compile errors; `ts > "2026-01-01"` is one, and
    the help shows how to write the time."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {ts: datetime}, records: []}
        steps:
          - filter: ts >= "2026-01-01"
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    done = flowc("validate", "--format", "json", "p.flow.yaml", cwd=tmp_path)
    [problem] = json.loads(done.stdout)
    assert (problem["line"], problem["col"], problem["end_col"], problem["code"], problem["help"]) == (
        6, 13, 31, "E220", 'write the time as one: parse_timestamp("2026-01-01")')


def test_dry_run_prints_the_plan_and_plan_shows_the_folded_constant(tmp_path):
    """SPEC §10: `run --dry-run` compiles and prints the plan, writing nothing; `plan` shows which
    rewrites fired (a closed expression is computed once, at compile time)."""
    write_spec(tmp_path, """\
        sources:
          s: {type: inline, schema: {s: string}, records: [{s: "A"}]}
        steps:
          - filter: matches(s, "^[\\\\s-x]$") or matches("A", "^[\\\\s-x]$")
        sinks:
          o: {type: file, path: out/o.jsonl}
        """)
    done = flowc("run", "--dry-run", "p.flow.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Filter" in done.stdout and not (tmp_path / "out").exists() and not (tmp_path / ".flow").exists()
    plan = flowc("plan", "p.flow.yaml", cwd=tmp_path)
    assert plan.returncode == 0
    assert 'fold_constants at filter_1: matches("A", "^[\\\\s-x]$")  =>  false' in plan.stdout, plan.stdout
