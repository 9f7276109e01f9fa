"""The schema each source delivers, as far as validation can know it without reading data (SPEC §3).

A declared `schema:` is used as written (a Kafka source adds its `_key ... _timestamp` fields);
`inline` records are typed from the records in the spec; `generate` fields from their expressions
over `_n`. Anything else is unknown (None) unless `with_data` samples local files.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from flowc.compiler.spec import Source
from flowc.dsl import types as t
from flowc.dsl.types import ListOf, Struct, Type, common_supertype

KAFKA_FIELDS: tuple[tuple[str, Type], ...] = (
    ("_key", t.STRING), ("_topic", t.STRING), ("_partition", t.INT), ("_offset", t.INT),
    ("_timestamp", t.DATETIME),
)
GENERATE_SCHEMA = Struct((("_n", t.INT),))
ANY = t.NULL  # the checker lets NULL fit every type: used where a field exists but its type is unknown



def declared_schema(source: Source) -> Struct | None:
    """The declared schema, with Kafka's metadata fields added after it."""
    return with_kafka_fields(source.schema, source) if source.schema is not None else None


def with_kafka_fields(schema: Struct, source: Source) -> Struct:
    """`schema` with the `_key ... _timestamp` fields a Kafka source adds to every record after it (those
    it does not name already); any other source's as it is."""
    if source.type != "kafka":
        return schema
    named = {name for name, _ in schema.fields}
    return Struct(schema.fields + tuple(f for f in KAFKA_FIELDS if f[0] not in named))


def with_event_time(schema: Struct, source: Source) -> Struct:
    """An inferred `schema` with the source's event-time field read as a datetime (SPEC §3: the source
    parses its event time, and one that does not parse is a record error of the source). Inference
    sees ISO text as strings: CSV and inline records do not guess dates. Validation (`--with-data`) and
    the run both apply it, so expressions are checked against the types the run delivers."""
    if source.schema is not None or source.event_time is None:
        return schema
    name = source.event_time.field.name
    return Struct(tuple((n, t.DATETIME if n == name and type_ in (t.STRING, t.NULL) else type_)
                        for n, type_ in schema.fields))


def records_schema(records: tuple[Mapping[str, Any], ...], open_type: Type = ANY) -> Struct:
    """The schema of records written in the spec: fields in order of first appearance, each typed with
    the common supertype of its values (text stays a string, ISO-8601 or not; a field null in every
    record is null, which fits every type). A field whose values share no type gets `open_type`:
    left open for validation, a string for the run (`InlineReader.schema`, and `flowc test`'s inputs),
    which reads inline values as text; so validation and the run agree on every other field."""
    types: dict[str, Type] = {}
    for record in records:
        for name, value in record.items():
            found = value_type(value, open_type)
            types[name] = found if name not in types else (common_supertype(types[name], found) or open_type)
    return Struct(tuple(types.items()))


def value_type(value: Any, open_type: Type = ANY) -> Type:
    if value is None:
        return t.NULL
    if isinstance(value, bool):
        return t.BOOL
    if isinstance(value, int):
        return t.INT
    if isinstance(value, float):
        return t.FLOAT
    if isinstance(value, datetime):
        return t.DATETIME
    if isinstance(value, date):
        return t.DATE
    if isinstance(value, str):  # ISO-8601 text stays text: inference does not guess dates (as in CSV)
        return t.STRING
    if isinstance(value, Mapping):
        return records_schema((value,), open_type)
    if isinstance(value, list | tuple):
        item: Type = t.NULL
        for element in value:
            item = common_supertype(item, value_type(element, open_type)) or open_type
        return ListOf(item)
    return open_type
