"""Debezium's JSON change-event format: decoding into SyncEvents and building envelopes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson

from adapters.connect_types import python_type
from adapters.debezium_envelope import PAYLOAD_HEAD, SCHEMA_HEAD, dumps
from adapters.debezium_values import (
    UNAVAILABLE,
    UNAVAILABLE_BYTES,
    by_schema,
    field_decoder,
    unavailable,
)
from domain.coercions import UNCHANGED
from domain.errors import InvalidEventError, MappingError
from domain.events import Operation, Platform, SourcePosition, SyncEvent
from domain.mapping import EntityMapping, FieldMapping, SchemaMapping
from domain.model import RawMessage


class DebeziumCodec:
    """Decodes Debezium JSON (with or without the schema wrapper) for the mapped tables."""

    def __init__(self, mapping: SchemaMapping, prefixes: Mapping[Platform, str]) -> None:
        self.mapping = mapping
        self.platform_of_prefix = {prefix: platform for platform, prefix in prefixes.items()}
        # looked up once, not per message: the mapping does not change under a codec
        self._entities: dict[tuple[Platform, str], EntityMapping] = {}
        self._topics_checked: set[tuple[str, Platform, str]] = set()
        self._columns: dict[tuple[str, Platform], _Columns] = {}
        self._schemas = _SchemaCache()

    def original(self, message: RawMessage) -> Any:
        if message.value is None:
            return None
        text = message.value.decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text

    def decode(self, message: RawMessage) -> SyncEvent | None:
        if message.value is None:
            return None
        known = self._schemas.payload(message.value)
        if known is not None:
            payload, fields = known
        else:
            try:
                document = _loads(message.value)
            except (ValueError, UnicodeDecodeError) as error:
                raise InvalidEventError("value", f"not JSON: {error}") from error
            if document is None:
                return None
            if not isinstance(document, dict):
                raise InvalidEventError("value", "must be a JSON object")
            payload, fields = _unwrap(document)
            self._schemas.learn(message.value, document, fields)
        platform = self._platform(message.topic)
        op = payload.get("op")
        operation = _OPERATIONS.get(op) if isinstance(op, str) else None
        if operation is None:
            raise InvalidEventError("op", f"unknown operation {op!r}")
        source = payload.get("source")
        if not isinstance(source, dict):
            raise InvalidEventError("source", "is missing")
        table = source.get("table") or message.topic.rsplit(".", 1)[-1]
        entity = self._entity(platform, str(table))
        self._check_topic(message.topic, platform, entity.entity_type)
        columns = self._columns_of(entity, platform)
        before = _image(payload, "before", fields, columns, platform)
        after = _image(payload, "after", fields, columns, platform)
        key_column = entity.key.on(platform)
        key: dict[str, Any] = {}
        if operation is not Operation.TRUNCATE:  # of the whole table: Debezium sends no key
            key = _key(message.key) or {key_column: (after or before or {}).get(key_column)}
            if key_column not in key:
                raise InvalidEventError("key", f"lacks the primary key column {key_column!r}")
        return SyncEvent.captured(
            origin=platform,
            table=str(table),
            entity_type=entity.entity_type,
            operation=operation,
            key=key,
            before=before,
            after=after,
            position=_position(source, message),
            source_origin=_origin(source),
        )

    def _entity(self, platform: Platform, table: str) -> EntityMapping:
        entity = self._entities.get((platform, table))
        if entity is None:
            try:
                entity = self.mapping.for_table(platform, table)
            except MappingError as error:
                raise InvalidEventError("source.table", str(error)) from error
            self._entities[(platform, table)] = entity
        return entity

    def _columns_of(self, entity: EntityMapping, platform: Platform) -> _Columns:
        """The mapped fields of `entity` by their column name on `platform`."""
        columns = self._columns.get((entity.entity_type, platform))
        if columns is None:
            columns = _Columns.of(entity, platform)
            self._columns[(entity.entity_type, platform)] = columns
        return columns

    def _check_topic(self, topic: str, platform: Platform, entity_type: str) -> None:
        """A change of one table published on another mapped table's topic is refused."""
        if (topic, platform, entity_type) in self._topics_checked:
            return
        try:
            of_topic = self.mapping.for_table(platform, topic.rsplit(".", 1)[-1]).entity_type
        except MappingError:
            of_topic = entity_type  # a topic renamed by routing: source.table alone names it
        if of_topic != entity_type:
            raise InvalidEventError("source.table", f"a {entity_type} change on {topic!r}")
        self._topics_checked.add((topic, platform, entity_type))

    def _platform(self, topic: str) -> Platform:
        prefix = topic.split(".", 1)[0]
        if prefix not in self.platform_of_prefix:
            raise InvalidEventError("topic", f"{topic!r} has no known prefix")
        return self.platform_of_prefix[prefix]


