"""flowc.schemas: the JSON Schema of the `.flow.yaml` language (`flow.schema.json`), shipped as package data.

Editors read the file directly (see `docs/editors.md`); `flowc schema` prints it; the structural check
(`flowc.compiler.structure`) validates every spec with it.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "flow.schema.json"


def schema_text() -> str:
    """The schema exactly as shipped (what `flowc schema` prints)."""
    return files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    """The schema as a dict, freshly parsed: a caller that edits it affects no one else."""
    return json.loads(schema_text())


# `${NAME}` / `${NAME:-default}` (SPEC §1). A scalar that is entirely one reference is read again as a
# YAML scalar after substitution, so it may stand for an int, a bool, a duration or an enum value;
# inside longer text it stays text, so only a string field may hold one there.
_NAME = r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"
REFERENCES = {
    "env_reference": {
        "description": "`${NAME}` or `${NAME:-default}`: replaced from the environment before validation, "
                       "then read as a YAML scalar (so it may give a number, a bool or a duration).",
        "type": "string",
        "pattern": f"^{_NAME}$",
    },
    "env_text": {
        "description": "Text with `${NAME}` or `${NAME:-default}` in it: replaced from the environment before "
                       "validation; the result must fit the field.",
        "type": "string",
        "pattern": _NAME,
    },
}
_SUBSCHEMAS = ("additionalProperties", "items", "not", "if", "then", "else", "contains")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs")
_ANNOTATIONS = ("description", "markdownDescription", "examples", "default", "title")


def editor_schema() -> dict[str, Any]:
    """The schema of a spec as written, before `${...}` substitution (what `flowc schema` prints, for
    editors and CI): every value the shipped schema constrains beyond "any string" (a number, a bool,
    an enum, a pattern) also admits a `${...}` reference, so that `batch_size: ${BS:-5000}` (SPEC §1's
    own example) is valid. A source's, sink's or window's `type` does not: it chooses the branch of a
    `oneOf`, which a reference would match whole. `flowc validate` checks the values after
    substitution against the shipped schema itself."""
    schema = _referable(load_schema())
    schema["$defs"].update(REFERENCES)
    return schema


def _referable(node: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    node = dict(node)
    for key in _SUBSCHEMAS:
        if isinstance(node.get(key), dict):
            node[key] = _referable(node[key])
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [_referable(item) for item in node[key]]
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {n: _referable(sub, n if key == "properties" else None) for n, sub in node[key].items()}
    reference = _reference_for(node)
    if reference is None or name == "type":
        return node
    notes = {k: node.pop(k) for k in _ANNOTATIONS if k in node}
    return {**notes, "anyOf": [node, {"$ref": f"#/$defs/{reference}"}]}


def _reference_for(node: dict[str, Any]) -> str | None:
    """Which reference a scalar schema admits: None when it already takes any string (or is no scalar)."""
    types = node.get("type")
    types = [types] if isinstance(types, str) else types or []
    constrained = any(k in node for k in ("enum", "const", "pattern"))
    scalar = constrained or any(t in ("integer", "number", "boolean") for t in types)
    if not scalar or (not constrained and ("string" in types or "object" in types)):
        return None
    return "env_text" if "string" in types or "enum" in node or "const" in node else "env_reference"
