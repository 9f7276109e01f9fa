"""`docs/editors.md` tells the truth: its examples are valid, its paths and globs point where they say."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path

import yaml

from flowc.compiler.structure import check_structure
from flowc.dsl import codes
from flowc.dsl.loader import load_text
from flowc.schemas import load_schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def test_the_yaml_example_carries_a_modeline_and_passes_the_structural_check() -> None:
    [example] = blocks("yaml")
    assert MODELINE.match(example), "the example starts with the yaml-language-server modeline"
    doc, problems = load_text(example, "example.flow.yaml", env={})
    assert doc is not None and problems == []
    assert check_structure(doc) == []


def test_a_modeline_is_only_a_comment_to_flowc() -> None:
    example = blocks("yaml")[0]
    without = MODELINE.sub("", example)
    assert yaml.safe_load(without) == yaml.safe_load(example)


def test_the_vscode_settings_map_the_shipped_schema_to_flow_yaml_files() -> None:
    [settings] = [json.loads(block) for block in blocks("json")]
    [(schema_path, globs)] = settings["yaml.schemas"].items()
    assert (ROOT / schema_path).resolve() == ROOT / "schemas" / "flow.schema.json"
    for name in ("orders.flow.yaml", "pipelines/team/orders.flow.yaml"):
        assert any(fnmatch(name, glob) for glob in globs), name
    assert not any(fnmatch("docker-compose.yaml", glob) for glob in globs)


def test_the_modeline_of_the_every_key_fixture_reaches_the_schema() -> None:
    fixture = ROOT / "tests" / "compiler" / "fixtures" / "every_key.flow.yaml"
    [target] = MODELINE.findall(fixture.read_text())
    assert (fixture.parent / target).resolve() == ROOT / "schemas" / "flow.schema.json"


def test_the_shipped_package_data_is_the_file_the_doc_names() -> None:
    on_disk = (ROOT / "schemas" / "flow.schema.json").read_text(encoding="utf-8")
    assert schema_text() == on_disk
    assert json.loads(on_disk) == load_schema()


def test_the_doc_names_the_command_and_the_codes_the_schema_check_uses() -> None:
    assert "$ flowc schema > flow.schema.json" in DOC
    structure_codes = sorted(code for code in codes.CODES if code.startswith("E4"))
    assert f"{structure_codes[0]}-{structure_codes[-1]}" in DOC
