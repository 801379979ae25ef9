"""How far capture is behind each database's log: slot bytes on PostgreSQL, binlog distance on
MySQL, read from the servers and the capture's own checkpoint, for `tandem status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

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
    """The server's binlog end, the capture's checkpoint, and the bytes between them (None
    when there is no checkpoint yet, or its file was purged)."""
    with translated("revamp binary logs"), engine.connect() as conn:
        logs = [(str(row[0]), int(row[1])) for row in conn.execute(text("SHOW BINARY LOGS"))]
    end = f"{logs[-1][0]}:{logs[-1][1]}" if logs else None
    try:
        saved = CheckpointFile(checkpoint).load()
    except (OSError, CaptureConfigurationError):
        saved = None
    if saved is None:
        return {"server": end, "checkpoint": None, "behind_bytes": None}
    file, pos = saved.file, saved.pos
    names = [name for name, _ in logs]
    if file not in names:
        return {"server": end, "checkpoint": f"{file}:{pos}", "behind_bytes": None}
    after = logs[names.index(file) :]
    behind = sum(size for _, size in after) - pos
    return {"server": end, "checkpoint": f"{file}:{pos}", "behind_bytes": max(0, behind)}
