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
