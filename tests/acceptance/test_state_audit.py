"""Acceptance audit of SPEC §1 (substitution), §7 file sinks, §9 (state, resume) and §10 (the command),
through the real `flowc` command: combinations and edges the other acceptance tests leave out."""

from __future__ import annotations

import json
import shutil
import subprocess

from acceptance_cli import FLOWC, flowc, lines
from acceptance_cli import write_spec as spec


def with_env(**values: str) -> dict[str, str]:
    import os

    return {**os.environ, **values}


# --- SPEC §1: ${VAR} substitution in messages -------------------------------------------------------


def test_a_short_substituted_value_does_not_garble_the_names_in_a_message(tmp_path):
    """`${E:-e}` inserts 'e': the error about batch_size must still say 'batch_size', not
    'batch_siz${E:-e}' (messages put references back only where the value is)."""
    path = spec(tmp_path, """
        settings:
          batch_size: ${BS:-2}
        sources:
          s: {type: inline, records: [{t: "${E:-e}"}]}
        steps:
          - filter: t != "x"
          - map: {u: nosuch}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path), env=with_env(BS="abc"))
    assert done.returncode == 1
    assert "'batch_size' in settings must be an integer" in done.stderr, done.stderr
    assert "${E:-e}" not in done.stderr
    checked = flowc("validate", str(path), env=with_env(BS="2"))
    assert checked.returncode == 1
    assert "unknown field 'nosuch' in map" in checked.stdout + checked.stderr


def test_already_completed_in_json_is_an_event_with_a_message(tmp_path):
    path = spec(tmp_path, """
        sources:
          s: {type: inline, records: [{n: 1}]}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet").returncode == 0
    again = flowc("run", str(path), "--log-format", "json")
    assert again.returncode == 0
    logged = [json.loads(x) for x in again.stderr.splitlines()]
    last = logged[-1]
    assert last["event"] == "already completed" and "--reset" in last["message"]


# --- SPEC §9: the event log ---------------------------------------------------------------------------

THREE = """
settings: {batch_size: 2}
sources:
  s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}]}
sinks:
  out: {type: file, path: out.jsonl}
"""


def test_events_text_shows_the_compiled_sinks_by_file_name(tmp_path):
    path = spec(tmp_path, THREE)
    assert flowc("run", str(path), "--quiet").returncode == 0
    shown = flowc("events", str(path), "--format", "text")
    assert shown.returncode == 0
    compiled = next(x for x in shown.stdout.splitlines() if " compiled " in x)
    assert "sinks=out:out.jsonl" in compiled, compiled
    saved = [x for x in shown.stdout.splitlines() if " checkpoint_saved " in x]
    assert "sinks=out:3" in saved[-1], saved[-1]


def test_a_corrupt_log_refuses_even_reset_and_says_how_to_start_over(tmp_path):
    path = spec(tmp_path, THREE)
    assert flowc("run", str(path), "--quiet", "--limit", "2").returncode == 0
    log_file = tmp_path / ".flow/p/events.log"
    kept = log_file.read_text().splitlines(keepends=True)
    kept[2] = kept[2].replace('"read":2', '"read":3')
    log_file.write_text("".join(kept))
    for args in (["--reset"],):
        refused = flowc("run", str(path), *args)
        assert refused.returncode == 1
        assert "events.log:3" in refused.stderr and "state directory" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2]  # nothing removed, nothing written
    listed = flowc("events", str(path))  # names the line as status and run do
    assert listed.returncode == 1 and "events.log:3: corrupt event log" in listed.stderr, listed.stderr
    shutil.move(str(tmp_path / ".flow"), str(tmp_path / "old-state"))
    assert flowc("run", str(path), "--quiet").returncode == 0
    assert [r["n"] for r in lines(tmp_path / "out.jsonl")] == [1, 2, 3]


