"""The sources hash in the `compiled` event decides whether a checkpoint can resume; it must not
depend on (or reveal) what a `${...}` inserted, and must change when a source's meaning does."""

from __future__ import annotations

from flowc.compiler.normalize import normalize_spec
from flowc.dsl.loader import load_text
from flowc.runtime.run_setup import sources_hash

SPEC = """version: 1
pipeline: p
sources:
  api:
    type: http
    url: "http://127.0.0.1:1/{path}?key=${{KEY}}"
    headers: {{Authorization: "Bearer ${{TOKEN}}"}}
    records: data
    options: {{password: "${{TOKEN}}"}}
sinks:
  o: {{type: console}}
"""


def hashed(env: dict[str, str], path: str = "items") -> str:
    doc, problems = load_text(SPEC.format(path=path), "p.flow.yaml", env=env)
    assert doc is not None, problems
    spec, _ = normalize_spec(doc)
    return sources_hash(spec)


def test_substituted_secrets_take_no_part() -> None:
    assert hashed({"KEY": "k1", "TOKEN": "short"}) == hashed({"KEY": "another", "TOKEN": "other"})


def test_what_a_source_reads_does() -> None:
    assert hashed({"KEY": "k", "TOKEN": "t"}, "items") != hashed({"KEY": "k", "TOKEN": "t"}, "orders")
