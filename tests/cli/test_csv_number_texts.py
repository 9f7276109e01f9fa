"""`flowc run` reads a CSV file's declared int and float fields as `to_int` / `to_float` read their
text (SPEC §3), whether a block of the file is parsed as numbers (the fast reading) or as text: the
texts Polars' number parser reads but the conversion refuses (a leading space or tab, a quoted empty
field, nan, inf) are record errors at their line, and the others keep their exact value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowc.cli import cli

GOOD = [("007", "-0.0"), ("+5", "1e308"), ("-9223372036854775808", ".5"), ("", "")]
EXPECTED = [{"n": 7, "x": -0.0}, {"n": 5, "x": 1e308}, {"n": -9223372036854775808, "x": 0.5},
            {"n": None, "x": None}]


def _run(folder: Path, rows: list[tuple[str, str]], batch_size: int) -> tuple[list[dict], list[dict]]:
    (folder / "in.csv").write_text("n,x\n" + "".join(f"{n},{x}\n" for n, x in rows), encoding="utf-8")
    spec = folder / "p.flow.yaml"
    spec.write_text(
        "version: 1\npipeline: p\n"
        f"settings: {{batch_size: {batch_size}, on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}\n"
        "sources:\n  s: {type: file, path: in.csv, schema: {n: int, x: float}}\n"
        "sinks:\n  o: {type: file, path: out.jsonl}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output

    def lines(name: str) -> list[dict]:
        path = folder / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return lines("out.jsonl"), lines("dead.jsonl")


def test_exact_numbers_are_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written, dead = _run(tmp_path, GOOD * 3, batch_size=2)
    assert dead == []
    assert written == EXPECTED * 3
    assert str(written[0]["x"]) == "-0.0"


@pytest.mark.parametrize(("n", "x", "message"), [
    (" 7", "1", "field 'n': cannot convert ' 7' to int"),
    ("\t7", "1", "field 'n': cannot convert '\t7' to int"),
    ('""', "1", "field 'n': cannot convert '' to int"),
    ("7", "nan", "field 'x': cannot convert 'nan' to float"),
    ("7", "inf", "field 'x': cannot convert 'inf' to float"),
    ("7", "1e400", "field 'x': cannot convert '1e400' to float"),
])
def test_a_text_the_conversion_refuses_is_a_record_error_at_its_line(tmp_path, monkeypatch, n, x, message):
    monkeypatch.chdir(tmp_path)
    rows = GOOD * 3 + [(n, x)] + GOOD
    written, dead = _run(tmp_path, rows, batch_size=4)
    assert written == EXPECTED * 4
    assert len(dead) == 1
    assert (dead[0]["_error"]["code"], dead[0]["_error"]["message"]) == ("conversion", message)
    assert dead[0]["_source"]["position"] == "in.csv:14"
