"""The PostgreSQL side of the capture over SQL: connecting, the slot, lag, keys, columns."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import psycopg
import psycopg2
import psycopg2.errors
from psycopg import errors as pg_errors
from sqlalchemy.engine import URL, make_url

from adapters.capture.errors import (
    CaptureConfigurationError,
    SlotBusyError,
    SourceUnavailableError,
)
from domain.errors import SyncError

log = logging.getLogger("tandem.capture.postgres")

Connection = psycopg.Connection[Any]
_SLOT = (
    "SELECT plugin, (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint, database"
    " FROM pg_replication_slots WHERE slot_name = %s"
)
_PRIMARY_KEY = (
    "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY"
    " AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
    " WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord"
)
_COLUMNS = (
    "SELECT a.attname, a.attnotnull, ARRAY(SELECT e.enumlabel::text FROM pg_enum e"
    " WHERE e.enumtypid = a.atttypid ORDER BY e.enumsortorder),"
    " pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a"
    " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped"
)
_LAG = (
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,"
    " (confirmed_flush_lsn - '0/0'::pg_lsn)::bigint FROM pg_replication_slots WHERE slot_name = %s"
)


@dataclass(frozen=True)
class SlotLag:
    """How far behind the slot is, in bytes of WAL."""

    retained_bytes: int  # WAL the server keeps for the slot: current LSN - restart_lsn
    unconfirmed_bytes: int  # WAL not confirmed as captured: current LSN - confirmed_flush_lsn
    confirmed_lsn: int


def libpq_dsn(dsn: str | URL) -> str:
    """A libpq connection string from a SQLAlchemy URL (postgresql+psycopg://..., as a string
    or an engine's `url`) or conninfo."""
    if isinstance(dsn, str) and "://" not in dsn:
        return dsn
    return make_url(dsn).set(drivername="postgresql").render_as_string(hide_password=False)


def connect(conninfo: str, application_name: str, timeout_s: int) -> Connection:
    """An autocommit connection whose settings fix the text formats pgoutput produces."""
    conn = psycopg.connect(
        conninfo, autocommit=True, connect_timeout=timeout_s, application_name=application_name,
        keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3,
    )  # fmt: skip
    for setting in ("DateStyle = 'ISO'", "TimeZone = 'UTC'", "extra_float_digits = 3"):
        conn.execute(f"SET {setting}")
    return conn


def ensure_slot(conn: Connection, slot: str, publication: str) -> int:
    """Check the prerequisites, create the pgoutput slot if absent; its confirmed LSN."""
    if _one(conn, "SHOW wal_level") != ("logical",):
        raise CaptureConfigurationError("PostgreSQL wal_level must be 'logical' for capture")
    if _one(conn, "SELECT 1 FROM pg_publication WHERE pubname = %s", publication) is None:
        raise CaptureConfigurationError(
            f"publication {publication!r} does not exist: run `tandem migrate`"
        )
    row = _one(conn, _SLOT, slot)
    if row is None:
        _one(conn, "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", slot)
        log.info("replication slot created", extra={"slot": slot})
        row = _one(conn, _SLOT, slot)
    if row is None or row[0] != "pgoutput" or row[2] != conn.info.dbname:
        raise CaptureConfigurationError(
            f"replication slot {slot!r} is not a pgoutput slot of database {conn.info.dbname!r}"
        )
    return int(row[1] or 0)


def current_flush_lsn(conn: Connection) -> int:
    """The WAL position flushed now: every transaction committed so far ends before it."""
    return int(_one(conn, "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint")[0])


def drop_slot(conn: Connection, slot: str, wait_s: float = 10.0) -> None:
    """Drop the slot if it exists, once nothing streams it: the server ends the stream of a
    connection just closed a moment later (ObjectInUse if it is still active after `wait_s`)."""
    deadline = time.monotonic() + wait_s
    while row := _one(conn, "SELECT active FROM pg_replication_slots WHERE slot_name = %s", slot):
        if not row[0] or time.monotonic() > deadline:
            _one(conn, "SELECT pg_drop_replication_slot(%s)", slot)
            return
        time.sleep(0.05)


def drop_slot_at(dsn: str | URL, slot: str, wait_s: float = 10.0) -> None:
    """`drop_slot` on a connection of its own to `dsn` (as `libpq_dsn` takes it)."""
    with psycopg.connect(libpq_dsn(dsn), autocommit=True) as conn:
        drop_slot(conn, slot, wait_s)


def slot_lag(conn: Connection, slot: str) -> SlotLag:
    row = _one(conn, _LAG, slot)
    if row is None:
        raise CaptureConfigurationError(f"replication slot {slot!r} does not exist")
    return SlotLag(*(int(v or 0) for v in row))


def primary_key(conn: Connection, relation_oid: int) -> tuple[str, ...]:
    """The primary-key columns of a table, in key order; empty when it has none."""
    return tuple(r[0] for r in conn.execute(_PRIMARY_KEY, (relation_oid,)))


class ColumnFacts(NamedTuple):
    """What the catalog says of a column beyond the Relation message."""

    not_null: bool
    enum_labels: tuple[str, ...]  # empty for other types
    default: str | None  # the default's expression, as pg_get_expr writes it


def column_facts(conn: Connection, relation_oid: int) -> dict[str, ColumnFacts]:
    """Per column: NOT NULL, the labels of its enum type and its default expression."""
    rows = conn.execute(_COLUMNS, (relation_oid,))
    return {r[0]: ColumnFacts(bool(r[1]), tuple(r[2] or ()), r[3]) for r in rows}


def translate(error: BaseException, slot: str, action: str) -> SyncError | None:
    """The sync's error for an error of either driver (psycopg 3 for SQL, psycopg2 for the
    replication stream), or None when it is not one to retry."""
    if isinstance(error, pg_errors.ObjectInUse | psycopg2.errors.ObjectInUse):
        return SlotBusyError(f"replication slot {slot!r} is in use: {error}".strip())
    # psycopg2 raises a bare DatabaseError, with no SQLSTATE, when the stream breaks off
    broken_stream = type(error) is psycopg2.DatabaseError and not getattr(error, "pgcode", None)
    if broken_stream or isinstance(error, _UNAVAILABLE):
        return SourceUnavailableError(
            f"PostgreSQL unavailable during {action}: {type(error).__name__}: {error}".strip()
        )
    return None


_UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)


def _one(conn: Connection, sql: str, *params: Any) -> Any:
    return conn.execute(sql, params).fetchone()
