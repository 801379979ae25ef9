"""The MySQL/MariaDB server side of the binlog capture: settings, checks, positions, errors."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
from pymysqlreplication.row_event import DeleteRowsEvent, WriteRowsEvent
from sqlalchemy.engine import make_url

from adapters.capture import mysqltypes
from adapters.capture.binlog import BinlogPosition, RowChange
from adapters.capture.checkpoint import BinlogCheckpoint
from adapters.capture.errors import (
    CaptureConfigurationError,
    SlotBusyError,
    SourceUnavailableError,
)
from domain.errors import SyncError
from domain.events import Operation

REQUIRED = {  # full row images, and column names in the table map events
    "log_bin": "ON",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
}
_ER_MASTER_FATAL_READING_BINLOG = 1236  # also sent when another client took our server_id
BROKEN_STREAM = (pymysql.err.InterfaceError, OSError, struct.error, EOFError)


def connection_settings(dsn: str) -> tuple[dict[str, Any], str]:
    """PyMySQL connect arguments and the database name from a SQLAlchemy URL."""
    url = make_url(dsn)
    if not url.database:
        raise CaptureConfigurationError("the revamp DSN names no database")
    settings: dict[str, Any] = {"host": url.host or "127.0.0.1", "port": url.port or 3306}
    settings.update(user=url.username or "root", password=url.password or "")
    if "unix_socket" in url.query:
        settings["unix_socket"] = url.query["unix_socket"]
    return settings, url.database


@contextmanager
def _cursor(settings: dict[str, Any]) -> Iterator[Any]:
    conn = pymysql.connect(**settings, connect_timeout=5, autocommit=True)
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.close()


def check_server(settings: dict[str, Any], server_id: int) -> None:
    """Raise CaptureConfigurationError unless the binlog carries full row images and names."""
    names = [*REQUIRED, "server_id"]
    with _cursor(settings) as cursor:
        placeholders = ", ".join(["%s"] * len(names))
        cursor.execute(f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({placeholders})", names)
        found = {name.lower(): str(value).upper() for name, value in cursor.fetchall()}
    wrong = [f"{k}={found.get(k)} (need {v})" for k, v in REQUIRED.items() if found.get(k) != v]
    if wrong:
        raise CaptureConfigurationError("binlog not set up for capture: " + ", ".join(wrong))
    if found.get("server_id") == str(server_id):
        raise CaptureConfigurationError(
            f"capture server_id {server_id} equals the server's own server_id: choose another"
        )


def current_position(settings: dict[str, Any]) -> BinlogPosition:
    """The end of the binlog now (SHOW BINARY LOG STATUS, or SHOW MASTER STATUS)."""
    with _cursor(settings) as cursor:
        try:
            cursor.execute("SHOW BINARY LOG STATUS")
        except pymysql.err.ProgrammingError:  # MariaDB, and MySQL before 8.2
            cursor.execute("SHOW MASTER STATUS")
        row = cursor.fetchone()
    if row is None:
        raise CaptureConfigurationError("binary logging is off on the revamp database")
    return BinlogPosition(str(row[0]), int(row[1]))


def server_identity(settings: dict[str, Any]) -> dict[str, Any]:
    """Which server this is: MySQL's server_uuid (MariaDB has none) and the server_id."""
    with _cursor(settings) as cursor:
        cursor.execute("SELECT @@server_id")
        (server_id,) = cursor.fetchone()
        try:
            cursor.execute("SELECT @@server_uuid")
            (uuid,) = cursor.fetchone()
        except pymysql.err.OperationalError:  # MariaDB: unknown system variable
            uuid = None
    return {"server_uuid": uuid, "server_id": int(server_id)}


def read_table_types(settings: dict[str, Any], database: str, table: str) -> Any:
    """A table's column types as Debezium gives them (adapters.capture.mysqltypes)."""
    with _cursor(settings) as cursor:
        cursor.execute(mysqltypes.COLUMNS_SQL, (database, table))
        return mysqltypes.table_types(cursor.fetchall())


def binlog_sizes(settings: dict[str, Any]) -> dict[str, int]:
    """The binlog files the server still has, with their sizes."""
    with _cursor(settings) as cursor:
        cursor.execute("SHOW BINARY LOGS")
        return {str(row[0]): int(row[1]) for row in cursor.fetchall()}


def foreign_checkpoint(
    saved: BinlogCheckpoint, identity: dict[str, Any], binlogs: dict[str, int]
) -> str | None:
    """Why a saved checkpoint cannot be from this server (None when it can): another
    server_uuid or server_id, or a binlog file this server never wrote that far."""
    recorded = saved.server or {}
    for key in ("server_uuid", "server_id"):
        was, now = recorded.get(key), identity.get(key)
        if was is not None and now is not None and was != now:
            return f"it was taken from {key} {was}, this server is {now}"
    if saved.file not in binlogs:
        return f"binlog {saved.file} does not exist on this server"
    if saved.pos > binlogs[saved.file]:
        return f"binlog {saved.file} is only {binlogs[saved.file]} bytes here, not {saved.pos}"
    return None


def translate(error: BaseException, position: BinlogPosition | None, state: str) -> SyncError:
    """A driver error as the sync's error: transient unless retrying cannot help."""
    if isinstance(error, pymysql.err.OperationalError):
        code = error.args[0] if error.args else None
        if code == _ER_MASTER_FATAL_READING_BINLOG and "same server" in str(error).lower():
            return SlotBusyError(f"binlog client server_id is in use by another client: {error}")
        if code == _ER_MASTER_FATAL_READING_BINLOG:
            return CaptureConfigurationError(
                f"binlog position {position} cannot be read ({error}): if it was purged, remove "
                f"{state} to restart from the current end, then run tandem reconcile"
            )
        return SourceUnavailableError(f"MySQL unavailable: {error}")
    return SourceUnavailableError(f"MySQL binlog stream broken: {error!r}")


def row_changes(event: Any, file: str, pos: int) -> Iterator[RowChange]:
    """The rows of a Write/Update/DeleteRowsEvent that starts at `file`:`pos`."""
    key = event.primary_key
    key_columns = (key,) if isinstance(key, str) and key else tuple(key or ())
    for index, row in enumerate(event.rows):
        if isinstance(event, WriteRowsEvent):
            op, before, after = Operation.CREATE, None, row["values"]
        elif isinstance(event, DeleteRowsEvent):
            op, before, after = Operation.DELETE, row["values"], None
        else:
            op, before, after = Operation.UPDATE, row["before_values"], row["after_values"]
        ts_ms = event.timestamp * 1000
        yield RowChange(event.table, op, before, after, key_columns, file, pos, index, ts_ms)
