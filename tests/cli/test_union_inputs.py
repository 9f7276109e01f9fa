"""`union` over inputs of differing shapes (SPEC §4: fields aligned by name, missing ones null; §2: a
side output is an input like any other), through `flowc run`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli


def run(folder: Path, body: str) -> list[dict]:
    spec = folder / "u.flow.yaml"
    spec.write_text("version: 1\npipeline: u\n" + textwrap.dedent(body))
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in (folder / "o.jsonl").read_text().splitlines()]


def test_a_union_of_a_step_and_its_errors(tmp_path):
    """The error records carry no row number of their own (their position is in `_source`): the run
    failed with 'unable to find column __flowc_row'."""
    got = run(tmp_path, """
        sources:
          s: {type: inline, records: [{id: 1, a: "1"}, {id: 2, a: "x"}]}
        steps:
          - name: conv
            map: {ai: to_int(a)}
          - union: [conv, conv.errors]
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    assert [(r["id"], r["ai"], (r["_error"] or {}).get("code")) for r in got] == [(1, 1, None), (2, None, "conversion")]
    assert got[1]["_source"] == {"name": "s", "position": "records[1]"}


def test_a_union_of_a_source_and_its_errors(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"id": 1}\n{"id": "x"}\n')
    got = run(tmp_path, """
        sources:
          s: {type: file, path: s.jsonl, schema: {id: int}}
        steps:
          - union: [s, s.errors]
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    assert [(r["id"], (r["_error"] or {}).get("code")) for r in got] == [(1, None), (None, "conversion")]


def test_structs_with_different_fields_are_aligned_by_name(tmp_path):
    """A struct is aligned field by field as records are (Polars casts only structs of the same
    fields: the run failed with 'cast from struct[1] to struct[2]'); lists of structs too."""
    got = run(tmp_path, """
        sources:
          a: {type: inline, records: [{id: 1, s: {p: 1}, items: [{p: 1}]}]}
          b: {type: inline, records: [{id: 2, s: {p: 1.5, q: z}, items: [{p: 2.5, q: x}, null]}]}
          c: {type: inline, records: [{id: 3}]}
        steps:
          - union: [a, b, c]
        sinks:
          o: {type: file, path: o.jsonl}
        """)
    assert got == [
        {"id": 1, "s": {"p": 1.0, "q": None}, "items": [{"p": 1.0, "q": None}]},
        {"id": 2, "s": {"p": 1.5, "q": "z"}, "items": [{"p": 2.5, "q": "x"}, None]},
        {"id": 3, "s": None, "items": None}]