def _unwrap(document: dict[str, Any]) -> tuple[dict[str, Any], Fields]:
    """The payload and, when the schema wrapper is present, each image's field schemas."""
    if "payload" in document and "schema" in document:
        payload = document["payload"]
        if not isinstance(payload, dict):
            raise InvalidEventError("payload", "must be a JSON object")
        schema = document["schema"] or {}
        fields = {
            f.get("field"): {c.get("field"): c for c in f.get("fields", [])}
            for f in schema.get("fields", [])
            if isinstance(f, dict)
        }
        return payload, fields
    return document, {}


_OPERATIONS = {operation.value: operation for operation in Operation}
Fields = dict[str, dict[str, Any]]


class _SchemaCache:
    """The image field schemas of each schema wrapper seen, by its exact bytes: a table's
    changes all carry the same schema, so it is parsed once and then only the payload is.

    A wrapper is learnt only from a message whose schema part, cut where its payload begins,
    parses on its own to the schema the whole message holds; any message the fast path cannot
    take (a payload that is not one JSON object, trailing bytes) is parsed whole, as before."""

    HEAD, PAYLOAD, LIMIT = SCHEMA_HEAD, PAYLOAD_HEAD, 256

    def __init__(self) -> None:
        self._fields: dict[bytes, Fields] = {}

    def _cut(self, value: bytes) -> int:
        if not value.startswith(self.HEAD) or not value.endswith(b"}"):
            return -1
        return value.find(self.PAYLOAD)

    def payload(self, value: bytes) -> tuple[dict[str, Any], Fields] | None:
        cut = self._cut(value)
        fields = self._fields.get(value[:cut]) if cut > 0 else None
        if fields is None:
            return None
        try:
            payload = orjson.loads(value[cut + len(self.PAYLOAD) : -1])
        except orjson.JSONDecodeError:
            return None
        return (payload, fields) if isinstance(payload, dict) else None

    def learn(self, value: bytes, document: dict[str, Any], fields: Fields) -> None:
        cut = self._cut(value)
        if cut <= 0 or "schema" not in document or value[:cut] in self._fields:
            return
        try:
            schema = orjson.loads(value[len(self.HEAD) : cut])
        except orjson.JSONDecodeError:
            return
        if schema == document["schema"] and isinstance(document.get("payload"), dict):
            if len(self._fields) >= self.LIMIT:  # schemas changing without end: start over
                self._fields.clear()
            self._fields[value[:cut]] = fields


@attrs.frozen
class _Columns:
    """How the columns of one entity's table on one platform are decoded without a schema:
    the mapped field, the decoder of its declared type (None: kept as is) and the text of
    Debezium's placeholder for it, by column name."""

    fields: dict[str, FieldMapping]
    decoders: dict[str, Callable[[Any], Any] | None]
    placeholders: dict[str, str]

    @classmethod
    def of(cls, entity: EntityMapping, platform: Platform) -> _Columns:
        fields = {f.names.on(platform): f for f in entity.fields}
        return cls(
            fields,
            {c: field_decoder(f, platform) for c, f in fields.items()},
            {
                c: UNAVAILABLE_BYTES if f.kind == "binary" else UNAVAILABLE
                for c, f in fields.items()
            },
        )


