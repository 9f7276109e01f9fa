"""A bounded source is read first with fast conversions (no Python in the query); a value that needs the
exact conversion (a record error, a timestamp outside the common shape) makes the runner read the rest
of the source again the exact way from the last checkpoint: outputs, errors, positions and counts are
those of a run that read everything the exact way."""

from __future__ import annotations

import polars as pl
import pytest
from runner_cases import events, records, run, write_spec

from flowc.compiler.source_types import SLOW_PATH, fast_conversions, slow_path_signal

SPEC = """
settings: {batch_size: 10, on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
sources:
  orders:
    type: file
    path: orders.csv
    schema: {id: int, ts: datetime, amount: float}
steps:
  - filter: amount > 1
sinks:
  out: {type: file, path: out.jsonl}
"""


def _csv(bad: dict[int, str]) -> str:
    lines = ["id,ts,amount"]
    for i in range(60):
        lines.append(bad.get(i, f"{i},2026-01-01T00:00:{i % 60:02d}Z,{i}.5"))
    return "\n".join(lines) + "\n"


BAD = {27: "27,2026-01-01T00:00:27Z,x", 41: "41,2026-01-01T02:00:41+02:00,41.5"}


def test_a_value_needing_the_exact_conversion_switches_the_rest_of_the_source(tmp_path):
    spec = write_spec(tmp_path, SPEC, {"orders.csv": _csv(BAD)})
    assert run(spec, "--quiet").exit_code == 0
    out = records(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == [i for i in range(1, 60) if i != 27]
    assert out[[r["id"] for r in out].index(41)]["ts"] == "2026-01-01T00:00:41.000000Z"  # +02:00 read exactly
    dead = records(tmp_path / "dead.jsonl")
    assert [(d["id"], d["_error"]["message"], d["_source"]["position"]) for d in dead] == [
        (27, "field 'amount': cannot convert 'x' to float", "orders.csv:29")]
    log = events(tmp_path)
    counts = log[-1]["data"]["counts"]
    assert (counts["read"], counts["written"]["out"], counts["dead_lettered"]) == (60, 58, 1)
    committed = [e["data"]["counts"]["read"] for e in log if e["type"] == "batch_committed"]
    assert sum(committed) == 60


def test_the_switch_gives_what_an_exact_run_gives(tmp_path):
    fast = write_spec(tmp_path / "fast", SPEC, {"orders.csv": _csv(BAD)})
    exact = write_spec(tmp_path / "exact", SPEC, {"orders.csv": _csv({**BAD, 0: "0,2026-01-01T00:00:00+00:00,0.5"})})
    assert run(fast, "--quiet").exit_code == 0 and run(exact, "--quiet").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "exact" / name).read_bytes()


