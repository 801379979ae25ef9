"""How the sync service marks its own transactions, per database, for triggers and capture."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.exc import DBAPIError

from adapters.sql.tables import SchemaTables
from domain.errors import TargetUnavailableError
from domain.events import SYNC_ORIGIN, SYNC_ORIGINS

REPLICATION_ORIGIN, ORIGINS = SYNC_ORIGIN, SYNC_ORIGINS  # the names: domain.events
# in use by another session (55006), not created (42704), may not be created (42501)
_ORIGIN_UNAVAILABLE = {"55006", "42704", "42501"}
_SETUP_ORIGIN = text("SELECT pg_replication_origin_session_setup(:origin)")
_CREATE_ORIGIN = text(
    "SELECT pg_replication_origin_create(:origin) "
    "WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = :origin)"
)


_MARK = "SELECT set_config('tandem.origin', 'sync_service', true)"
_MARK_AND_ASK = (
    "SELECT pg_replication_origin_session_is_setup()"
    " FROM set_config('tandem.origin', 'sync_service', true)"
)


class PostgresMarking:
    """A transaction-local setting for the `source` trigger, and a replication origin so that
    logical decoding can drop the whole transaction, deletes included.

    A replication origin is held by one session at a time, so concurrent sync transactions
    (several consumers of one direction: scale-out) each take a free one of `tandem_sync`,
    `tandem_sync_2` .. `tandem_sync_8` (created on first need where the role may); capture
    skips every one of them."""

    def __init__(self, use_origin: bool) -> None:
        self.use_origin = use_origin

    def begin(self, conn: Connection) -> None:
        if not self.use_origin:
            conn.exec_driver_sql(_MARK)
            return
        if conn.exec_driver_sql(_MARK_AND_ASK).scalar():  # one round trip for both
            return
        for name in ORIGINS:
            try:
                with conn.begin_nested():
                    if name != REPLICATION_ORIGIN:
                        conn.execute(_CREATE_ORIGIN, {"origin": name})
                    conn.execute(_SETUP_ORIGIN, {"origin": name})
                return
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) not in _ORIGIN_UNAVAILABLE:
                    raise
        raise TargetUnavailableError(
            f"legacy database: every replication origin ({ORIGINS[0]}..{ORIGINS[-1]}) is in use "
            "by another sync transaction"
        )

    def close(self, conn: Connection) -> None:
        """Nothing: the replication origin marks the transaction as a whole."""

    def end(self, conn: Connection) -> None:
        if self.use_origin:
            conn.execute(
                text(
                    "SELECT pg_replication_origin_session_reset() "
                    "WHERE pg_replication_origin_session_is_setup()"
                )
            )
            conn.commit()

    @staticmethod
    def origin_exists(conn: Connection) -> bool:
        found = conn.execute(
            text("SELECT 1 FROM pg_replication_origin WHERE roname = :o"), {"o": REPLICATION_ORIGIN}
        ).first()
        conn.rollback()
        return found is not None

    @staticmethod
    def upsert_many(table, keys, columns):  # type: ignore[no-untyped-def]
        """One INSERT .. ON CONFLICT for many rows (executemany sends them multi-row)."""
        statement = postgresql.insert(table)
        return statement.on_conflict_do_update(
            index_elements=keys, set_={c: statement.excluded[c] for c in columns}
        )


# The marker row's token when it opens a transaction of the sync service, and when it closes
# it: Debezium's MySQL connector does not tell MariaDB's transactions apart, but a binlog holds
# each transaction's events together, so everything between the two is the sync service's.
MARKER_OPENS, MARKER_CLOSES = "open/", "close/"


class MySQLMarking:
    """A session variable for the `source` trigger, and a marker row written first in the
    transaction, so that binlog capture can drop the whole transaction, and again last, so
    that a capture that cannot see where a transaction ends (Debezium's, on MariaDB) can."""

    def __init__(self, tables: SchemaTables) -> None:
        self.marker = tables.marker
        self._write = (
            f"INSERT INTO {tables.marker.name} (id, txn_token, written_at)"
            " VALUES (1, %s, UTC_TIMESTAMP(6))"
            " ON DUPLICATE KEY UPDATE txn_token = %s, written_at = UTC_TIMESTAMP(6)"
        )

    def begin(self, conn: Connection) -> None:
        conn.exec_driver_sql("SET @tandem_origin = 'sync_service'")
        conn.info["tandem_marker_token"] = token = uuid.uuid4().hex
        conn.exec_driver_sql(self._write, (MARKER_OPENS + token,) * 2)

    def close(self, conn: Connection) -> None:
        """The transaction's last write, before its commit."""
        token = conn.info.pop("tandem_marker_token")
        conn.exec_driver_sql(self._write, (MARKER_CLOSES + token,) * 2)

    def end(self, conn: Connection) -> None:
        conn.exec_driver_sql("SET @tandem_origin = NULL")
        conn.commit()

    @staticmethod
    def upsert_many(table, keys, columns):  # type: ignore[no-untyped-def]
        """One INSERT .. ON DUPLICATE KEY UPDATE for many rows (sent multi-row)."""
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update({c: statement.inserted[c] for c in columns})