def _image(
    payload: dict[str, Any],
    name: str,
    fields: dict[str, Any],
    mapped: _Columns,
    platform: Platform,
) -> dict[str, Any] | None:
    """An image with each value decoded: by its field schema when the event has the wrapper,
    else by the mapping's declared type. Debezium's placeholder for a TOASTed column it did
    not receive becomes UNCHANGED: the column is left as it is."""
    image = payload.get(name)
    if image is None:
        return None
    if not isinstance(image, dict):
        raise InvalidEventError(name, "must be a JSON object or null")
    schemas = fields.get(name)
    if schemas is None:
        return _by_mapping(image, name, mapped)
    decoded: dict[str, Any] = {}
    for column, value in image.items():
        schema = schemas.get(column) or {}
        if type(value) is str and _placeholder(value, schema, mapped.fields.get(column)):
            decoded[column] = UNCHANGED
            continue
        try:
            decoded[column] = by_schema(value, schema)
        except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
            raise InvalidEventError(f"{name}.{column}", f"cannot be decoded: {error}") from error
    return decoded


def _by_mapping(image: dict[str, Any], name: str, mapped: _Columns) -> dict[str, Any]:
    """An image without field schemas, decoded by the mapping's declared types (`by_field`);
    unmapped columns as they are."""
    decoders, placeholders = mapped.decoders, mapped.placeholders
    decoded: dict[str, Any] = {}
    for column, value in image.items():
        if type(value) is str and value == placeholders.get(column, UNAVAILABLE):
            decoded[column] = UNCHANGED
            continue
        decode = decoders.get(column)
        if decode is None or value is None:
            decoded[column] = value
            continue
        try:
            decoded[column] = decode(value)
        except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
            raise InvalidEventError(f"{name}.{column}", f"cannot be decoded: {error}") from error
    return decoded


def _placeholder(value: Any, schema: dict[str, Any] | None, field: Any) -> bool:
    """Debezium's placeholder: the text itself, or its bytes in base64 for a binary column."""
    binary = (schema or {}).get("type") == "bytes" or getattr(field, "kind", None) == "binary"
    return unavailable(value, binary)


def _loads(raw: bytes) -> Any:
    """orjson (several times faster); the standard parser where orjson refuses what JSON
    allows (integers beyond 64 bits) or to say what is wrong."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _key(raw: bytes | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        key = _loads(raw)
    except ValueError as error:
        raise InvalidEventError("key", f"not JSON: {error}") from error
    if isinstance(key, dict) and "payload" in key and "schema" in key:
        key = key["payload"]
    if not isinstance(key, dict):
        raise InvalidEventError("key", "must be a JSON object")
    return key


def _origin(source: dict[str, Any]) -> str | None:
    """The replication origin of the change's transaction (PostgreSQL; null when none)."""
    origin = source.get("origin")
    return origin if isinstance(origin, str) and origin else None


def _position(source: dict[str, Any], message: RawMessage) -> SourcePosition:
    ts_ms = source.get("ts_ms")
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool):
        raise InvalidEventError("source.ts_ms", "must be an integer")
    tx = source.get("txId") or source.get("gtid")
    if source.get("lsn") is not None:
        where = f"lsn:{source['lsn']}"
    elif source.get("file") is not None:
        where = f"binlog:{source['file']}:{source.get('pos')}:{source.get('row', 0)}"
    else:  # no log position: the broker position is the best stable identity left
        where = f"kafka:{message.topic}:{message.partition}:{message.offset}"
    if source.get("snapshot") in (True, "true", "last", "first") and where.startswith("kafka:"):
        where = f"snapshot:{ts_ms}"
    return SourcePosition(where, None if tx is None else str(tx), ts_ms)


# --- building envelopes, for the in-memory capture ---------------------------------------


def encode_value(value: Any) -> Any:
    """A column value as Debezium's JSON converter writes it for its Python type."""
    return python_type(value).value(value)


def envelope(
    op: Operation,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    source: Mapping[str, Any],
    ts_ms: int,
) -> dict[str, Any]:
    """A Debezium change-event payload (no schema wrapper)."""

    def image(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if row is None else {k: encode_value(v) for k, v in row.items()}

    return {
        "before": image(before),
        "after": image(after),
        "source": dict(source),
        "op": op.value,
        "ts_ms": ts_ms,
        "transaction": None,
    }


__all__ = ["DebeziumCodec", "dumps", "encode_value", "envelope"]