def test_state_commands_work_on_a_spec_with_errors_outside_pipeline_and_state_dir(tmp_path):
    """`flowc status` from a shell without the run's `${MIN}` (or with a step being edited) still finds
    the state directory: it depends on `pipeline` and `settings.state_dir` alone."""
    path = spec(tmp_path, """
        settings: {state_dir: st}
        sources:
          s: {type: inline, records: [{n: 1}, {n: 2}]}
        steps:
          - filter: n > ${MIN}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet", env=with_env(MIN="1")).returncode == 0
    shown = flowc("status", str(path), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["status"] == "completed"
    assert "MIN" not in shown.stdout and "1 error" in shown.stderr
    listed = flowc("events", str(path))
    assert listed.returncode == 0 and listed.stdout == (tmp_path / "st/events.log").read_text()
    path.write_text(path.read_text().replace("state_dir: st", "state_dir: ${STATE}"))
    unknown = flowc("status", str(path))
    assert unknown.returncode == 1 and "STATE" in unknown.stderr and "state directory is unknown" in unknown.stderr


def test_a_state_dir_under_a_file_is_an_error_with_the_reason_not_a_traceback(tmp_path):
    path = spec(tmp_path, THREE.replace("{batch_size: 2}", "{batch_size: 2, state_dir: afile/st}"))
    (tmp_path / "afile").write_text("not a folder")
    for args in (["run"], ["status"], ["events"], ["pause"]):
        done = flowc(*args, str(path))
        assert done.returncode == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr and "Errno" not in done.stderr, (args, done.stderr)
        assert "Not a directory" in done.stderr and "afile" in done.stderr, (args, done.stderr)
    assert not (tmp_path / "out.jsonl").exists()


def test_an_output_removed_between_runs_refuses_the_resume_and_says_what_to_do(tmp_path):
    path = spec(tmp_path, """
        settings: {batch_size: 2}
        sources:
          s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}, {n: 4}, {n: 5}]}
        sinks:
          a: {type: file, path: a.jsonl}
          c: {type: file, path: c.csv, rotate: {max_records: 1}}
        """)
    assert flowc("run", str(path), "--quiet", "--limit", "3").returncode == 0
    (tmp_path / "a.jsonl").unlink()
    refused = flowc("run", str(path))
    assert refused.returncode == 1
    assert "a.jsonl is missing" in refused.stderr and "--reset" in refused.stderr, refused.stderr
    assert not (tmp_path / "a.jsonl").exists()  # nothing written by the refused run
    assert flowc("run", str(path), "--quiet", "--reset").returncode == 0
    (tmp_path / "c.000001.csv").unlink()
    assert flowc("run", str(path), "--quiet").returncode == 0  # completed: nothing to restore
    assert [r["n"] for r in lines(tmp_path / "a.jsonl")] == [1, 2, 3, 4, 5]


def test_a_refused_resume_names_the_source_that_changed(tmp_path):
    path = spec(tmp_path, """
        settings: {batch_size: 2}
        sources:
          s: {type: inline, records: [{n: 1}, {n: 2}, {n: 3}]}
          t: {type: inline, records: [{n: 10}]}
        steps:
          - union: [s, t]
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet", "--limit", "1").returncode == 0
    path.write_text(path.read_text().replace("{n: 3}", "{n: 4}"))
    refused = flowc("run", str(path))
    assert refused.returncode == 1
    assert "source 's' changed" in refused.stderr and "--reset" in refused.stderr, refused.stderr
    assert "'t'" not in refused.stderr


