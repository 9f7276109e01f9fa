"""The structural check: a loaded spec against the language's JSON Schema (`flowc.schemas`), E4xx.

jsonschema finds the problems; this module words them. Raw jsonschema text never reaches a user: each
error becomes one diagnostic at the key or value it is about, saying where in the spec's own terms
(`source 'orders'`, `step 2 ('per_minute')`). A `oneOf` over source, sink, pagination or window types
is dispatched on `type` first and the chosen branch validated alone, so a misspelled key inside a
`file` source reads "unknown key 'pth' in source 'orders'; did you mean 'path'?" rather than "is not
valid under any of the given schemas". The wording helpers live in `flowc.compiler.structure_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from flowc.compiler.structure_text import (
    AT_LEAST,
    EXCLUDED_KEYS_HELP,
    PATTERN_HINTS,
    container,
    json_types,
    quoted_list,
    shown,
    value_at,
    where,
)
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.source import Document, Path
from flowc.dsl.yaml_core import resolve_plain
from flowc.schemas import load_schema

# SPEC §7's extensions, and `.ndjson` as `flowc.compiler.normalize_io.file_format` reads it too.
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet",
            ".txt": "text"}

# $defs whose errors have a code of their own: (code for a bad scalar, expected-phrase for E403).
_SPECIAL = {
    "duration": ("E405", "a duration"),
    "size": ("E406", "a size"),
    "field_type": ("E409", "a type name or a mapping of fields"),
    "name": ("E410", "a name"),
    "pipeline_name": ("E410", "a name"),
    "version": ("E408", "1"),
}


def named(path: Path) -> str:
    """What a name at `path` names: `pipeline: X`, `sources: {X: ..}`, `steps: [{name: X}]`, ..."""
    kinds = {"pipeline": "pipeline name", "sources": "source name", "steps": "step name", "sinks": "sink name"}
    return kinds.get(str(path[0]), "name") if path else "name"


def infer_format(path: str) -> str | None:
    """The file format a path's extension names (SPEC §7), or None when it names none.

    >>> infer_format("data/orders/*.csv"), infer_format("out/x.jsonl.gz"), infer_format("in/*.log")
    ('csv', 'jsonl', None)
    """
    name = path.lower().removesuffix(".gz")
    return next((fmt for ext, fmt in _FORMATS.items() if name.endswith(ext)), None)


def check_structure(doc: Document) -> list[Diagnostic]:
    """Every way `doc.data` departs from the schema, one diagnostic per mistake, in file order.

    A value that is one whole `${...}`, read again as a number or bool (SPEC §1), becomes its text again
    where the schema wants text (`path: ${OUT}` with OUT=123, `group_id: "${GID}"`), and the document
    is checked once more with it: the variable's text is what such a key means."""
    checker = _Checker(doc, _validator())
    walked = list(checker.walk(checker.validator.schema, doc.data, ()))
    if checker.made_text:
        checker = _Checker(doc, _validator())
        walked = list(checker.walk(checker.validator.schema, doc.data, ()))
    found = {(d.code, d.span, d.message): d for d in (*walked, *_empty_targets(doc))}
    return sorted(found.values(), key=lambda d: (*d.sort_key(), d.message))


def _empty_targets(doc: Document) -> Iterator[Diagnostic]:
    """E413 for a `map` or `select` target with an empty name in it (`""`, `a..b`, `a.`): JSON Schema
    cannot say that of a key's dot-separated parts, and `rename` rejects an empty new name alike."""
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    for i, step in enumerate(steps if isinstance(steps, list) else ()):
        for operator in ("map", "select"):
            targets = step.get(operator) if isinstance(step, dict) else None
            for key in targets if isinstance(targets, dict) else ():
                if isinstance(key, str) and "" in key.split("."):
                    at = where(doc, ("steps", i, operator))
                    what = f"a target of {at}" if key == "" else f"each name in the target '{key}' of {at}"
                    yield codes.diagnostic("E413", doc.key_span(("steps", i, operator, key)), where=what)


_WHOLE_REFERENCE = re.compile(r"\$\{[^${}]*\}")  # a scalar that is one `${NAME}` or `${NAME:-default}`

# JSON Schema counts 2.0 as an integer, but the run takes a count as a Python int: `max_records: 2.0`
# passed validation and then failed the run. An integer here is an int (a YAML `2`), never a float.
_INT_ONLY = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
_IntOnlyValidator = validators.extend(Draft202012Validator, type_checker=_INT_ONLY)


@cache
def _validator() -> Draft202012Validator:
    # without `$schema`, `evolve` keeps this class instead of picking the stock 2020-12 validator
    schema = {key: value for key, value in load_schema().items() if key != "$schema"}
    return _IntOnlyValidator(schema)


