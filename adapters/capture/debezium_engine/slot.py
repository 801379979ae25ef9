"""Debezium's PostgreSQL publication and slot: its own, so that the built-in capture never
sees the heartbeat table. Made by `tandem migrate` (no change after it is missed) or at start,
dropped on request; Debezium itself only reads them."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.capture import pgslot
from adapters.capture.pgmessages import format_lsn
from domain.errors import SyncError

_PUBLISHED = "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s"


def prepare_postgres(
    dsn: str, slot: str, publication: str, tables: Sequence[tuple[str, str]]
) -> str:
    """The publication of `tables` (missing ones added) and its pgoutput slot; describes them."""
    try:
        with pgslot.connect(pgslot.libpq_dsn(dsn), "tandem-migrate", 5) as conn:
            published = {(str(s), str(t)) for s, t in conn.execute(_PUBLISHED, (publication,))}
            exists = conn.execute(
                "SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,)
            ).fetchone()
            missing = ", ".join(f'"{s}"."{t}"' for s, t in tables if (s, t) not in published)
            if exists is None:
                conn.execute(f'CREATE PUBLICATION "{publication}" FOR TABLE {missing}')
            elif missing:
                conn.execute(f'ALTER PUBLICATION "{publication}" ADD TABLE {missing}')
            confirmed = pgslot.ensure_slot(conn, slot, publication)
    except SyncError:
        raise
    except Exception as error:
        translated = pgslot.translate(error, slot, "preparing the slot")
        if translated is None:
            raise
        raise translated from error
    return f"publication and slot {slot} at {format_lsn(confirmed)}"


def drop_postgres(dsn: str, slot: str, publication: str, wait_s: float = 10.0) -> None:
    """Drop the slot (and the WAL it keeps), once the connector that read it has let go, and
    the publication."""
    with pgslot.connect(pgslot.libpq_dsn(dsn), "tandem-migrate", 5) as conn:
        pgslot.drop_slot(conn, slot, wait_s)
        conn.execute(f'DROP PUBLICATION IF EXISTS "{publication}"')
