"""Acceptance audit of SPEC §2 (the graph), §6 (errors in data) and §8 (tests in the spec), through the
`flowc` command on real files: the combinations and edges the other acceptance files leave out."""

from __future__ import annotations

from pathlib import Path

from acceptance_cli import flowc, lines, write_spec


def events(folder: Path) -> list[dict]:
    return lines(folder / ".flow/p/events.log")


def positions(folder: Path) -> dict:
    """The sink positions of the last checkpoint."""
    return [e for e in events(folder) if e["type"] == "checkpoint_saved"][-1]["data"]["sinks"]


# --- §2 / §6: the dead-letter sink is a sink of its own -------------------------------------------------

def test_a_sink_named_dead_letter_beside_the_dead_letter_sink_is_a_duplicate_name(tmp_path):
    # Both would be the sink 'dead_letter' in the counts and the checkpoint: the user's sink lost its
    # position there (so a resume or --reset would not know its file), and 'written' merged the two.
    path = write_spec(tmp_path, """
        settings: {on_error: dead_letter, dead_letter: {type: file, path: dead.jsonl}}
        sources:
          s: {type: inline, records: [{v: "1"}, {v: "x"}]}
        steps:
          - map: {n: to_int(v)}
        sinks:
          out: {type: file, path: out.jsonl}
          dead_letter: {type: file, path: mine.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}:11:3: error[E102]: duplicate name 'dead_letter' (also used on line 4)" in checked.stdout
    ran = flowc("run", str(path))
    assert ran.returncode == 1 and not (tmp_path / "mine.jsonl").exists()


def test_a_sink_named_dead_letter_without_a_dead_letter_sink_is_an_ordinary_sink(tmp_path):
    path = write_spec(tmp_path, """
        sources:
          s: {type: inline, records: [{v: 1}]}
        sinks:
          dead_letter: {type: file, path: mine.jsonl}
        """)
    ran = flowc("run", str(path))
    assert ran.returncode == 0, ran.stderr
    assert lines(tmp_path / "mine.jsonl") == [{"v": 1}]
    assert positions(tmp_path)["dead_letter"]["records"] == 1


def test_from_in_the_dead_letter_sink_is_an_unknown_key_not_silently_ignored(tmp_path):
    # The dead-letter sink reads every side output nothing else reads; a `from:` there was dropped
    # without a word, so a user who meant it to read one output got something else.
    path = write_spec(tmp_path, """
        settings:
          on_error: skip
          dead_letter: {type: file, path: dead.jsonl, from: s}
        sources:
          s: {type: inline, records: [{v: 1}]}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}:6:47: error[E401]: unknown key 'from' in settings.dead_letter" in checked.stdout


# --- §6: `_source` of records that passed a row-wise `sql` step -------------------------------------------

SQL_THEN_VALIDATE = """
    settings: {batch_size: 2, on_error: %s, dead_letter: {type: file, path: dead.jsonl}}
    sources:
      s: {type: file, path: in.csv, schema: {id: int, tag: string}}
    steps:
      - sql: SELECT id * 2 AS d, upper(tag) AS tag FROM input WHERE id > 1 AND EXTRACT(YEAR FROM DATE '2026-01-01') > 2000
      - name: check
        validate: {small: d < 7}
    sinks:
      out: {type: file, path: out.jsonl}
    """


def test_a_record_that_passed_a_sql_step_keeps_its_source_position(tmp_path):
    # The position of a record error after a `sql` step was null (a row-wise query keeps each record
    # it does not filter out, so its position is known), and `fail` could not say where the record was.
    path = write_spec(tmp_path, SQL_THEN_VALIDATE % "dead_letter",
                      {"in.csv": "id,tag\n1,a\n2,b\n3,c\n4,d\n5,e\n"})
    done = flowc("run", str(path))
    assert done.returncode == 0, done.stderr
    assert lines(tmp_path / "out.jsonl") == [{"d": 4, "tag": "B"}, {"d": 6, "tag": "C"}]
    dead = lines(tmp_path / "dead.jsonl")
    assert [(r["d"], r["_error"]["step"], r["_source"]) for r in dead] == [
        (8, "check", {"name": "s", "position": "in.csv:5"}), (10, "check", {"name": "s", "position": "in.csv:6"})]
    path = write_spec(tmp_path, SQL_THEN_VALIDATE % "fail")
    failed = flowc("run", str(path), "--reset")
    assert failed.returncode == 1
    assert "step 'check' failed on the record at s in.csv:5: validate: failed rules: small" in failed.stderr


# --- §2: a union reads the inputs it lists ----------------------------------------------------------------

def test_from_beside_union_is_an_error_not_silently_ignored(tmp_path):
    # `from: c` beside `union: [a, b]` was dropped: the user who meant c to be one of the inputs lost its records.
    path = write_spec(tmp_path, """
        sources:
          a: {type: inline, records: [{n: 1}]}
          b: {type: inline, records: [{n: 2}]}
          c: {type: inline, records: [{n: 3}]}
        steps:
          - name: all
            from: c
            union: [a, b]
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    checked = flowc("validate", str(path))
    assert checked.returncode == 1
    assert f"{path}:10:5: error[E412]: step 1 ('all') gives 'union' and 'from'; keep only one" in checked.stdout
    assert flowc("run", str(path)).returncode == 1 and not (tmp_path / "out.jsonl").exists()
