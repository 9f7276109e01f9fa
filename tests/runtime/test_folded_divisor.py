"""`MIN // -1` overflows (SPEC §5: a record error, never a wrap), also when the optimizer folded the
divisor to a literal -1 (`-1`, `0 - 1`): the lowering skipped the check for every literal divisor."""

from __future__ import annotations

import pytest
from runner_cases import records, run, write_spec

SPEC = """
settings: {{on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
sources:
  s: {{type: inline, records: [{{m: -9223372036854775807}}, {{m: 7}}], schema: {{m: int}}}}
steps:
  - map: {{n: m - 1}}
  - map: {{q: n // {divisor}}}
sinks:
  o: {{type: file, path: o.jsonl}}
"""


@pytest.mark.parametrize("divisor", ["-1", "(0 - 1)", "-(1)"])
@pytest.mark.parametrize("optimize", [[], ["--no-optimize"]])
def test_min_floor_divided_by_a_folded_minus_one_is_an_overflow(tmp_path, divisor, optimize):
    result = run(write_spec(tmp_path, SPEC.format(divisor=divisor)), "--quiet", *optimize)
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "o.jsonl") == [{"m": 7, "n": 6, "q": -6}]
    (dead,) = records(tmp_path / "dead.jsonl")
    assert dead["_error"]["code"] == "overflow" and dead["n"] == -9223372036854775808
