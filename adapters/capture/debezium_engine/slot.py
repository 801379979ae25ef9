"""Debezium's PostgreSQL slot, made by `tandem migrate` (so that no change after it is
missed) and dropped on request; Debezium itself only reads it."""

from __future__ import annotations

import time

from psycopg import errors as pg_errors

from adapters.capture import pgslot
from adapters.capture.pgmessages import format_lsn
from domain.errors import SyncError


def create_slot(dsn: str, slot: str, publication: str) -> str:
    """The pgoutput slot of the publication, created if absent; describes it."""
    try:
        with pgslot.connect(pgslot.libpq_dsn(dsn), "tandem-migrate", 5) as conn:
            confirmed = pgslot.ensure_slot(conn, slot, publication)
    except SyncError:
        raise
    except Exception as error:
        translated = pgslot.translate(error, slot, "creating the slot")
        if translated is None:
            raise
        raise translated from error
    return f"slot {slot} at {format_lsn(confirmed)}"


def drop_slot(dsn: str, slot: str, wait_s: float = 10.0) -> None:
    """Drop the slot (and the WAL it keeps), once the connector that read it has let go."""
    deadline = time.monotonic() + wait_s
    with pgslot.connect(pgslot.libpq_dsn(dsn), "tandem-migrate", 5) as conn:
        while True:
            try:
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    " WHERE slot_name = %s",
                    (slot,),
                )
                return
            except pg_errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
