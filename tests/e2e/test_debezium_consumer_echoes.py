"""Debezium run by Kafka Connect publishes the sync service's own PostgreSQL transactions (it
has none of the embedded capture's filtering): the consumer must know them from real
Debezium's `source.origin`, deletes included, which no `source` column can tell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from adapters.capture.debezium_engine.own_transactions import NoOwnTransactions
from adapters.kafka.offsets import read_to_end
from adapters.sql.marking import PostgresMarking
from domain.events import SYNC_ORIGINS, Platform
from domain.model import RawMessage
from domain.rules import is_echo
from tests.conftest import truncate_all
from tests.e2e.test_debezium_golden import Captures

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def connect_like(
    running_stack: dict[str, str], engines: dict[str, Engine], tmp_path: Path
) -> Iterator[Captures]:
    """Real Debezium on PostgreSQL, publishing every transaction as Kafka Connect would."""
    truncate_all(engines)
    captures = Captures(running_stack, tmp_path, "debezium")
    captures.runners = {"capture-legacy": captures.runners["capture-legacy"]}
    captures.runners["capture-legacy"].own = NoOwnTransactions()
    try:
        captures.start()
        yield captures
    finally:
        captures.close()


def test_the_sync_services_own_postgres_changes_are_echoes(
    connect_like: Captures, engines: dict[str, Engine]
) -> None:
    legacy = engines["legacy"]
    insert = text(
        "INSERT INTO legacy_users (username, email, status) VALUES (:n, :e, 'active') RETURNING id"
    )
    with legacy.begin() as conn:  # the application
        app_id = conn.execute(insert, {"n": "by-app", "e": "app@x.org"}).scalar_one()
    marking = PostgresMarking(use_origin=True)
    with legacy.connect() as conn:  # the sync service, as its target store writes
        with conn.begin():
            marking.begin(conn)
            conn.execute(insert, {"n": "by-sync", "e": "sync@x.org"})
            conn.execute(text("DELETE FROM legacy_users WHERE id = :id"), {"id": app_id})
            marking.close(conn)
        marking.end(conn)
    with legacy.begin() as conn:
        conn.execute(text("DELETE FROM legacy_users WHERE username = 'by-sync'"))
    connect_like.publish()

    codec = connect_like.container.core.codec()
    kafka = connect_like.container.adapters.kafka()
    records = read_to_end(kafka, connect_like.topics[Platform.LEGACY])
    events = [
        event
        for r in sorted(records, key=lambda r: r.offset)
        if (event := codec.decode(RawMessage(r.topic, r.partition, r.offset, r.key, r.value)))
    ]
    seen = sorted(
        (e.operation.value, e.key["id"] == app_id, e.source_origin, is_echo(e)) for e in events
    )
    assert [(op, app, origin is not None, echo) for op, app, origin, echo in seen] == [
        ("c", False, True, True),  # the sync's insert
        ("c", True, False, False),  # the application's
        ("d", False, False, False),  # the application's delete of the sync's row
        ("d", True, True, True),  # the sync's delete: its `source` column cannot say
    ], seen
    assert {origin for _, _, origin, _ in seen if origin} <= set(SYNC_ORIGINS)