@pytest.mark.parametrize("limit", ["15", "35"])
def test_a_limit_across_the_switch_then_a_resume_gives_the_uninterrupted_output(tmp_path, limit):
    whole = write_spec(tmp_path / "whole", SPEC, {"orders.csv": _csv(BAD)})
    parts = write_spec(tmp_path / "parts", SPEC, {"orders.csv": _csv(BAD)})
    assert run(whole, "--quiet").exit_code == 0
    assert run(parts, "--quiet", "--limit", limit).exit_code == 0
    assert events(tmp_path / "parts")[-1]["data"]["reason"] == "--limit reached"
    assert events(tmp_path / "parts")[-1]["data"]["counts"]["read"] == int(limit)
    assert run(parts, "--quiet").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        assert (tmp_path / "parts" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_the_signal_fails_a_query_only_where_its_condition_holds():
    frame = pl.LazyFrame({"a": ["1", "x"]})
    with pytest.raises(pl.exceptions.ComputeError, match=SLOW_PATH):
        frame.select(slow_path_signal(pl.col("a") == "x")).collect()
    assert frame.select(slow_path_signal(pl.col("a") == "y")).collect().to_series().to_list() == [None, None]


def test_fast_conversions_apply_only_inside_the_block():
    from flowc.compiler.source_types import convert
    from flowc.dsl import types as t

    with fast_conversions():
        inside = convert("n", pl.String(), t.INT)
    outside = convert("n", pl.String(), t.INT)
    frame = pl.DataFrame({"n": ["1", "x"]})
    assert frame.select(inside.error).to_series().to_list() == [None, SLOW_PATH]  # the scan fails on it
    assert frame.select(outside.error).to_series().to_list() == [None, "conversion: field 'n': cannot convert 'x' to int"]


CASED = """
settings: {batch_size: 4}
sources:
  people: {type: file, path: people.csv, schema: {id: int, name: string}}
steps:
  - map: {up: upper(name), low: lower(name)}
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_a_code_point_cased_differently_by_polars_switches_to_the_exact_reading(tmp_path):
    # U+019B and U+A7CB: Polars' newer Unicode tables case them, Python 3.11's (the language's) do not
    names = ["ada", "Bob", "\u00dfx", "e\u019b", "f", "\ua7cbG", "h"]
    lines = "".join(f"{i},{name}\n" for i, name in enumerate(names))
    spec = write_spec(tmp_path, CASED, {"people.csv": "id,name\n" + lines})
    assert run(spec, "--quiet").exit_code == 0
    assert [(r["up"], r["low"]) for r in records(tmp_path / "out.jsonl")] == [(n.upper(), n.lower()) for n in names]


def test_a_fast_query_holds_no_python_function_for_upper_and_lower():
    from flowc.compiler.lower_functions import POLARS_FUNCTIONS
    from flowc.compiler.lowered import Lowered
    from flowc.dsl import types as t

    frame = pl.LazyFrame({"s": ["ab", None, "\u00df"]})
    for name in ("upper", "lower"):
        with fast_conversions():
            fast = POLARS_FUNCTIONS[name]((Lowered(pl.col("s")),), (t.STRING,), t.STRING).value
        exact = POLARS_FUNCTIONS[name]((Lowered(pl.col("s")),), (t.STRING,), t.STRING).value
        assert "python_udf" not in frame.select(fast).explain() and "python_udf" in frame.select(exact).explain()
        assert frame.select(fast).collect().equals(frame.select(exact).collect())
        with pytest.raises(pl.exceptions.ComputeError, match=SLOW_PATH):
            pl.LazyFrame({"s": ["a\u019b"]}).select(fast).collect()


JSONL_SPEC = SPEC.replace("path: orders.csv", "path: orders.jsonl")


def _jsonl(bad: dict[int, str]) -> str:
    lines = [bad.get(i, f'{{"id": "{i}", "ts": "2026-01-01T00:00:{i % 60:02d}Z", "amount": "{i}.5"}}') for i in range(60)]
    return "\n".join(lines) + "\n"


JSONL_BAD = {27: '{"id": "27", "ts": "2026-01-01T00:00:27Z", "amount": "x"}',
             41: '{"id": "41", "ts": "2026-01-01T02:00:41+02:00", "amount": "41.5"}',
             9: "", 50: '{"id": "50", "amount": 50.5',  # a blank line holds no record; a broken one is an error
             }


@pytest.mark.parametrize("limit", [None, "15", "35"])
def test_json_lines_read_in_chunks_switch_and_resume_as_an_uninterrupted_run(tmp_path, limit):
    whole = write_spec(tmp_path / "whole", JSONL_SPEC, {"orders.jsonl": _jsonl(JSONL_BAD)})
    parts = write_spec(tmp_path / "parts", JSONL_SPEC, {"orders.jsonl": _jsonl(JSONL_BAD)})
    assert run(whole, "--quiet").exit_code == 0
    out = records(tmp_path / "whole" / "out.jsonl")
    assert [r["id"] for r in out] == [i for i in range(1, 60) if i not in (9, 27, 50)]
    assert out[[r["id"] for r in out].index(41)]["ts"] == "2026-01-01T00:00:41.000000Z"
    dead = records(tmp_path / "whole" / "dead.jsonl")
    assert [(d["id"], d["_error"]["code"], d["_source"]["position"]) for d in dead] == [
        (27, "conversion", "orders.jsonl:28"), (None, "parse", "orders.jsonl:51")]
    assert dead[1]["_error"]["message"].endswith(': {"id": "50", "amount": 50.5')  # the raw text of the line
    counts = events(tmp_path / "whole")[-1]["data"]["counts"]
    # 59 records: the blank line 10 holds none (SPEC §10: `read` counts records, as `--limit` does)
    assert (counts["read"], counts["written"]["out"], counts["dead_lettered"]) == (59, 56, 2)
    if limit:
        assert run(parts, "--quiet", "--limit", limit).exit_code == 0
        # N records, the blank line 10 not among them, whether the limit ends before the switch or after it
        assert events(tmp_path / "parts")[-1]["data"]["counts"]["read"] == int(limit)
    assert run(parts, "--quiet").exit_code == 0
    for name in ("out.jsonl", "dead.jsonl"):
        assert (tmp_path / "parts" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
