"""SPEC §9: a checkpoint resumes with changed sinks. A file sink given a new path starts there empty,
from the resume point on (it was refused); the same path in another form is refused, naming the sink."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from flowc.cli import cli

SPEC = """\
version: 1
pipeline: sc
settings: {batch_size: 5}
sources:
  s: {type: file, path: in.jsonl}
sinks:
  o: {type: file, path: SINK}
"""


def _spec(folder: Path, sink: str) -> Path:
    path = folder / "sc.flow.yaml"
    path.write_text(SPEC.replace("SINK", sink))
    if not (folder / "in.jsonl").exists():
        (folder / "in.jsonl").write_text("".join(f'{{"id": {i}}}\n' for i in range(20)))
    return path


def _ids(path: Path) -> list[int]:
    return [int(line.split(":")[1].rstrip("}")) for line in path.read_text().splitlines()]


def test_a_sink_moved_to_another_path_resumes_there(tmp_path):
    assert CliRunner().invoke(cli, ["run", str(_spec(tmp_path, "out/o.jsonl")), "--quiet", "--limit", "8"]).exit_code == 0
    result = CliRunner().invoke(cli, ["run", str(_spec(tmp_path, "out/o2.jsonl")), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _ids(tmp_path / "out/o.jsonl") == list(range(8))  # left as it was
    assert _ids(tmp_path / "out/o2.jsonl") == list(range(8, 20))


def test_the_same_path_in_another_form_is_refused_naming_the_sink(tmp_path):
    assert CliRunner().invoke(cli, ["run", str(_spec(tmp_path, "out/o.jsonl")), "--quiet", "--limit", "8"]).exit_code == 0
    result = CliRunner().invoke(cli, ["run", str(_spec(tmp_path, "out/o.jsonl, compression: gzip")), "--quiet"])
    assert result.exit_code == 1
    assert (f"sink 'o': {tmp_path / 'out/o.jsonl'} was written as jsonl, and the spec now writes jsonl (gzip): give "
            "the sink another path, or start over with --reset") in result.output
    assert _ids(tmp_path / "out/o.jsonl") == list(range(8))
