"""A source field declared `duration` read from text through `flowc run` (SPEC §3): flowc's own literal
(`1m`, `-90s`) and the ISO-8601 text flowc's sinks write (`PT1M`); a number, whose unit cannot be told,
and other text are conversion record errors."""

from __future__ import annotations

from runner_cases import records, run, write_spec

HINT = " (durations are read from text such as '90s' or 'PT1M30S')"


def _spec(tmp_path, source: str, sink: str = "out.jsonl"):
    return write_spec(tmp_path, f"""
        settings: {{on_error: dead_letter, dead_letter: {{type: file, path: dead.jsonl}}}}
        sources:
          s: {source}
        steps:
          - map: {{twice: du * 2}}
        sinks:
          o: {{type: file, path: {sink}}}
        """, files={"d.jsonl": '{"du": "PT1M"}\n{"du": "1m"}\n{"du": "-PT1H30M"}\n{"du": 60}\n{"du": "1 m"}\n',
                    "d.csv": "du\nPT1M\n90s\n60\n"})


def test_jsonl_reads_iso_and_literal_durations_and_rejects_a_number(tmp_path):
    result = run(_spec(tmp_path, "{type: file, path: d.jsonl, schema: {du: duration}}"))
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"du": "PT1M", "twice": "PT2M"}, {"du": "PT1M", "twice": "PT2M"},
                                               {"du": "-PT1H30M", "twice": "-PT3H"}]
    assert [(r["_source"]["position"], r["_error"]["message"]) for r in records(tmp_path / "dead.jsonl")] == [
        ("d.jsonl:4", f"field 'du': cannot convert '60' to duration{HINT}"),
        ("d.jsonl:5", f"field 'du': cannot convert '1 m' to duration{HINT}")]


def test_csv_reads_durations_and_a_bare_number_is_a_record_error(tmp_path):
    result = run(_spec(tmp_path, "{type: file, path: d.csv, schema: {du: duration}}"))
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"du": "PT1M", "twice": "PT2M"}, {"du": "PT1M30S", "twice": "PT3M"}]
    assert [r["_error"]["message"] for r in records(tmp_path / "dead.jsonl")] == [
        f"field 'du': cannot convert '60' to duration{HINT}"]


def test_an_inline_integer_is_not_read_as_microseconds(tmp_path):
    result = run(_spec(tmp_path, "{type: inline, schema: {du: duration}, records: [{du: 60}, {du: 2m}]}"))
    assert result.exit_code == 0, result.output
    assert records(tmp_path / "out.jsonl") == [{"du": "PT2M", "twice": "PT4M"}]
    assert [r["_error"]["code"] for r in records(tmp_path / "dead.jsonl")] == ["conversion"]


def test_what_a_sink_wrote_reads_back_as_the_same_durations(tmp_path):
    first = _spec(tmp_path, "{type: file, path: d.jsonl, schema: {du: duration}}", sink="once.csv")
    assert run(first).exit_code == 0
    again = write_spec(tmp_path, """
        sources:
          s: {type: file, path: once.csv, schema: {du: duration, twice: duration}}
        steps:
          - map: {same: twice == du * 2}
        sinks:
          o: {type: file, path: again.csv}
        """, name="q")
    result = run(again)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again.csv").read_text() == "du,twice,same\nPT1M,PT2M,true\nPT1M,PT2M,true\n-PT1H30M,-PT3H,true\n"