class _Checker:
    def __init__(self, doc: Document, validator: Draft202012Validator) -> None:
        self.doc = doc
        self.validator = validator
        self.made_text = False  # a value read again from a `${...}` was put back as text (`as_text`)
        self.defs: Mapping[str, Any] = validator.schema["$defs"]
        # jsonschema hands back the very dict a `$ref` points at, so identity tells which def failed.
        self.def_names = {id(schema): name for name, schema in self.defs.items()}

    def walk(self, schema: Mapping[str, Any], instance: Any, base: Path) -> Iterator[Diagnostic]:
        for error in self.validator.evolve(schema=schema).iter_errors(instance):
            yield from self.word(error, base + tuple(error.path))

    def word(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        if "propertyNames" in error.relative_schema_path:
            yield self.bad_name(error, path)
            return
        handler = getattr(self, f"on_{error.validator}", None)
        assert handler is not None, f"no wording for JSON Schema keyword {error.validator!r}"
        yield from handler(error, path)

    def special(self, error: ValidationError) -> str | None:
        return self.def_names.get(id(error.schema))

    # --- keys ---

    def allowed_keys(self, schema: Mapping[str, Any]) -> Iterable[str] | None:
        """The keys a mapping may have under `schema`, or None when any key may appear."""
        if schema.get("additionalProperties") is False:
            return schema.get("properties", {})
        if self.discriminated(schema):
            return {key for branch in schema["oneOf"] for key in self.resolve(branch)["properties"]}
        return None

    def unknown_keys(self, schema: Mapping[str, Any], instance: Any) -> list[str]:
        allowed = self.allowed_keys(schema)
        if allowed is None or not isinstance(instance, dict):
            return []
        return [key for key in instance if key not in allowed]

    def on_additionalProperties(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        yield from self.unknown(error.schema, error.instance, path)

    def unknown(self, schema: Mapping[str, Any], instance: dict, path: Path) -> Iterator[Diagnostic]:
        allowed = self.allowed_keys(schema) or ()
        for key in self.unknown_keys(schema, instance):
            yield codes.diagnostic("E401", self.doc.key_span((*path, key)), key=key, where=container(self.doc, path),
                                   suggestion=codes.did_you_mean(str(key), allowed))

    def on_required(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        allowed = self.allowed_keys(error.schema) or ()
        # A misspelled key is one mistake: "unknown key 'pth'; did you mean 'path'?" says it all, so a
        # key that some unknown key's suggestion names is not reported missing as well.
        meant = {codes.did_you_mean(str(k), allowed) for k in self.unknown_keys(error.schema, error.instance)}
        for key in error.validator_value:
            if key not in error.instance and codes.did_you_mean(key, [key]) not in meant:
                yield self.missing(path, key)

    def on_dependentRequired(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        for key, needs in error.validator_value.items():
            for need in needs:
                if key in error.instance and need not in error.instance:
                    yield self.missing(path, need, help=f"'{need}' is required with '{key}'")

    def missing(self, path: Path, key: str, help: str | None = None) -> Diagnostic:
        return codes.diagnostic("E402", self.doc.key_span(path), help=help, key=key, where=container(self.doc, path))

    def bad_name(self, error: ValidationError, path: Path) -> Diagnostic:
        key = error.instance
        return codes.diagnostic("E410", self.doc.key_span((*path, key)), name=key, what=named(path),
                                pattern=self.defs["name"]["pattern"].strip("^$"))

    # --- values ---

    def on_type(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        special = self.special(error)
        value = value_at(self.doc.data, path)
        if self.as_text(error, path, value):
            return
        if special in _SPECIAL and not isinstance(value, dict | list):
            yield self.special_value(special, path)
            return
        expected = _SPECIAL[special][1] if special in _SPECIAL else json_types(error.validator_value)
        yield codes.diagnostic("E403", self.doc.span(path), where=where(self.doc, path), expected=expected,
                               got=shown(self.doc, path))

    def as_text(self, error: ValidationError, path: Path, value: Any) -> bool:
        """Whether `value`, where the schema wants text, was one whole `${...}` read again as a number
        or bool: it is then put back as the text the variable gave (`check_structure` checks again)."""
        wanted = error.validator_value
        reference = self.doc.written.get(path)
        if "string" not in (wanted if isinstance(wanted, list) else [wanted]) or not path \
                or isinstance(value, str | dict | list) or value is None or reference is None \
                or not _WHOLE_REFERENCE.fullmatch(reference):
            return False
        texts = [text for text, ref in self.doc.inserted if ref == reference]
        texts += [text for text, _ in self.doc.inserted  # one text inserted by two references: kept once
                  if type(read := resolve_plain(text.strip(" \t"))) is type(value) and read == value]
        container = value_at(self.doc.data, path[:-1])
        container[path[-1]] = texts[0] if texts else str(value)
        self.made_text = True
        return True

    def on_pattern(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        special = self.special(error)
        if special in _SPECIAL:
            yield self.special_value(special, path)
        else:
            yield self.invalid(path, PATTERN_HINTS.get(special or "", f"expected text matching {error.validator_value}"))

    def special_value(self, special: str, path: Path) -> Diagnostic:
        code = _SPECIAL[special][0]
        span = self.doc.span(path)
        if code == "E410":
            return codes.diagnostic(code, span, name=shown(self.doc, path).strip("'"), what=named(path),
                                    pattern=self.defs[special]["pattern"].strip("^$"))
        return codes.diagnostic(code, span, value=shown(self.doc, path), where=where(self.doc, path))

    def on_const(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        if self.special(error) == "version" and error.instance == "1":
            yield codes.diagnostic("E408", self.doc.span(path), value="'1' (a string)",
                                   help="write `version: 1` without quotes")
        elif self.special(error) == "version":
            yield self.special_value("version", path)
        else:
            yield self.invalid(path, f"expected {quoted_list([error.validator_value])}")

    def on_enum(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        allowed = error.validator_value
        suggestion = codes.did_you_mean(error.instance, allowed) if isinstance(error.instance, str) else ""
        yield self.invalid(path, f"expected one of {quoted_list(allowed)}", suggestion)

    def on_minimum(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        yield self.invalid(path, f"expected at least {error.validator_value}")

    def on_exclusiveMinimum(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        yield self.invalid(path, f"expected more than {error.validator_value}")

    def on_maxLength(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        limit = error.validator_value
        yield self.invalid(path, f"expected at most {limit} character{'s' if limit != 1 else ''}")

    def on_minLength(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        yield self.too_few(error, path)

    on_minItems = on_minProperties = on_minLength

    def too_few(self, error: ValidationError, path: Path) -> Diagnostic:
        limit, span, at = error.validator_value, self.doc.span(path), where(self.doc, path)
        if limit == 1:
            return codes.diagnostic("E413", span, where=at)
        unit = AT_LEAST[error.validator]
        return codes.diagnostic("E414", span, where=at, limit=limit, unit=unit)

    def invalid(self, path: Path, expected: str, suggestion: str = "") -> Diagnostic:
        return codes.diagnostic("E404", self.doc.span(path), value=shown(self.doc, path),
                                where=where(self.doc, path), expected=expected, suggestion=suggestion)

    # --- alternatives ---

    def on_oneOf(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        branches, instance = error.validator_value, error.instance
        if not isinstance(instance, dict):
            return  # the enclosing schema's `type` says what it should be
        if all(set(b) == {"required"} for b in branches):
            yield from self.exclusive([b["required"][0] for b in branches], error, path)
            return
        # Every other oneOf chooses by `type` (a test holds the schema to that). A bad `type` is the
        # enclosing schema's to report; without a `type`, only keys no branch knows are certainly wrong.
        resolved = [self.resolve(b) for b in branches]
        tags = [b["properties"]["type"]["const"] for b in resolved]
        if instance.get("type") in tags:
            yield from self.walk(resolved[tags.index(instance["type"])], instance, path)
        elif "type" not in instance:
            yield from self.unknown(error.schema, instance, path)

    def discriminated(self, schema: Mapping[str, Any]) -> bool:
        """Whether `schema` chooses among `oneOf` branches by the `type` key's const."""
        branches = [self.resolve(b) for b in schema.get("oneOf", ())]
        return bool(branches) and all("const" in b.get("properties", {}).get("type", {}) for b in branches)

    def exclusive(self, keys: list[str], error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        found = [k for k in keys if k in error.instance]
        at = container(self.doc, path)
        if self.special(error) == "step":
            if found or not self.unknown_keys(error.schema, error.instance):
                # two operators: the second is the one to take out; none: the step as a whole
                span = self.doc.key_span((*path, found[1])) if len(found) > 1 else self.doc.span(path)
                yield codes.diagnostic("E407", span, where=at,
                                       got=quoted_list(found, last="and") if found else "none",
                                       help=f"operators: {', '.join(keys)}")
        elif not found:
            yield codes.diagnostic("E411", self.doc.key_span(path), where=at, keys=quoted_list(keys, last="or"))
        else:
            yield codes.diagnostic("E412", self.doc.key_span((*path, found[1])), where=at,
                                   keys=quoted_list(found, last="and"))

    def on_not(self, error: ValidationError, path: Path) -> Iterator[Diagnostic]:
        """`not: {type: object, required: [...]}`: a key the mapping may not have (E401), or keys it may
        not have together (E412, at the last of them)."""
        keys = error.validator_value["required"]
        at, span = container(self.doc, path), self.doc.key_span((*path, keys[-1]))
        help = EXCLUDED_KEYS_HELP.get(tuple(keys))
        if len(keys) == 1:
            yield codes.diagnostic("E401", span, help=help, key=keys[0], where=at, suggestion="")
        else:
            yield codes.diagnostic("E412", span, help=help, where=at, keys=quoted_list(keys, last="and"))

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref", "")
        return self.defs[ref.removeprefix("#/$defs/")] if ref.startswith("#/$defs/") else schema
