"""How far capture is behind each database's log: slot bytes on PostgreSQL, binlog distance on
MySQL, read from the servers and the capture's own checkpoint, for `tandem status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from adapters.capture.checkpoint import CheckpointFile
from adapters.capture.errors import CaptureConfigurationError
from adapters.sql.errors import translated

_SLOTS = text(
    "SELECT slot_name, plugin, active,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS behind_bytes,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes"
    " FROM pg_replication_slots WHERE database = current_database() ORDER BY slot_name"
)


def slot_lag(engine: Engine) -> list[dict[str, Any]]:
    """Every logical slot of the database: active or not, bytes not yet confirmed, WAL kept."""
    with translated("legacy replication slots"), engine.connect() as conn:
        return [
            {
                "slot": row.slot_name,
                "plugin": row.plugin,
                "active": bool(row.active),
                "behind_bytes": int(row.behind_bytes or 0),
                "retained_bytes": int(row.retained_bytes or 0),
            }
            for row in conn.execute(_SLOTS)
        ]


def binlog_distance(engine: Engine, checkpoint: Path) -> dict[str, Any]:
    """The server's binlog end, the built-in capture's checkpoint, and the bytes between them
    (None when there is no checkpoint yet, or its file was purged)."""
    try:
        saved = CheckpointFile(checkpoint).load()
    except (OSError, CaptureConfigurationError):
        saved = None
    return _distance(engine, None if saved is None else (saved.file, saved.pos), False)


def debezium_binlog_distance(engine: Engine, position: tuple[str, int] | None) -> dict[str, Any]:
    """The same for Debezium's MySQL connector, from the binlog position of the last event it
    delivered (`source.file`, `source.pos`): counted from the end of that event's transaction,
    which was read whole, so a capture that has read everything is 0 bytes behind."""
    return _distance(engine, position, True)


def _distance(engine: Engine, at: tuple[str, int] | None, to_commit: bool) -> dict[str, Any]:
    with translated("revamp binary logs"), engine.connect() as conn:
        logs = [(str(row[0]), int(row[1])) for row in conn.execute(text("SHOW BINARY LOGS"))]
        if at is not None and to_commit:
            at = (at[0], _transaction_end(conn, *at))
    end = f"{logs[-1][0]}:{logs[-1][1]}" if logs else None
    if at is None:
        return {"server": end, "checkpoint": None, "behind_bytes": None}
    file, pos = at
    names = [name for name, _ in logs]
    if file not in names:
        return {"server": end, "checkpoint": f"{file}:{pos}", "behind_bytes": None}
    after = logs[names.index(file) :]
    behind = sum(size for _, size in after) - pos
    return {"server": end, "checkpoint": f"{file}:{pos}", "behind_bytes": max(0, behind)}


def _transaction_end(conn: Connection, file: str, pos: int, within: int = 500) -> int:
    """Where the transaction of the event at `pos` ends (its commit event's end), found within
    the next `within` events; `pos` itself when the binlog cannot say."""
    try:
        with conn.begin_nested():
            events = conn.exec_driver_sql(
                f"SHOW BINLOG EVENTS IN %s FROM {int(pos)} LIMIT {int(within)}", (file,)
            ).all()
    except DBAPIError:
        return pos  # purged, or not an event's start
    for event in events:
        kind, info = str(event[2]), str(event[5] or "")
        if kind.lower() == "xid" or (kind == "Query" and info.strip().upper() == "COMMIT"):
            return int(event[4])
    return pos
