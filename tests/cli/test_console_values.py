"""The console sink shows the values a file sink writes (SPEC §7): its `jsonl` lines are the file's
JSON lines byte for byte, `json` the same objects indented, `kv` strings quoted only where a pair would
be ambiguous. Durations printed `60000000us` and datetimes without their microseconds before (second
acceptance audit)."""

from __future__ import annotations

import json
import textwrap

from click.testing import CliRunner

from flowc.cli import cli

SPEC = """\
    version: 1
    pipeline: c
    sources:
      s:
        type: inline
        schema: {t: datetime, d: duration, s: string, l: "list<int>", n: {x: int}, f: float}
        records:
          - {t: "2024-01-01T00:00:00Z", d: 1m, s: 'a,"b" c', l: [1, null], n: {x: 1}, f: 1.5}
          - {t: null, d: "PT26H", s: "", l: [], n: null, f: null}
          - {s: plain}
    sinks:
      f: {type: file, path: f.jsonl}
      c: {type: console, format: FORMAT}
    """


def _run(tmp_path, format_: str) -> str:
    path = tmp_path / "c.flow.yaml"
    path.write_text(textwrap.dedent(SPEC).replace("FORMAT", format_))
    result = CliRunner().invoke(cli, ["run", str(path), "--quiet", "--reset"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_console_jsonl_is_the_file_sinks_json_lines(tmp_path):
    printed = _run(tmp_path, "jsonl")
    assert printed == (tmp_path / "f.jsonl").read_text()
    first = json.loads(printed.splitlines()[0])
    assert (first["t"], first["d"]) == ("2024-01-01T00:00:00.000000Z", "PT1M")


def test_console_json_and_kv_show_the_same_values(tmp_path):
    objects = json.loads("[" + _run(tmp_path, "json").replace("}\n{", "},\n{") + "]")
    assert objects == [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    kv = _run(tmp_path, "kv").splitlines()
    assert kv[0] == ('t=2024-01-01T00:00:00.000000Z d=PT1M s="a,\\"b\\" c" l=[1, null] n={"x": 1} f=1.5')
    assert kv[1] == 't=null d=P1DT2H s="" l=[] n=null f=null'
    assert kv[2].startswith("t=null d=null s=plain ")


def test_console_table_shows_json_values(tmp_path):
    printed = _run(tmp_path, "table")
    assert "PT1M" in printed and "2024-01-01T00:00:00.000000Z" in printed and '{"x": 1}' in printed
    assert "True" not in printed and "None" not in printed
