"""The console sink shows the values a file sink writes (SPEC §7): its `jsonl` lines are the file's
JSON lines byte for byte, `json` the same objects indented, `kv` strings quoted only where a pair would
be ambiguous. Durations printed `60000000us` and datetimes without their microseconds before (second
acceptance audit)."""

from __future__ import annotations

import json
import re
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
    assert kv[0] == ('t=2024-01-01T00:00:00.000000Z d=PT1M s="a,\\"b\\" c" l=[1,null] n="{\\"x\\":1}" f=1.5')
    assert kv[1] == 't=null d=P1DT2H s="" l=[] n=null f=null'
    assert kv[2].startswith("t=null d=null s=plain ")


def test_console_kv_lines_split_on_spaces_and_hold_the_file_sinks_compact_json(tmp_path):
    # audit 5 G7: `c=[1, 2] d={"x": "q r"}` split into `2]`, `"q`, `r"}`; lists and structs are now
    # the compact JSON a JSON lines file holds, quoted (logfmt style) when it holds a space or a quote
    path = tmp_path / "k.flow.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        pipeline: k
        sources:
          s: {type: inline, records: [{a: null, b: "", c: [1, 2], d: {x: "q r", y: [true]}, e: "x=y", f: 1.5}]}
        sinks:
          f: {type: file, path: f.jsonl}
          k: {type: console, format: kv}
        """))
    result = CliRunner().invoke(cli, ["run", str(path), "--quiet", "--reset"])
    assert result.exit_code == 0, result.output
    line = result.stdout.splitlines()[0]
    assert line == 'a=null b="" c=[1,2] d="{\\"x\\":\\"q r\\",\\"y\\":[true]}" e="x=y" f=1.5'
    # a logfmt reader: a bare value runs to the next space, a quoted one is a JSON string
    found = re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ ="]+)', line)
    assert " ".join(f"{k}={v}" for k, v in found) == line
    pairs = {k: json.loads(v) if v.startswith('"') else v for k, v in found}
    file_record = json.loads((tmp_path / "f.jsonl").read_text())
    assert json.loads(pairs["c"]) == file_record["c"] and '"c":[1,2]' in (tmp_path / "f.jsonl").read_text()
    assert json.loads(pairs["d"]) == file_record["d"] and pairs["e"] == "x=y" and pairs["b"] == ""


def test_console_table_shows_json_values(tmp_path):
    printed = _run(tmp_path, "table")
    assert "PT1M" in printed and "2024-01-01T00:00:00.000000Z" in printed and '{"x": 1}' in printed
    assert "True" not in printed and "None" not in printed
