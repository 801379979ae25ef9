"""Debezium change events as the JsonConverter writes them: key, value, and the schema wrapper."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

import orjson

from adapters.connect_types import ConnectType, python_type
from domain.events import Operation

Message = tuple[bytes | None, bytes]  # key, value
_SNAPSHOT = {
    "type": "string",
    "optional": True,
    "name": "io.debezium.data.Enum",
    "version": 1,
    "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,"
                   "last,false,incremental"},
    "default": "false",
    "field": "snapshot",
}  # fmt: skip
_COMMON = (("version", "string", False), ("connector", "string", False),
           ("name", "string", False), ("ts_ms", "int64", False), ("snapshot", "", True),
           ("db", "string", False), ("sequence", "string", True),
           ("ts_us", "int64", True), ("ts_ns", "int64", True))  # fmt: skip
_SOURCES = {
    "postgresql": ("io.debezium.connector.postgresql.Source", (*_COMMON,
        ("schema", "string", False), ("table", "string", False), ("txId", "int64", True),
        ("lsn", "int64", True), ("xmin", "int64", True), ("origin", "string", True),
        ("origin_lsn", "int64", True))),
    "mysql": ("io.debezium.connector.mysql.Source", (*_COMMON,
        ("table", "string", True), ("server_id", "int64", False), ("gtid", "string", True),
        ("file", "string", False), ("pos", "int64", False), ("row", "int32", False),
        ("thread", "int64", True), ("query", "string", True))),
}  # fmt: skip
_TRANSACTION = {
    "type": "struct",
    "fields": [
        {"type": "string", "optional": False, "field": "id"},
        {"type": "int64", "optional": False, "field": "total_order"},
        {"type": "int64", "optional": False, "field": "data_collection_order"},
    ],
    "optional": True,
    "name": "event.block",
    "version": 1,
    "field": "transaction",
}


@dataclass(frozen=True)
class TableTypes:
    """A captured table's columns in table order, with their Connect types and nullability."""

    columns: Mapping[str, ConnectType]
    not_null: frozenset[str] = field(default_factory=frozenset)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # encoded, as Debezium has them
    # serialized key and value schemas by topic and columns: the same for every change
    schemas: dict[tuple[str, ...], bytes] = field(default_factory=dict, compare=False, repr=False)

    def of(self, column: str, value: Any) -> ConnectType:
        known = self.columns.get(column)
        return known if known is not None else python_type(value)

    def encode(self, row: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {name: self._value(name, value) for name, value in row.items()}

    def _value(self, column: str, value: Any) -> Any:
        """The encoded value; one its type cannot encode (`infinity`, `24:00:00`, Debezium's
        placeholder) goes as text, which the consumer refuses with a reason: a bad value
        dead-letters its change instead of stopping the capture."""
        try:
            return self.of(column, value).value(value)
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            return str(value)

    def struct(self, name: str, columns: list[str], key: bool = False) -> dict[str, Any]:
        fields = [
            self.of(c, None).schema(
                c, optional=not key and c not in self.not_null, default=self.defaults.get(c)
            )
            for c in columns
        ]
        return {"type": "struct", "fields": fields, "optional": not key, "name": name}


def source_block(connector: str, source: Mapping[str, Any]) -> dict[str, Any]:
    """The source fields in Debezium's order, with ts_us and ts_ns from ts_ms if not given."""
    block = dict(source)
    block.setdefault("ts_us", int(block["ts_ms"]) * 1000)
    block.setdefault("ts_ns", int(block["ts_us"]) * 1000)
    names = [n for n, _, _ in _SOURCES[connector][1]]
    return {n: block.get(n) for n in names} | {k: v for k, v in block.items() if k not in names}


def _source_schema(connector: str) -> dict[str, Any]:
    name, fields = _SOURCES[connector]
    schemas = [
        _SNAPSHOT if f == "snapshot" else {"type": t, "optional": o, "field": f}
        for f, t, o in fields
    ]
    return {"type": "struct", "fields": schemas, "optional": False, "name": name,
            "version": 1, "field": "source"}  # fmt: skip


def change_message(
    topic: str,
    connector: str,
    op: Operation,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    source: Mapping[str, Any],
    now_us: int,
    *,
    types: TableTypes,
    key_columns: tuple[str, ...],
    schemas: bool = True,
) -> Message:
    """Key and value of one change; the key is null without a primary key or for a truncate."""
    row = after if after is not None else before or {}
    columns = list((after or before or {}).keys()) or list(types.columns)
    payload = {
        "before": types.encode(before),
        "after": types.encode(after),
        "source": source_block(connector, source),
        "transaction": None,
        "op": op.value,
        "ts_ms": now_us // 1000,
        "ts_us": now_us,
        "ts_ns": now_us * 1000,
    }
    key: bytes | None = None
    if key_columns and op is not Operation.TRUNCATE:
        key_payload = types.encode({c: row.get(c) for c in key_columns})
        key = dumps(key_payload)
        if schemas:
            key_schema = types.schemas.get(("key", topic, *key_columns))
            if key_schema is None:
                key_schema = dumps(types.struct(f"{topic}.Key", list(key_columns), key=True))
                types.schemas[("key", topic, *key_columns)] = key_schema
            key = _wrapped(key_schema, key)
    value = dumps(payload)
    if not schemas:
        return key, value
    value_schema = types.schemas.get(("value", topic, connector, *columns))
    if value_schema is None:
        value_schema = dumps(_value_schema(topic, connector, types, columns))
        types.schemas[("value", topic, connector, *columns)] = value_schema
    return key, _wrapped(value_schema, value)


# The JsonConverter's schema wrapper as bytes: written so here, and read so by the codec
SCHEMA_HEAD, PAYLOAD_HEAD = b'{"schema":', b',"payload":'


def _wrapped(schema: bytes, payload: bytes) -> bytes:
    """The JsonConverter's schema wrapper around a serialized payload."""
    return SCHEMA_HEAD + schema + PAYLOAD_HEAD + payload + b"}"


def _value_schema(
    topic: str, connector: str, types: TableTypes, columns: list[str]
) -> dict[str, Any]:
    image = types.struct(f"{topic}.Value", columns)
    return {
        "type": "struct",
        "fields": [image | {"field": "before"}, image | {"field": "after"},
                   _source_schema(connector), _TRANSACTION,
                   {"type": "string", "optional": False, "field": "op"},
                   {"type": "int64", "optional": True, "field": "ts_ms"},
                   {"type": "int64", "optional": True, "field": "ts_us"},
                   {"type": "int64", "optional": True, "field": "ts_ns"}],
        "optional": False,
        "name": f"{topic}.Envelope",
        "version": 2,
    }  # fmt: skip


def dumps(document: Any) -> bytes:
    """Compact JSON; orjson, except where it would differ from the standard encoder: integers
    beyond 64 bits (it refuses them) and NaN or infinities (it writes null, which would turn a
    value into NULL; Java's JsonConverter, like Python's, writes NaN).

    orjson (3.12 on) hands back its whole output buffer, 4 KiB or more, as the bytes object:
    copied to its length (~0.3 µs), a message that is kept (by the in-memory broker, a batch,
    a benchmark's prepared events) costs its size, not ten times it."""
    if not _has_non_finite(document):
        try:
            return bytes(memoryview(orjson.dumps(document)))
        except orjson.JSONEncodeError:
            pass
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _has_non_finite(document: Any) -> bool:
    """A non-finite float in a change's payload (row images one level down) or in a row."""
    if not isinstance(document, dict):
        return False
    for value in document.values():
        if value.__class__ is float and not isfinite(value):
            return True
        if value.__class__ is dict and _has_non_finite(value):
            return True
    return False


def payload_field(value: bytes, *path: str) -> Any:
    """The field at `path` (e.g. "source", "file") of an event the JsonConverter wrote, with
    its schema wrapper or without; None where there is no such field."""
    document: Any = orjson.loads(value)
    if isinstance(document, dict) and "schema" in document and "payload" in document:
        document = document["payload"]
    for name in path:
        document = document.get(name) if isinstance(document, dict) else None
    return document
