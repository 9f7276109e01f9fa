"""Inline records are typed the same by `validate`, `run` and `test` (compiler/checks/source_schemas.py
`records_schema`): a field null in every record is null, which fits every type; ISO-8601 text stays
text. Before, validation and the run disagreed (found by the acceptance audit)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli

NULLS = """\
    version: 1
    pipeline: nl
    sources:
      s:
        type: inline
        records: [{a: null, b: 1}]
    steps:
      - map: {c: a + b, d: 'coalesce(a, b)', e: a > 0}
    sinks:
      o: {type: file, path: o.jsonl}
    tests:
      - name: nulls
        inputs: {s: [{a: null, b: 1}]}
        expect: {o: [{c: null, d: 1, e: null}]}
    """
TEXT = """\
    version: 1
    pipeline: pt
    sources:
      s: {type: inline, records: [{t: "2026-03-04T05:06:07Z", n: 1}, {t: "x", n: "two"}]}
    steps:
      - map: {x: parse_timestamp(t)}
    sinks:
      o: {type: file, path: o.jsonl}
    settings: {on_error: skip}
    """


def _validated_and_run(folder: Path, text: str) -> tuple[Path, list[dict]]:
    """The spec `text` written, validated and run (both must pass), and what it wrote to `o.jsonl`."""
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(text))
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0
    result = CliRunner().invoke(cli, ["run", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    return path, [json.loads(line) for line in (folder / "o.jsonl").read_text().splitlines()]


def test_a_field_null_in_every_record_fits_every_type_in_validate_run_and_test(tmp_path):
    path, written = _validated_and_run(tmp_path, NULLS)
    assert written == [{"a": None, "b": 1, "c": None, "d": 1, "e": None}]
    tested = CliRunner().invoke(cli, ["test", str(path)])
    assert tested.exit_code == 0, tested.output


def test_iso_text_stays_text_and_values_of_no_common_type_are_text(tmp_path):
    _, written = _validated_and_run(tmp_path, TEXT)
    assert written == [{"t": "2026-03-04T05:06:07Z", "n": "1", "x": "2026-03-04T05:06:07.000000Z"}]  # "x": skipped