def test_run_shows_the_warnings_validate_would_give_and_still_runs(tmp_path):
    """SPEC §2: a dangling step is a warning with --strict off; a run must not hide it."""
    path = spec(tmp_path, """
        sources:
          s: {type: inline, records: [{n: 1}]}
        steps:
          - name: a
            filter: n > 0
          - name: dangling
            from: s
            map: {m: n + 1}
        sinks:
          out: {type: file, path: out.jsonl, from: a}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 0
    assert "warning" in done.stderr and "dangling" in done.stderr, done.stderr
    assert lines(tmp_path / "out.jsonl") == [{"n": 1}]
    again = flowc("run", str(path), "--reset", "--log-format", "json")
    logged = [json.loads(x) for x in again.stderr.splitlines()]
    assert any(x["event"] == "diagnostic" and x["severity"] == "warning" for x in logged)
    assert logged[-1]["event"] == "summary"


def test_the_run_itself_says_when_it_pauses_and_goes_on(tmp_path):
    import signal
    import time

    path = spec(tmp_path, """
        settings: {batch_size: 20, batch_timeout: 50ms}
        sources:
          s: {type: generate, count: 1000000, rate: 400, fields: {n: _n}}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    err = (tmp_path / "err.txt").open("w")
    process = subprocess.Popen([*FLOWC, "run", str(path), "--log-format", "json"], stdout=subprocess.DEVNULL,
                               stderr=err, text=True)
    try:
        log = tmp_path / ".flow/p/events.log"
        deadline = time.monotonic() + 30
        while not (log.exists() and '"batch_committed"' in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert flowc("pause", str(path), "--wait", "--timeout", "20").returncode == 0
        assert flowc("resume", str(path), "--wait", "--timeout", "20").returncode == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        err.close()
    events = [json.loads(x)["event"] for x in (tmp_path / "err.txt").read_text().splitlines()]
    assert events.index("paused") < events.index("resumed") < events.index("summary"), events


def test_set_reads_its_value_as_after_a_key_in_the_file_spaces_dropped(tmp_path):
    path = spec(tmp_path, THREE)
    done = flowc("run", str(path), "--quiet", "--set", "settings.batch_size= 1 ", "--set", "sinks.out.path= o.jsonl")
    assert done.returncode == 0, done.stderr
    assert [r["n"] for r in lines(tmp_path / "o.jsonl")] == [1, 2, 3]
    assert [e["type"] for e in lines(tmp_path / ".flow/p/events.log")].count("batch_committed") == 3


def test_status_says_why_a_run_stopped(tmp_path):
    path = spec(tmp_path, THREE)
    assert flowc("run", str(path), "--quiet", "--limit", "1").returncode == 0
    shown = flowc("status", str(path), "--format", "json")
    view = json.loads(shown.stdout)
    assert view["status"] == "stopped" and view["reason"] == "--limit reached", view


def test_state_commands_take_the_set_overrides_the_run_was_given(tmp_path):
    path = spec(tmp_path, THREE)
    assert flowc("run", str(path), "--quiet", "--set", "settings.state_dir=elsewhere").returncode == 0
    shown = flowc("status", str(path), "--format", "json", "--set", "settings.state_dir=elsewhere")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["status"] == "completed" and view["state_dir"] == str(tmp_path / "elsewhere")
    listed = flowc("events", str(path), "--set", "settings.state_dir=elsewhere")
    assert listed.stdout == (tmp_path / "elsewhere/events.log").read_text()


def test_a_copied_spec_under_a_new_pipeline_name_does_not_take_over_the_state_dir(tmp_path):
    """`cp orders.flow.yaml orders-v2.flow.yaml`, a new `pipeline:` name, the explicit state_dir kept:
    the copy must not resume (or find completed) the other pipeline's run and write half its output."""
    first = spec(tmp_path, THREE.replace("{batch_size: 2}", "{batch_size: 2, state_dir: st}"), name="a.flow.yaml")
    second = tmp_path / "b.flow.yaml"
    second.write_text(first.read_text().replace("pipeline: p", "pipeline: p-v2").replace("out.jsonl", "v2.jsonl"))
    assert flowc("run", str(first), "--quiet").returncode == 0
    refused = flowc("run", str(second))
    assert refused.returncode == 1
    assert "'p'" in refused.stderr and "'p-v2'" in refused.stderr and "state_dir" in refused.stderr
    assert not (tmp_path / "v2.jsonl").exists()
    shown = json.loads(flowc("status", str(second), "--format", "json").stdout)
    assert shown["history_of"] == "p" and "'p'" in shown["description"]  # not silently v2's "completed"
    assert flowc("run", str(second), "--quiet", "--reset").returncode == 0  # taken over on purpose
    assert [r["n"] for r in lines(tmp_path / "v2.jsonl")] == [1, 2, 3]


def test_an_unquoted_reference_in_a_flow_mapping_gets_a_help_that_says_what_to_do(tmp_path):
    path = spec(tmp_path, """
        settings: {batch_size: ${BS:-2}}
        sources:
          s: {type: inline, records: [{n: 1}]}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    done = flowc("run", str(path))
    assert done.returncode == 1 and "E002" in done.stderr
    assert "help:" in done.stderr and "block style" in done.stderr, done.stderr


def test_a_resume_may_change_how_fast_a_source_is_read_but_not_what_it_reads(tmp_path):
    """SPEC §9 asks for the same sources; a generate source's `rate` changes when records come, not
    which (an audit found a resume with another rate refused). Its `count` is what it reads."""
    path = spec(tmp_path, """
        settings: {batch_size: 5}
        sources:
          s: {type: generate, count: 20, rate: 10000, fields: {x: _n * 2}}
        sinks:
          out: {type: file, path: out.jsonl}
        """)
    assert flowc("run", str(path), "--quiet", "--limit", "5").returncode == 0
    path.write_text(path.read_text().replace("rate: 10000", "rate: 20000"))
    assert flowc("run", str(path), "--quiet", "--limit", "5").returncode == 0
    path.write_text(path.read_text().replace("count: 20", "count: 30"))
    refused = flowc("run", str(path))
    assert refused.returncode == 1 and "source 's' changed" in refused.stderr, refused.stderr
    path.write_text(path.read_text().replace("count: 30", "count: 20"))
    assert flowc("run", str(path), "--quiet").returncode == 0
    assert [r["x"] for r in lines(tmp_path / "out.jsonl")] == [2 * n for n in range(20)]
