"""A global aggregate (no `by`, no `window`) over an input that gives no record emits one record, as
SQL's `SELECT count(*), sum(v) FROM t WHERE false` does: counts 0, `sum avg min max first last` null,
`collect` an empty list; with `by` it emits none (audit 5 G4, whose repro's sink read the `by` step)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli

SPEC = """\
    version: 1
    pipeline: em
    sources:
      s: {type: file, path: in.jsonl, schema: {v: int, g: string}}
    steps:
      - filter: v > 5
      - name: everything
        aggregate:
          compute:
            n: count()
            nv: count(v)
            d: count_distinct(g)
            s: sum(v)
            a: avg(v)
            lo: min(v)
            hi: max(g)
            f: first(g)
            la: last(v)
            c: collect(v)
      - name: per_g
        from: filter_1
        aggregate: {by: [g], compute: {n: count()}}
    sinks:
      o: {type: file, path: out/all.jsonl, from: everything}
      o2: {type: file, path: out/per_g.jsonl, from: per_g}
    """

EMPTY = {"n": 0, "nv": 0, "d": 0, "s": None, "a": None, "lo": None, "hi": None, "f": None, "la": None, "c": []}


def _write(tmp_path: Path, spec: str = textwrap.dedent(SPEC)) -> Path:
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"v": v, "g": "a"}) + "\n" for v in (1, 2, 3)))
    path = tmp_path / "em.flow.yaml"
    path.write_text(spec)
    return path


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_run_emits_one_record_without_by_and_none_with_by(tmp_path):
    path = _write(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--quiet", str(path)])
    assert result.exit_code == 0, result.output
    assert _records(tmp_path / "out/all.jsonl") == [EMPTY]
    assert _records(tmp_path / "out/per_g.jsonl") == []


def test_a_stopped_run_resumed_emits_the_record_once(tmp_path):
    path = _write(tmp_path)
    first = CliRunner().invoke(cli, ["run", "--quiet", "--limit", "1", str(path)])
    assert first.exit_code == 0, first.output
    assert _records(tmp_path / "out/all.jsonl") == []  # stopped before the end of input: nothing yet
    for _ in range(2):  # the resumed run ends the input; the next finds the pipeline completed
        again = CliRunner().invoke(cli, ["run", "--quiet", str(path)])
        assert again.exit_code == 0, again.output
        assert _records(tmp_path / "out/all.jsonl") == [EMPTY]


def test_flowc_test_sees_the_record_for_an_empty_input(tmp_path):
    tests = """\
    tests:
      - name: nothing in
        inputs: {s: []}
        expect:
          o: [{n: 0, nv: 0, d: 0, s: null, a: null, lo: null, c: []}]
          o2: []
      - name: all filtered out
        inputs: {s: [{v: 1, g: a}]}
        expect:
          o: [{n: 0, s: null, c: []}]
    """
    path = _write(tmp_path, textwrap.dedent(SPEC) + textwrap.dedent(tests))
    result = CliRunner().invoke(cli, ["test", str(path)])
    assert result.exit_code == 0, result.output
    wrong = _write(tmp_path, textwrap.dedent(SPEC) + textwrap.dedent(tests).replace("o2: []", "o2: [{n: 0}]"))
    assert CliRunner().invoke(cli, ["test", str(wrong)]).exit_code == 1
