"""Issue 8: `flowc run` refuses to write outside the directories a spec names when `${...}` values
would lead it there, and never shows the substituted value while refusing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLOWC = [sys.executable, "-m", "flowc"]


def write_spec(folder: Path, sinks: str, settings: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "p.flow.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        pipeline: p
        settings: {{{settings}}}
        sources:
          s: {{type: inline, records: [{{n: 1}}, {{n: 2}}]}}
        sinks:
        """) + textwrap.indent(textwrap.dedent(sinks), "  "))
    return path


def run(spec: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*FLOWC, "run", str(spec), "--quiet"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


@pytest.mark.parametrize("value", ["../../escaped", "../out-sibling", "a/../../escaped"])
def test_a_variable_cannot_lead_a_sink_out_of_its_directory(tmp_path: Path, value: str) -> None:
    spec = write_spec(tmp_path / "spec", "out: {type: file, path: 'out/${NAME}.jsonl'}\n")
    done = run(spec, {"NAME": value})
    assert done.returncode == 1
    assert "sink 'out' path 'out/${NAME}.jsonl' leads outside 'out/'" in done.stderr
    assert value not in done.stderr  # the substituted value is never shown
    assert not list(tmp_path.rglob("*.jsonl"))
    assert not (tmp_path / "spec" / ".flow").exists()  # nothing was started


def test_a_variable_inside_the_named_directory_is_fine(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec", "out: {type: file, path: 'out/${NAME}.jsonl'}\n")
    done = run(spec, {"NAME": "day/2026-11-26"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "spec" / "out" / "day" / "2026-11-26.jsonl").read_text().count("\n") == 2


def test_a_path_written_in_the_spec_may_point_anywhere(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec", f"out: {{type: file, path: '../elsewhere/x.jsonl'}}\n"
                                         f"abs: {{type: file, path: '{tmp_path}/abs/y.jsonl'}}\n")
    done = run(spec, {})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere" / "x.jsonl").exists() and (tmp_path / "abs" / "y.jsonl").exists()


def test_a_whole_path_from_a_variable_stays_beside_the_spec(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec", "out: {type: file, path: '${OUT}'}\n")
    assert run(spec, {"OUT": "results/x.jsonl"}).returncode == 0
    done = run(spec, {"OUT": str(tmp_path / "abs.jsonl")})
    assert done.returncode == 1 and "sink 'out' path '${OUT}' leads outside ''" in done.stderr
    assert str(tmp_path) not in done.stderr


def test_dead_letter_and_state_dir_are_confined_too(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec", "out: {type: file, path: out.jsonl}\n",
                      settings="state_dir: 'state/${RUN}', on_error: dead_letter, "
                               "dead_letter: {type: file, path: 'dead/${RUN}.jsonl'}")
    done = run(spec, {"RUN": "../../x"})
    assert done.returncode == 1
    assert "sink 'dead_letter' path 'dead/${RUN}.jsonl' leads outside 'dead/'" in done.stderr
    assert "settings.state_dir 'state/${RUN}' leads outside 'state/'" in done.stderr


def test_a_symlink_cannot_smuggle_a_write_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    spec = write_spec(tmp_path / "spec", "out: {type: file, path: 'out/${NAME}/x.jsonl'}\n")
    (tmp_path / "spec" / "out").mkdir()
    (tmp_path / "spec" / "out" / "link").symlink_to(outside)
    done = run(spec, {"NAME": "link"})
    assert done.returncode == 1 and "leads outside 'out/'" in done.stderr
    assert not list(outside.iterdir())
