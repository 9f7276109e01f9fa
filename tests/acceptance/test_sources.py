"""Acceptance tests for SPEC §1 (the pipeline file) and §3 (file, inline and generate sources), written
from SPEC.md alone and run through the `flowc` command."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
from acceptance_cli import FLOWC, flowc, lines, write_spec


def run_ok(folder: Path, body: str, files: dict | None = None, env: dict | None = None) -> None:
    done = flowc("run", "--quiet", str(write_spec(folder, body, files)), env=env)
    assert done.returncode == 0, done.stderr


# --- §1 the pipeline file ---------------------------------------------------------------------------------

def test_yaml_1_2_booleans_keep_no_yes_off_as_strings(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: inline, records: [{country: NO, a: yes, b: off, c: true, d: False, e: on}]}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert lines(tmp_path / "out.jsonl") == [{"country": "NO", "a": "yes", "b": "off", "c": True, "d": False,
                                              "e": "on"}]


def test_unknown_top_level_key_and_missing_required_keys_are_errors(tmp_path):
    base = "sources:\n  s: {type: inline, records: [{n: 1}]}\nsinks:\n  out: {type: file, path: out.jsonl}\n"
    (tmp_path / "extra.flow.yaml").write_text("version: 1\npipeline: p\nextras: 1\n" + base)
    (tmp_path / "nover.flow.yaml").write_text("pipeline: p\n" + base)
    (tmp_path / "badname.flow.yaml").write_text("version: 1\npipeline: Bad Name\n" + base)
    (tmp_path / "nosrc.flow.yaml").write_text("version: 1\npipeline: p\nsinks:\n  out: {type: file, path: o.jsonl}\n")
    (tmp_path / "v2.flow.yaml").write_text("version: 2\npipeline: p\n" + base)
    names = ("extra", "nover", "badname", "nosrc", "v2")
    done = flowc("validate", *(str(tmp_path / f"{name}.flow.yaml") for name in names))
    assert done.returncode == 1
    failed = {line.split(":")[0] for line in done.stdout.splitlines() if "error[" in line}
    assert failed == {str(tmp_path / f"{name}.flow.yaml") for name in names}, done.stdout
    assert "extras" in done.stdout


def test_environment_substitution(tmp_path):
    # Block style: in a flow mapping, `{` and `}` are YAML syntax, so `{n: ${N}}` is not YAML at all.
    run_ok(tmp_path, """
    settings:
      batch_size: ${BS:-2}
    sources:
      s:
        type: inline
        records:
          - n: 1
            who: ${WHO}
            lit: $${WHO}
            txt: n-${NUM}
            num: ${NUM}
            flag: ${FLAG:-true}
    sinks:
      out:
        type: file
        path: ${OUT:-out}.jsonl
    """, env={"WHO": "ann", "NUM": "7"})
    assert lines(tmp_path / "out.jsonl") == [{"n": 1, "who": "ann", "lit": "${WHO}", "txt": "n-7", "num": 7,
                                              "flag": True}]


def test_unset_environment_variable_is_an_error_naming_it(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: inline, records: [{n: "${FLOWC_ACCEPT_SURELY_UNSET}"}]}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    done = flowc("validate", str(path))
    assert done.returncode == 1 and "FLOWC_ACCEPT_SURELY_UNSET" in done.stdout
    assert ":5:" in done.stdout  # its position: line 5 of the file


def test_state_dir_defaults_to_flow_pipeline_beside_the_spec_and_paths_are_relative_to_it(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    path = write_spec(folder, """
    sources:
      s: {type: file, path: in/*.csv}
    sinks:
      out: {type: file, path: out/o.jsonl}
    """, {"in/a.csv": "n\n1\n"})
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = flowc("run", "--quiet", str(path), cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert (folder / ".flow/p/events.log").exists()
    assert lines(folder / "out/o.jsonl") == [{"n": 1}]
    assert list(elsewhere.iterdir()) == []


# --- §3 file sources -------------------------------------------------------------------------------------

def test_csv_glob_reads_files_in_name_order_with_schema_types(tmp_path):
    run_ok(tmp_path, """
    sources:
      s:
        type: file
        path: data/*.csv
        format: csv
        schema: {id: int, ts: datetime, day: date, ok: bool, amount: float, name: string}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {
        "data/b.csv": "id,ts,day,ok,amount,name\n3,2026-01-01T00:00:03Z,2026-01-03,false,3.5,c\n",
        "data/a.csv": "id,ts,day,ok,amount,name\n1,2026-01-01T00:00:01Z,2026-01-01,true,1,a\n"
                      "2,2026-01-01T00:00:02.5Z,2026-01-02,true,2.25,\n",
        "data/c.txt": "not,matched\n",
    })
    out = lines(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == [1, 2, 3]
    assert list(out[0]) == ["id", "ts", "day", "ok", "amount", "name"]
    assert out[0]["ok"] is True and out[2]["ok"] is False
    assert out[0]["amount"] == 1.0 and isinstance(out[0]["amount"], float)
    assert out[0]["day"] == "2026-01-01"
    assert out[1]["ts"].startswith("2026-01-01T00:00:02.5")


def test_csv_options_delimiter_quote_null_values_no_header(tmp_path):
    run_ok(tmp_path, """
    sources:
      s:
        type: file
        path: in.csv
        schema: {a: int, b: string}
        options: {delimiter: ";", quote: "'", null_values: ["NA"], header: false}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.csv": "1;'x;y'\nNA;NA\n3;plain\n"})
    assert lines(tmp_path / "out.jsonl") == [{"a": 1, "b": "x;y"}, {"a": None, "b": None}, {"a": 3, "b": "plain"}]


def test_csv_value_that_does_not_parse_is_a_record_error_with_file_and_line(tmp_path):
    run_ok(tmp_path, """
    sources:
      s: {type: file, path: in.csv, schema: {a: int, b: string}}
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: s.errors}
    """, {"in.csv": "a,b\n1,x\nnope,y\n3,z\n"})
    assert lines(tmp_path / "out.jsonl") == [{"a": 1, "b": "x"}, {"a": 3, "b": "z"}]
    [bad] = lines(tmp_path / "bad.jsonl")
    text = json.dumps(bad)
    assert "nope" in text and "in.csv" in text
    assert bad["_source"]["name"] == "s" and "3" in json.dumps(bad["_source"]["position"])  # line 3


def test_jsonl_malformed_line_is_a_record_error_carrying_raw_text(tmp_path):
    run_ok(tmp_path, """
    settings:
      on_error: dead_letter
      dead_letter: {type: file, path: dead.jsonl}
    sources:
      s: {type: file, path: in.jsonl}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.jsonl": '{"n": 1, "u": {"tier": "g"}, "xs": [1, 2]}\n{"n": 2, oops\n{"n": 3, "u": null, "xs": []}\n'})
    assert lines(tmp_path / "out.jsonl") == [{"n": 1, "u": {"tier": "g"}, "xs": [1, 2]},
                                             {"n": 3, "u": None, "xs": []}]
    [dead] = lines(tmp_path / "dead.jsonl")
    text = json.dumps(dead)
    assert "oops" in text and "in.jsonl" in text and dead["_source"]["name"] == "s"


def test_json_array_parquet_and_text_formats_by_extension(tmp_path):
    pl.DataFrame({"k": [1, 2], "s": ["x", None]}).write_parquet(tmp_path / "in.parquet")
    run_ok(tmp_path, """
    sources:
      j: {type: file, path: in.json}
      q: {type: file, path: in.parquet}
      t: {type: file, path: in.txt, format: text}
    sinks:
      j_out: {type: file, path: j.jsonl, from: j}
      q_out: {type: file, path: q.jsonl, from: q}
      t_out: {type: file, path: t.jsonl, from: t}
    """, {"in.json": '[{"a": 1, "b": [1.5]}, {"a": 2, "b": []}]', "in.txt": "first line\n\nthird, with comma\n"})
    assert lines(tmp_path / "j.jsonl") == [{"a": 1, "b": [1.5]}, {"a": 2, "b": []}]
    assert lines(tmp_path / "q.jsonl") == [{"k": 1, "s": "x"}, {"k": 2, "s": None}]
    assert lines(tmp_path / "t.jsonl") == [{"line": "first line"}, {"line": ""}, {"line": "third, with comma"}]


def test_nested_struct_list_and_duration_schema(tmp_path):
    run_ok(tmp_path, """
    sources:
      s:
        type: file
        path: in.jsonl
        schema: {u: {name: string, tier: int}, xs: "list<int>", d: duration}
    steps:
      - map: {tier2: u.tier * 2, first: "xs[0]", last: "xs[-1]", longer: d + 5m}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in.jsonl": '{"u": {"name": "a", "tier": 2}, "xs": [4, 5, 6], "d": "PT1M"}\n'})
    [rec] = lines(tmp_path / "out.jsonl")
    assert rec["u"] == {"name": "a", "tier": 2} and rec["xs"] == [4, 5, 6]
    assert (rec["tier2"], rec["first"], rec["last"]) == (4, 4, 6)


def test_inferred_schema_is_frozen_and_a_later_misfit_is_a_record_error(tmp_path):
    rows = "".join(f'{{"n": {i}}}\n' for i in range(5)) + '{"n": "five"}\n{"n": 6}\n'
    run_ok(tmp_path, """
    sources:
      s: {type: file, path: in.jsonl, infer_rows: 3}
    steps:
      - map: {m: n + 1}
    sinks:
      out: {type: file, path: out.jsonl}
      bad: {type: file, path: bad.jsonl, from: s.errors}
    """, {"in.jsonl": rows})
    assert [r["m"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3, 4, 5, 7]
    [bad] = lines(tmp_path / "bad.jsonl")
    assert "five" in json.dumps(bad)


def test_watch_picks_up_new_files_and_sigint_stops_with_130(tmp_path):
    path = write_spec(tmp_path, """
    settings: {batch_timeout: 100ms}
    sources:
      s: {type: file, path: in/*.jsonl, watch: true, schema: {n: int}}
    sinks:
      out: {type: file, path: out.jsonl}
    """, {"in/a.jsonl": '{"n": 1}\n'})
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([*FLOWC, "run", "--quiet", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        _wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 1)
        (tmp_path / "in/b.jsonl.tmp").write_text('{"n": 2}\n{"n": 3}\n')
        (tmp_path / "in/b.jsonl.tmp").rename(tmp_path / "in/b.jsonl")
        _wait_for(lambda: len(out.read_text().splitlines()) >= 3)
        assert proc.poll() is None  # still running: watch keeps going
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [r["n"] for r in lines(out)] == [1, 2, 3]


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_aggregate_without_window_over_an_unbounded_source_is_a_compile_error(tmp_path):
    path = write_spec(tmp_path, """
    sources:
      s: {type: file, path: in/*.jsonl, watch: true, schema: {n: int}}
    steps:
      - aggregate: {compute: {c: count()}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert flowc("validate", str(path)).returncode == 1


# --- §3 inline and generate ------------------------------------------------------------------------------

def test_generate_count_and_fields_over_n(tmp_path):
    run_ok(tmp_path, """
    sources:
      g:
        type: generate
        count: 4
        fields: {id: _n, sq: _n * _n, tag: 'concat("t", to_string(_n))'}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    out = lines(tmp_path / "out.jsonl")
    ns = [r["id"] for r in out]
    assert len(out) == 4 and ns in ([0, 1, 2, 3], [1, 2, 3, 4])
    assert [r["sq"] for r in out] == [n * n for n in ns] and out[0]["tag"] == f"t{ns[0]}"


def test_generate_rate_paces_records(tmp_path):
    started = time.monotonic()
    run_ok(tmp_path, """
    sources:
      g: {type: generate, count: 6, rate: 4, fields: {id: _n}}
    sinks:
      out: {type: file, path: out.jsonl}
    """)
    assert len(lines(tmp_path / "out.jsonl")) == 6
    assert time.monotonic() - started >= 1.0  # 6 records at 4/s take at least 1.25 s


def test_generate_rate_must_be_positive(tmp_path):
    for rate in ("0", "-3", "fast", "4/d"):
        path = write_spec(tmp_path, f"""
        sources:
          g: {{type: generate, count: 6, rate: {rate}, fields: {{id: _n}}}}
        sinks:
          out: {{type: file, path: out.jsonl}}
        """)
        done = flowc("validate", str(path))
        assert done.returncode == 1 and "rate" in done.stdout, rate
