"""The sync service's own transactions in Debezium's stream: found by the replication origin
(PostgreSQL) or between its opening and closing marker rows (MySQL), dropped with their
tombstones, and never half settled."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from adapters.capture.debezium_engine.engine import Record
from adapters.capture.debezium_engine.own_transactions import MarkedTransactions, SyncOrigins
from adapters.sql.marking import MARKER_CLOSES, MARKER_OPENS

USERS = "legacy.public.legacy_users"
MARKER = "revamp.revamp.tandem_sync_marker"
ITEMS = "revamp.revamp.items"


def change(
    topic: str, row_id: int, *, origin: str | None = None, wrapped: bool = True, **after: Any
) -> Record:
    payload = {
        "before": None, "after": {"id": row_id, **after}, "op": "c",
        "source": {"connector": "postgresql", "txId": 7, "origin": origin},
    }  # fmt: skip
    document = {"schema": {"type": "struct"}, "payload": payload} if wrapped else payload
    return (topic, orjson.dumps({"id": row_id}), orjson.dumps(document))


def tombstone(topic: str, row_id: int) -> Record:
    return (topic, orjson.dumps({"id": row_id}), None)


def marker(token: str) -> Record:
    return change(MARKER, 1, txn_token=token)


@pytest.mark.parametrize("wrapped", [True, False], ids=["schemas", "no-schemas"])
def test_postgres_changes_of_the_sync_origins_go_with_their_tombstones(wrapped: bool) -> None:
    own = SyncOrigins(["tandem_sync"])
    app = change(USERS, 1, wrapped=wrapped)
    others = change(USERS, 5, origin="some_subscription", wrapped=wrapped)
    kept = own.keep([
        app,
        change(USERS, 2, origin="tandem_sync", wrapped=wrapped),
        change(USERS, 3, origin="tandem_sync_4", wrapped=wrapped),  # scale-out's siblings
        tombstone(USERS, 3),
        others,  # another replication's changes are the application's
        tombstone(USERS, 5),
    ])  # fmt: skip
    assert kept == [app, others, tombstone(USERS, 5)]
    assert (own.skipped, own.skipped_transactions) == (2, 1)  # both of txId 7
    assert own.settled([app]) == 1


def test_a_column_named_origin_does_not_make_a_change_the_syncs() -> None:
    own = SyncOrigins(["tandem_sync"])
    topic, key, value = change(USERS, 2, origin=None, note="x")
    named = (topic, key, value.replace(b'"note":"x"', b'"origin":"tandem_sync"'))
    assert own.keep([named]) == [named]


def test_mysql_changes_between_the_sync_markers_are_dropped_across_batches() -> None:
    own = MarkedTransactions(MARKER)
    before, after = change(ITEMS, 1), change(ITEMS, 4)
    first = [before, marker(MARKER_OPENS + "t1"), change(ITEMS, 2)]
    assert own.keep(first) == [before]
    assert own.settled(first) == 1  # the open transaction is read again after a restart
    second = [change(ITEMS, 3), tombstone(ITEMS, 3), marker(MARKER_CLOSES + "t1"), after]
    assert own.keep(second) == [after]
    assert own.settled(second) == len(second)
    assert own.skipped == 2  # changes; the marker's own rows are never published
    assert own.skipped_transactions == 1


def test_a_sync_transaction_open_for_a_whole_batch_settles_none_of_it() -> None:
    own = MarkedTransactions(MARKER)
    own.keep([marker(MARKER_OPENS + "t1")])
    middle = [change(ITEMS, 2), change(ITEMS, 3)]
    assert own.keep(middle) == []
    assert own.settled(middle) == 0


def test_after_a_restart_the_capture_reads_from_outside_any_sync_transaction() -> None:
    own = MarkedTransactions(MARKER)
    own.keep([marker(MARKER_OPENS + "t1")])
    own.reset()  # the engine starts again before the marker: what follows is read anew
    app = change(ITEMS, 1)
    assert own.keep([app]) == [app]


def test_a_marker_without_the_opening_word_opens_nothing() -> None:
    """An older sync service's marker (a bare token, never closed) must not swallow the
    application's changes after it."""
    own = MarkedTransactions(MARKER)
    app = change(ITEMS, 1)
    assert own.keep([marker("0123abcd"), app]) == [app]
