"""The sync service's own transactions in Debezium's stream, dropped before they are published
(as the built-in capture drops them), so that no mapped table echoes, whatever its triggers.

- PostgreSQL: the sync service's sessions take a replication origin (`tandem_sync`, or a
  numbered sibling); pgoutput sends it with each of their transactions and Debezium 3.6 puts
  it in every change event's `source.origin`.
- MySQL / MariaDB: Debezium's MySQL connector does not see where a MariaDB transaction begins
  or ends (no BEGIN event reaches it: the source block has no thread nor GTID, the offsets
  move on with every event). The sync service writes its marker row first and last in each of
  its transactions (`open/<token>`, `close/<token>`), and a binlog holds each transaction's
  events together, so the events between the two are the sync service's. The marker's own
  events are never published.

A delete's tombstone follows it: it is dropped with its delete."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, Protocol

from adapters.capture.debezium_engine.engine import Record
from adapters.debezium_envelope import payload_field
from adapters.sql.marking import MARKER_CLOSES, MARKER_OPENS
from domain.events import is_sync_origin

log = logging.getLogger("tandem.capture.debezium")


class OwnTransactions(Protocol):
    skipped: int  # change events dropped
    skipped_transactions: int

    def keep(self, records: list[Record]) -> list[Record]:
        """The records of `records` (one batch, in log order) that are not the sync's."""
        ...

    def settled(self, records: list[Record]) -> int:
        """How many of the batch's records (a prefix) may be marked processed: not those of
        a transaction still open at the end of the batch, which a restart must read again
        from its start."""
        ...

    def reset(self) -> None:
        """The engine starts again, from the last record marked processed: never inside a
        transaction of the sync service."""
        ...


class SyncOrigins:
    """PostgreSQL: changes whose `source.origin` is the sync service's replication origin."""

    _ORIGIN = b'"origin":"'  # the JsonConverter's bytes when an origin is set (else null)

    def __init__(self, origins: Collection[str]) -> None:
        self.origins = frozenset(origins)
        self.skipped = self.skipped_transactions = 0
        self._dropped: tuple[str, bytes | None] | None = None  # whose tombstone goes too
        self._transaction: Any = None  # the last one dropped

    def _is_sync(self, origin: Any) -> bool:
        return is_sync_origin(origin, self.origins)

    def keep(self, records: list[Record]) -> list[Record]:
        kept = []
        for record in records:
            topic, key, value = record
            if value is None:
                if self._dropped != (topic, key):
                    kept.append(record)
                self._dropped = None
                continue
            self._dropped = None
            source = payload_field(value, "source") if self._ORIGIN in value else None
            if source is not None and self._is_sync(source.get("origin")):
                self._dropped = (topic, key)
                self.skipped += 1
                if source.get("txId") != self._transaction:
                    self._transaction = source.get("txId")
                    self.skipped_transactions += 1
                continue
            kept.append(record)
        return kept

    def settled(self, records: list[Record]) -> int:
        return len(records)  # pgoutput sends a transaction again whole, its origin first

    def reset(self) -> None:
        self._dropped = None


class MarkedTransactions:
    """MySQL / MariaDB: every change between the sync service's opening and closing marker
    rows (`marker_topic`); the marker's own changes."""

    def __init__(self, marker_topic: str) -> None:
        self.marker_topic = marker_topic
        self.skipped = self.skipped_transactions = 0
        self._open: str | None = None  # the token of the sync transaction being read
        self._opened_at: int | None = None  # where it opened in the last batch kept

    def keep(self, records: list[Record]) -> list[Record]:
        kept = []
        self._opened_at = None
        for index, record in enumerate(records):
            topic, _, value = record
            if topic == self.marker_topic:
                self._marker(value, index)
            elif self._open is not None:
                self.skipped += value is not None
            else:
                kept.append(record)
        if self._open is None:
            self._opened_at = None
        return kept

    def _marker(self, value: bytes | None, index: int) -> None:
        token = None if value is None else payload_field(value, "after", "txn_token")
        if not isinstance(token, str):
            return  # the marker row's tombstone or delete, an old sync service's token
        if token.startswith(MARKER_OPENS):
            if self._open is not None:
                log.warning("sync transaction opened before the last one closed",
                            extra={"marker": self.marker_topic})  # fmt: skip
            self._open, self._opened_at = token.removeprefix(MARKER_OPENS), index
            self.skipped_transactions += 1
        elif token.startswith(MARKER_CLOSES) and self._open is not None:
            if token.removeprefix(MARKER_CLOSES) != self._open:
                log.warning("sync transaction closed by another's marker",
                            extra={"marker": self.marker_topic})  # fmt: skip
            self._open = None

    def settled(self, records: list[Record]) -> int:
        if self._open is None:
            return len(records)
        return 0 if self._opened_at is None else self._opened_at

    def reset(self) -> None:
        self._open = self._opened_at = None


class NoOwnTransactions:
    """Nothing to drop (a capture whose database has no sync marks to read)."""

    skipped = skipped_transactions = 0

    def keep(self, records: list[Record]) -> list[Record]:
        return records

    def settled(self, records: list[Record]) -> int:
        return len(records)

    def reset(self) -> None:
        pass
