"""A console sink whose reader closes the pipe (`flowc run | head`): the run fails at that batch with
a message saying so, the event log records `failed` (rich's own handling exited the process and left
the log saying `running` for tables), and no traceback or interpreter noise reaches stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SPEC = """\
    version: 1
    pipeline: closed
    settings: {{state_dir: {state}, batch_size: 1000}}
    sources:
      s: {{type: generate, count: 200000, fields: {{n: _n}}}}
    sinks:
      out: {{type: console, format: {format}}}
    """


@pytest.mark.parametrize("format_", ["jsonl", "table", "kv", "json"])
def test_a_reader_that_closes_the_pipe_fails_the_run_with_a_clear_reason(tmp_path, format_):
    spec = tmp_path / "closed.flow.yaml"
    spec.write_text(textwrap.dedent(SPEC).format(state=tmp_path / "state", format=format_))
    run = subprocess.Popen([sys.executable, "-m", "flowc", "run", str(spec), "--quiet"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    assert run.stdout is not None and run.stdout.readline()  # something was printed, then `head` goes away
    run.stdout.close()
    _, stderr = run.communicate(timeout=120)
    text = stderr.decode()
    assert run.returncode == 1, text
    assert "console sink 'out': its output was closed (broken pipe)" in text
    assert "Traceback" not in text and "Exception ignored" not in text
    events = [json.loads(line) for line in (tmp_path / "state" / "events.log").read_text().splitlines()]
    assert events[-1]["type"] == "failed"
    assert "its output was closed" in events[-1]["data"]["reason"]
