"""Normalising sources (SPEC §3), sinks (§7) and settings (§1) into their typed spec form."""

from __future__ import annotations

import os

from flowc.compiler import spec as s
from flowc.compiler.spec_reader import At, read_expression, struct_from_yaml
from flowc.compiler.text_encoding import codec_of
from flowc.dsl import codes
from flowc.dsl.diagnostics import Diagnostic
from flowc.dsl.units import parse_duration

Problems = list[Diagnostic]

# SPEC §7: the format a file path's extension tells, `.gz` allowed after it.
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet",
              ".txt": "text"}
_SOURCE_KEYS = ("type", "schema", "event_time", "records", "fields")
_SINK_KEYS = ("type", "from", "retry", "key", "headers")


def file_format(explicit: object, path: str) -> str | None:
    """`explicit` when given, else the format `path`'s extension tells, else None.

    >>> file_format(None, "data/*.csv.gz"), file_format("csv", "x.dat"), file_format(None, "x.dat")
    ('csv', 'csv', None)
    """
    if isinstance(explicit, str):
        return explicit
    stem = path[:-3] if path.endswith(".gz") else path
    return EXTENSIONS.get(os.path.splitext(stem)[1].lower())


def file_compression(explicit: object, path: str) -> str | None:
    """`explicit` when given, else gzip for a path ending in `.gz` (the `.gz` SPEC §7 allows after the
    extension means what it says), else None: uncompressed. An explicit value wins even over `.gz`.

    >>> file_compression(None, "out/o.csv.gz"), file_compression("zstd", "o.parquet"), file_compression(None, "o.csv")
    ('gzip', 'zstd', None)
    """
    if isinstance(explicit, str):
        return explicit
    return "gzip" if path.endswith(".gz") else None


def normalize_source(name: str, at: At, problems: Problems) -> s.Source:
    type_ = str(at.get("type", ""))
    encoding = at / "options" / "encoding"
    if type_ == "file" and isinstance(encoding.value, str):
        try:
            codec_of(encoding.value)
        except ValueError as reason:
            problems.append(codes.diagnostic("E317", encoding.span or at.key_span, reason=str(reason), name=name))
    if type_ == "file" and _source_format(type_, at) == "text":
        problems.extend(_text_schema_problems(name, at / "schema"))
    config = s.Config({k: v for k, v in at.value.items() if k not in _SOURCE_KEYS or (k, type_) == ("records", "http")})
    return s.Source(
        name=name,
        type=type_,
        config=config,
        schema=struct_from_yaml(at / "schema") if at.has("schema") else None,
        event_time=_event_time(at / "event_time") if at.has("event_time") else None,
        span=at.key_span,
        format=_source_format(type_, at),
        bounded=_bounded(type_, at),
        records=tuple(s.freeze(r) for r in at.get("records") or () if isinstance(r, dict)),
        fields=tuple((key, read_expression(value, problems)) for key, value in (at / "fields").items())
        if type_ == "generate" else (),
        key_spans=at.value_spans(),
        written=at.written(),
    )


def _text_schema_problems(name: str, schema: At) -> Problems:
    """SPEC §3: a `text` source's records are `{line}`; its schema may type `line` (`{line: int}` reads a
    file of numbers), and another field would only ever be null, silently: E404 at each one."""
    if not isinstance(schema.value, dict):
        return []
    return [codes.diagnostic("E404", (schema / field).key_span or schema.span, value=f"'{field}'",
                             where=f"'schema' of text source '{name}'",
                             expected="a text source's records have the one field 'line'", suggestion="")
            for field in schema.value if field != "line"]


def _event_time(at: At) -> s.EventTime:
    lateness = at.get("max_out_of_orderness")
    micros = parse_duration(lateness) if isinstance(lateness, str) else None
    return s.EventTime((at / "field").name(), micros or 0)


def _source_format(type_: str, at: At) -> str | None:
    if type_ == "file":
        return file_format(at.get("format"), str(at.get("path", "")))
    if type_ in ("kafka", "http"):
        return str(at.get("format", "json"))
    return None


def _bounded(type_: str, at: At) -> bool:
    """SPEC §3: kafka never ends; a watched file, a polled http endpoint or an uncounted generator neither."""
    if type_ == "kafka":
        return False
    if type_ == "file":
        return at.get("watch") is not True
    if type_ == "http":
        return at.get("interval") is None
    if type_ == "generate":
        return at.get("count") is not None
    return True


def normalize_sink(name: str, at: At, input_name: str | None, input_span, problems: Problems) -> s.Sink:
    type_ = str(at.get("type", ""))
    # a sink that is not a mapping is a structural error already reported; read it as empty
    config = {k: v for k, v in (at.value if isinstance(at.value, dict) else {}).items() if k not in _SINK_KEYS}
    if type_ == "file" and (compression := file_compression(config.get("compression"), str(config.get("path", "")))):
        config["compression"] = compression  # the runtime reads the implied one where it reads a written one
    return s.Sink(
        name=name,
        type=type_,
        input_name=input_name,
        config=s.Config(config),
        span=at.key_span,
        format=_sink_format(type_, at),
        retry=_retry(at / "retry") if at.has("retry") else s.Retry(),
        key=read_expression(at / "key", problems) if type_ == "kafka" and at.has("key") else None,
        headers=tuple((k, read_expression(v, problems)) for k, v in (at / "headers").items())
        if type_ == "kafka" else (),
        input_span=input_span,
        key_spans=at.value_spans(),
        written=at.written(),
    )


def _sink_format(type_: str, at: At) -> str | None:
    if type_ == "file":
        return file_format(at.get("format"), str(at.get("path", "")))
    if type_ == "kafka":
        return str(at.get("format", "json"))
    if type_ == "console":
        return str(at.get("format", "table"))
    return None


def _retry(at: At) -> s.Retry:
    default = s.Retry()
    attempts = at.get("max_attempts")
    return s.Retry(
        max_attempts=attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 5,
        backoff=_duration(at.get("backoff"), default.backoff),
        max_backoff=_duration(at.get("max_backoff"), default.max_backoff),
    )


def state_dir_of(file: str, pipeline: str, written: object) -> str:
    """`settings.state_dir` (SPEC §1): as written, else `.flow/<pipeline>`, relative to the spec's folder."""
    state_dir = written if isinstance(written, str) and written else os.path.join(".flow", pipeline)
    return os.path.join(os.path.dirname(file), state_dir)


def normalize_settings(at: At, pipeline: str, file: str, problems: Problems) -> s.Settings:
    default = s.Settings()
    dead_letter = None
    if at.has("dead_letter"):
        dead_letter = normalize_sink("dead_letter", at / "dead_letter", None, None, problems)
    return s.Settings(
        batch_size=_int(at.get("batch_size"), default.batch_size),
        batch_timeout=_duration(at.get("batch_timeout"), default.batch_timeout),
        state_dir=state_dir_of(file, pipeline, at.get("state_dir")),
        on_error=str(at.get("on_error", default.on_error)),
        dead_letter=dead_letter,
        infer_rows=_int(at.get("infer_rows"), default.infer_rows),
        key_spans=at.value_spans(),
        written=at.written(),
    )


def _duration(value: object, default: int) -> int:
    parsed = parse_duration(value) if isinstance(value, str) else None
    return default if parsed is None else parsed


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
