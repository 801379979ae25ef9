"""Change messages written the way Debezium's connectors write them, for steps and unit tests.

Legacy messages come from the PostgreSQL connector with the JSON converter's schema wrapper
(`schemas.enable=true`): `txId`/`lsn` locate the change. Revamp messages come from the MySQL
connector without the wrapper: `file`/`pos`/`row` locate it. Timestamps are MicroTimestamp
integers; `source.ts_ms` is the commit time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import attrs

from domain.events import Platform

EPOCH = datetime(1970, 1, 1)
START = datetime(2026, 1, 1, 9, 0, 0)
TABLES = {
    Platform.LEGACY: {"user": "legacy_users", "post": "legacy_posts", "like": "legacy_likes"},
    Platform.REVAMP: {"user": "revamp_users", "post": "revamp_posts", "like": "revamp_likes"},
}
SCHEMAS = {Platform.LEGACY: "public", Platform.REVAMP: "revamp"}
_TIMESTAMPS = ("created_at", "updated_at")


@attrs.frozen
class Message:
    topic: str
    key: bytes | None
    value: bytes | None


def micros(moment: datetime) -> int:
    """A naive UTC datetime as Debezium's io.debezium.time.MicroTimestamp."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def topic(platform: Platform, table: str) -> str:
    return f"{platform.value}.{SCHEMAS[platform]}.{table}"


@attrs.define
class DebeziumFeed:
    """Emits change messages with advancing commit times and log positions."""

    now: datetime = START
    lsn: int = 24_023_928
    tx_id: int = 767
    binlog_pos: int = 154

    def change(
        self,
        platform: Platform,
        table: str,
        op: str,
        row_id: int,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> Message:
        """One committed row change of `table`, keyed by its id."""
        self.now += timedelta(seconds=1)
        ts_ms = micros(self.now) // 1000
        source = self._source(platform, table, ts_ms)
        payload = {
            "before": _encode(before),
            "after": _encode(after),
            "source": source,
            "op": op,
            "ts_ms": ts_ms + 3,
            "transaction": None,
        }
        key: dict[str, Any] = {"id": row_id}
        if platform is Platform.LEGACY:
            name = topic(platform, table)
            key = {"schema": _key_schema(name), "payload": key}
            document: dict[str, Any] = {
                "schema": _envelope_schema(name, after or before or {}),
                "payload": payload,
            }
        else:
            document = payload
        return Message(topic(platform, table), _dumps(key), _dumps(document))

    def tombstone(self, platform: Platform, table: str, row_id: int) -> Message:
        """The null value Debezium sends after a delete (`tombstones.on.delete`)."""
        key = {"schema": _key_schema(topic(platform, table)), "payload": {"id": row_id}}
        return Message(topic(platform, table), _dumps(key), None)

    def _source(self, platform: Platform, table: str, ts_ms: int) -> dict[str, Any]:
        common = {
            "version": "2.5.4.Final",
            "name": platform.value,
            "ts_ms": ts_ms,
            "snapshot": "false",
            "db": platform.value,
            "table": table,
        }
        if platform is Platform.LEGACY:
            self.lsn += 184
            self.tx_id += 1
            return {
                **common,
                "connector": "postgresql",
                "schema": "public",
                "sequence": json.dumps([str(self.lsn - 184), str(self.lsn)]),
                "txId": self.tx_id,
                "lsn": self.lsn,
                "xmin": None,
            }
        self.binlog_pos += 312
        return {
            **common,
            "connector": "mysql",
            "sequence": None,
            "server_id": 223344,
            "gtid": None,
            "file": "mysql-bin.000003",
            "pos": self.binlog_pos,
            "row": 0,
            "thread": 12,
            "query": None,
        }


def _encode(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: micros(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _dumps(document: Any) -> bytes:
    return json.dumps(document).encode()


def _column_schema(column: str, value: Any) -> dict[str, Any]:
    if column in _TIMESTAMPS:
        return {
            "type": "int64",
            "optional": True,
            "name": "io.debezium.time.MicroTimestamp",
            "version": 1,
            "field": column,
        }
    kind = "int32" if isinstance(value, int) else "string"
    return {"type": kind, "optional": column != "id", "field": column}


def _key_schema(name: str) -> dict[str, Any]:
    return {
        "type": "struct",
        "name": f"{name}.Key",
        "optional": False,
        "fields": [{"type": "int32", "optional": False, "field": "id"}],
    }


def _envelope_schema(name: str, row: dict[str, Any]) -> dict[str, Any]:
    value = {
        "type": "struct",
        "name": f"{name}.Value",
        "optional": True,
        "fields": [_column_schema(c, v) for c, v in row.items()],
    }
    return {
        "type": "struct",
        "name": f"{name}.Envelope",
        "version": 1,
        "optional": False,
        "fields": [
            {**value, "field": "before"},
            {**value, "field": "after"},
            {
                "type": "struct",
                "name": "io.debezium.connector.postgresql.Source",
                "optional": False,
                "field": "source",
                "fields": [],
            },
            {"type": "string", "optional": False, "field": "op"},
            {"type": "int64", "optional": True, "field": "ts_ms"},
        ],
    }
