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


EMPTY_BRANCH = """
    sources:
      orders:
        type: inline
        schema: {ts: datetime, n: int}
        records: [{ts: "2024-01-01T00:05:00Z", n: 1}, {ts: "2024-01-01T00:00:05Z", n: 2}]
      other: {type: inline, schema: {ts: datetime, n: int}, records: []}
    steps:
      - union: [orders, other]
      - name: agg
        aggregate:
          window: {type: tumbling, size: 1m, time: ts}
          compute: {c: count()}
    sinks:
      windows: {type: file, path: w.jsonl, from: agg}
      o: {type: file, path: o.jsonl, from: agg.late}
    """


def test_an_empty_source_does_not_hold_a_unions_watermark_back(tmp_path):
    """`other` holds no record, so it ends before `orders` is read: the union's watermark is `orders'`
    alone, and the record 5 minutes behind it is late (it was not: `other`, read after `orders` as the
    union lists it, held the watermark at minus infinity until `orders` had been read)."""
    late = run(tmp_path, EMPTY_BRANCH)
    assert [(r["n"], r["_error"]["code"]) for r in late] == [(2, "late")]
    windows = [json.loads(line) for line in (tmp_path / "w.jsonl").read_text().splitlines()]
    assert [(w["window_start"], w["c"]) for w in windows] == [("2024-01-01T00:05:00.000000Z", 1)]


def test_flowc_test_sources_a_test_does_not_name_hold_no_watermark_back(tmp_path):
    """SPEC §8: sources a test does not name are empty; the late record is found as in a run of `orders` alone."""
    spec = tmp_path / "u.flow.yaml"
    spec.write_text("version: 1\npipeline: u\n" + textwrap.dedent(EMPTY_BRANCH) + textwrap.dedent("""
        tests:
          - name: late behind an unnamed source
            inputs:
              orders: [{ts: "2024-01-01T00:05:00Z", n: 1}, {ts: "2024-01-01T00:00:05Z", n: 2}]
            expect:
              o: [{n: 2}]
              windows: [{c: 1}]
        """))
    result = CliRunner().invoke(cli, ["test", str(spec)])
    assert result.exit_code == 0, result.output
    assert "1 passed" in result.output
