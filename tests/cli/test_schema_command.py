"""`flowc schema` prints the schema of a spec as written (audit 4 F6b): a `${...}` reference may stand
where a number, a bool, an enum value or a pattern is wanted (SPEC §1's own `batch_size: ${BS:-5000}`
was rejected), while what is wrong with or without references still is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from flowc.cli import cli
from flowc.schemas import load_schema

ROOT = Path(__file__).resolve().parents[2]


class Yaml12(yaml.SafeLoader):
    """YAML 1.2 booleans, as flowc and the YAML language server read them (`on:` stays a key)."""


Yaml12.yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
                                  for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                             list("tTfF"))

SPEC = """\
version: 1
pipeline: orders-${ENV:-dev}
settings:
  batch_size: ${BS:-5000}
  batch_timeout: ${TIMEOUT:-1s}
  on_error: ${ON_ERROR:-dead_letter}
  dead_letter: {type: file, path: out/dead.jsonl}
sources:
  orders:
    type: file
    path: ${DATA:-data}/*.csv
    watch: ${WATCH:-false}
    options:
      header: ${HEADER}
    event_time:
      field: ts
      max_out_of_orderness: ${OOO:-30s}
  ticks:
    type: generate
    count: ${N}
    rate: ${RATE:-10/s}
    fields: {n: _n}
steps:
  - aggregate:
      by: [country]
      window:
        type: tumbling
        size: ${SIZE:-1m}
      compute: {orders: count()}
sinks:
  report:
    type: file
    path: out/r.jsonl
    rotate:
      max_bytes: ${MAX:-100MB}
      max_records: ${RECORDS}
"""


@pytest.fixture(scope="module")
def printed() -> Draft202012Validator:
    done = subprocess.run([sys.executable, "-m", "flowc", "schema"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problems(validator: Draft202012Validator, text: str) -> list[str]:
    return [e.message for e in validator.iter_errors(yaml.load(text, Loader=Yaml12))]


def test_references_stand_for_numbers_bools_enums_and_patterns(printed):
    assert problems(printed, SPEC) == []
    assert problems(Draft202012Validator(load_schema()), SPEC) != []  # the values after substitution


@pytest.mark.parametrize("old, new", [
    ("batch_size: ${BS:-5000}", "batch_size: abc"),
    ("batch_size: ${BS:-5000}", "batch_size: 5${BS}"),  # inside text a reference stays text: not an int
    ("on_error: ${ON_ERROR:-dead_letter}", "on_error: sometimes"),
    ("watch: ${WATCH:-false}", "watch: maybe"),
    ("batch_timeout: ${TIMEOUT:-1s}", "batch_timeout: ${TIMEOUT"),
    ("type: generate", "type: ${KIND}"),  # a source's type chooses its keys: no reference
    ("path: out/r.jsonl", "pth: out/r.jsonl"),
])
def test_what_is_wrong_still_is(printed, old, new):
    assert old in SPEC
    assert problems(printed, SPEC.replace(old, new)) != []


def test_every_example_and_the_every_key_fixture_stay_valid(printed):
    specs = [*sorted((ROOT / "examples").glob("*.flow.yaml")), ROOT / "tests/compiler/fixtures/every_key.flow.yaml"]
    assert len(specs) > 3
    for path in specs:
        assert problems(printed, path.read_text()) == [], path.name


SMALL = """\
version: 1
pipeline: p
settings:
  on_error: dead_letter
  dead_letter: {type: file, path: dead.jsonl%s}
sources:
  a: {type: inline, records: [{n: 1}]}
  b: {type: inline, records: [{n: 2}]}
steps:
  - name: both
    union: [a, b]%s
sinks:
  out: {type: file, path: out.jsonl}
"""


@pytest.mark.parametrize(("dead_letter", "step", "code"), [(", from: a", "", "E401"), ("", "\n    from: a", "E412")],
                         ids=["from-in-dead-letter", "from-beside-union"])
def test_a_from_that_validate_refuses_the_schema_refuses(printed, tmp_path, dead_letter, step, code):
    """A `from:` in settings.dead_letter (the dead-letter sink reads every side output nothing else reads)
    and a `from:` beside `union:` (a union reads the inputs it lists) are errors for `flowc validate`;
    the schema for editors accepted both."""
    assert problems(printed, SMALL % ("", "")) == []
    spec = tmp_path / "p.flow.yaml"
    spec.write_text(SMALL % (dead_letter, step))
    checked = CliRunner().invoke(cli, ["validate", str(spec)])
    assert checked.exit_code == 1 and f"error[{code}]" in checked.output
    assert problems(printed, spec.read_text()) != []
