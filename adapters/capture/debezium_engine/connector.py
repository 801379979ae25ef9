"""The properties of the Debezium connectors Tandem runs, from its own settings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import attrs
from sqlalchemy.engine import make_url

HEARTBEAT_TABLE = "tandem_capture_heartbeat"
MARKER_TABLE = "tandem_sync_marker"  # SchemaTables.marker: written by the sync service


@attrs.frozen
class Connector:
    """One connector: what the engine is given, and where its heartbeat rows arrive."""

    name: str  # legacy or revamp
    properties: dict[str, str] = attrs.field(repr=False)  # holds the database password
    heartbeat_schema: str
    marker: tuple[str, str] | None = None  # the sync service's marker table (MySQL)

    @property
    def heartbeat_topic(self) -> str:
        return f"{self.properties['topic.prefix']}.{self.heartbeat_schema}.{HEARTBEAT_TABLE}"

    @property
    def marker_topic(self) -> str | None:
        if self.marker is None:
            return None
        return f"{self.properties['topic.prefix']}.{self.marker[0]}.{self.marker[1]}"


def _common(
    name: str, prefix: str, state_dir: Path, schemas: bool, poll_interval_ms: int
) -> dict[str, str]:
    return {
        "name": f"tandem-{name}",
        "topic.prefix": prefix,
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": str(state_dir / f"debezium-{name}.offsets"),
        "offset.flush.interval.ms": "0",  # after every batch: a restart resends little
        # initial loads are `tandem snapshot`'s: streaming starts where the log is now
        "snapshot.mode": "no_data",
        "skipped.operations": "none",  # truncates too, as the built-in capture publishes them
        "tombstones.on.delete": "true",
        "converter.schemas.enable": str(schemas).lower(),
        "poll.interval.ms": str(poll_interval_ms),
    }


def _server(dsn: str) -> dict[str, str]:
    url = make_url(dsn)
    default_port = 5432 if url.get_backend_name() == "postgresql" else 3306
    return {
        "database.hostname": url.host or "127.0.0.1",
        "database.port": str(url.port or default_port),
        "database.user": url.username or "",
        "database.password": url.password or "",
    }


def include_list(tables: Sequence[tuple[str, str]]) -> str:
    """Debezium's table.include.list: anchored regular expressions, so dots are escaped."""
    return ",".join(f"{re.escape(schema)}\\.{re.escape(table)}" for schema, table in tables)


def postgres_connector(
    dsn: str,
    *,
    prefix: str,
    tables: Sequence[tuple[str, str]],
    slot: str,
    publication: str,
    state_dir: Path,
    schemas: bool = True,
    poll_interval_ms: int = 50,
) -> Connector:
    """Debezium's PostgreSQL connector on the publication `tandem migrate` keeps, pgoutput."""
    heartbeat_schema = tables[0][0]
    properties = _common("legacy", prefix, state_dir, schemas, poll_interval_ms) | _server(dsn)
    properties |= {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.dbname": make_url(dsn).database or "",
        "plugin.name": "pgoutput",
        "publication.name": publication,
        "publication.autocreate.mode": "disabled",
        "slot.name": slot,
        "table.include.list": include_list([*tables, (heartbeat_schema, HEARTBEAT_TABLE)]),
        # a quiet database still moves the slot on, so it does not keep WAL for ever
        "heartbeat.interval.ms": "10000",
        "heartbeat.action.query": (
            f'UPDATE "{heartbeat_schema}".{HEARTBEAT_TABLE} SET beat = beat + 1 WHERE id = 1'
        ),
    }
    return Connector("legacy", properties, heartbeat_schema)


def history_predates_marker(history: Path) -> bool:
    """A schema history written before Tandem captured its marker table: it does not know
    the table, and Debezium stops at a row of a table its history does not know."""
    try:
        return MARKER_TABLE.encode() not in history.read_bytes()
    except FileNotFoundError:
        return False


def mysql_connector(
    dsn: str,
    *,
    prefix: str,
    tables: Sequence[tuple[str, str]],
    server_id: int,
    state_dir: Path,
    schemas: bool = True,
    poll_interval_ms: int = 50,
) -> Connector:
    """Debezium's MySQL connector, which also reads MariaDB: a server that reports
    `5.5.5-10.x` (as MariaDB's handshake does), and a schema history of the captured tables
    only (it cannot parse every MariaDB DDL, e.g. `DEFAULT utc_timestamp(6)`). It reads the
    sync service's marker table too (in the DSN's database), whose rows say which
    transactions are the sync service's."""
    heartbeat_schema = tables[0][0]
    marker = (make_url(dsn).database or heartbeat_schema, MARKER_TABLE)
    history = state_dir / "debezium-revamp.history"
    if history_predates_marker(history):
        marker = None  # its schema is unknown there: Debezium would stop at its first row
    captured = [*tables, (heartbeat_schema, HEARTBEAT_TABLE), *([marker] if marker else [])]
    properties = _common("revamp", prefix, state_dir, schemas, poll_interval_ms) | _server(dsn)
    properties |= {
        "connector.class": "io.debezium.connector.mysql.MySqlConnector",
        "database.server.id": str(server_id),
        "database.connectionTimeZone": "UTC",
        "database.include.list": ",".join(dict.fromkeys(re.escape(s) for s, _ in captured)),
        "table.include.list": include_list(captured),
        "include.schema.changes": "false",
        "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
        "schema.history.internal.file.filename": str(history),
        "schema.history.internal.store.only.captured.tables.ddl": "true",
        "schema.history.internal.store.only.captured.databases.ddl": "true",
    }
    return Connector("revamp", properties, heartbeat_schema, marker)
