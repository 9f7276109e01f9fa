"""Black-box audit of SPEC §5 (expressions) and §10 (`flowc validate`, `plan`, `run --dry-run`) through
the real `flowc` command.

SPEC §5: "the reference interpreter and the compiled form must agree on every record". A closed
expression (`matches("A", "[\\s-x]")`) is folded at compile time by the reference interpreter; the
same expression over a field is computed by Polars. `AGREEMENT` cases run both ways in one
`flowc run` and must give the same, expected, value.
"""

from __future__ import annotations

import json

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
