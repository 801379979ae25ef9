"""How the sync service marks its own transactions, per database, for triggers and capture."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text
from sqlalchemy.dialects import mysql, postgresql

from adapters.sql.tables import SchemaTables

REPLICATION_ORIGIN = "tandem_sync"


class PostgresMarking:
    """A transaction-local setting for the `source` trigger, and a replication origin so that
    logical decoding can drop the whole transaction, deletes included."""

    def __init__(self, use_origin: bool) -> None:
        self.use_origin = use_origin

    def begin(self, conn: Connection) -> None:
        conn.execute(text("SELECT set_config('tandem.origin', 'sync_service', true)"))
        if self.use_origin:
            conn.execute(
                text(
                    "SELECT pg_replication_origin_session_setup(:origin) "
                    "WHERE NOT pg_replication_origin_session_is_setup()"
                ),
                {"origin": REPLICATION_ORIGIN},
            )

    def end(self, conn: Connection) -> None:
        if self.use_origin:
            conn.execute(text("SELECT pg_replication_origin_session_reset()"))
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


class MySQLMarking:
    """A session variable for the `source` trigger, and a marker row written first in the
    transaction so that binlog capture can drop the whole transaction."""

    def __init__(self, tables: SchemaTables) -> None:
        self.marker = tables.marker

    def begin(self, conn: Connection) -> None:
        conn.execute(text("SET @tandem_origin = 'sync_service'"))
        statement = mysql.insert(self.marker).values(
            id=1, txn_token=uuid.uuid4().hex, written_at=text("UTC_TIMESTAMP(6)")
        )
        conn.execute(
            statement.on_duplicate_key_update(
                txn_token=statement.inserted.txn_token, written_at=statement.inserted.written_at
            )
        )

    def end(self, conn: Connection) -> None:
        conn.execute(text("SET @tandem_origin = NULL"))
        conn.commit()

    @staticmethod
    def upsert_many(table, keys, columns):  # type: ignore[no-untyped-def]
        """One INSERT .. ON DUPLICATE KEY UPDATE for many rows (sent multi-row)."""
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update({c: statement.inserted[c] for c in columns})
