"""The capabilities the sync needs from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from domain.catalog import Catalog
from domain.events import Platform, SyncEvent
from domain.mapping import EntityMapping
from domain.model import (
    DeadLetter,
    EntityLink,
    ParentKey,
    ParkedChild,
    RawMessage,
    Resolution,
    StoredRow,
)


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None:
        """Wait; fakes advance time instead."""


class ChangeSource(Protocol):
    """Where change messages come from (a consumer group on the change topics)."""

    def poll(self, max_records: int, timeout_s: float) -> list[RawMessage]:
        """Up to `max_records` messages not yet delivered to this consumer."""

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Record (topic, partition) -> next offset to read, after the writes committed."""

    def rewind(self) -> None:
        """Deliver again everything after the committed offsets."""

    def redeliver(self, messages: Sequence[RawMessage]) -> None:
        """Deliver these polled messages again, not handled after all: each of their
        partitions goes back to the first of them (cheap: no broker round trip)."""

    def backlog(self) -> int | None:
        """Messages behind this consumer's position as far as it knows; None when it cannot
        tell (not in touch with the broker)."""

    def close(self) -> None:
        """Leave the group; uncommitted messages will be redelivered."""


class EventCodec(Protocol):
    """Turns wire messages into SyncEvents."""

    def decode(self, message: RawMessage) -> SyncEvent | None:
        """The event, None for a tombstone; InvalidEventError when malformed."""

    def original(self, message: RawMessage) -> Any:
        """The message value as JSON when it parses, else as text, for dead letters."""


class DeadLetterQueue(Protocol):
    def send(self, letter: DeadLetter) -> None:
        """Store a dead letter durably before the original's offset is committed."""


class DeadLetterArchive(Protocol):
    """Reading, re-driving and resolving dead letters, for operators."""

    def letters(self, include_resolved: bool = False) -> list[DeadLetter]:
        """The dead letters not resolved yet, oldest first; with `include_resolved`, every
        letter, each resolved one carrying its `resolution`."""

    def republish(self, letter: DeadLetter) -> None:
        """Put the original message back on its topic."""

    def resolve(self, letters: Collection[DeadLetter], resolution: Resolution) -> int:
        """Record that these letters are settled; they leave `letters()`. Returns how many
        were still unresolved."""

    def purge(self, letters: Collection[DeadLetter] | None = None) -> int:
        """Resolve these letters (default: every one held now) as purged; returns how many."""


class EventPublisher(Protocol):
    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue a message for the topic."""

    def flush(self) -> None:
        """Return once every queued message is acknowledged by the broker."""


class ProcessedEvents(Protocol):
    """The bookkeeping that makes applying an event idempotent, in the target's transaction."""

    def processed(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` applied to this database (committed, or marked in this
        transaction)."""

    def mark_processed(self, event: SyncEvent) -> None:
        """Remember the event as applied, in this transaction; an event marked already (here
        or by a committed transaction) fails the transaction at commit with
        ConstraintViolationError."""


class EntityLinks(Protocol):
    """Which legacy row is which revamp row, in the target's transaction."""

    def links(
        self, entity_type: str, platform: Platform, ids: Collection[int]
    ) -> dict[int, EntityLink]:
        """Links of this database keyed by the id on `platform`."""

    def all_links(self, entity_type: str) -> list[EntityLink]:
        """Every link of the entity type in this database, locked for the transaction."""

    def save_link(self, link: EntityLink) -> None:
        """Insert or update a link, in this transaction."""


class TargetRows(Protocol):
    """The mapped rows of a target database, read locked and written in its transaction."""

    def rows(self, entity: EntityMapping, ids: Collection[int]) -> dict[int, StoredRow]:
        """The current target rows with these ids, locked for this transaction."""

    def existing(self, entity: EntityMapping, ids: Collection[int]) -> set[int]:
        """Which of these rows exist, locked for this transaction like `rows` locks them (their
        values need not be read: a parent is only checked and kept)."""

    def find_by(self, entity: EntityMapping, values: Mapping[str, Any]) -> int | None:
        """The id of a row whose columns equal `values` (a natural key), locked; else None.
        Equal as the column's collation says (the reference schemas: case-sensitive)."""

    def find_many(
        self, entity: EntityMapping, columns: tuple[str, ...], values: Collection[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], int]:
        """`find_by` for many natural keys at once: the ids of those found, locked."""

    def insert(self, entity: EntityMapping, values: Mapping[str, Any]) -> int:
        """Insert a row written by the sync service; returns its new id."""

    def insert_many(self, entity: EntityMapping, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert rows (same columns each) written by the sync service; their new ids, in order."""

    def update(self, entity: EntityMapping, row_id: int, values: Mapping[str, Any]) -> bool:
        """Update a row; False when it does not exist."""

    def delete(self, entity: EntityMapping, row_id: int) -> bool:
        """Delete a row (children cascade); False when it does not exist."""


class WaitingChildren(Protocol):
    """Children waiting for their parent, kept in the target database past the in-memory room."""

    def park_children(self, children: Sequence[ParkedChild]) -> None:
        """Keep these waiting children in this database (a child kept already is replaced)."""

    def unpark_children(self, event_ids: Collection[str]) -> None:
        """Forget these waiting children: applied or dead-lettered in this transaction."""


class TransactionControl(Protocol):
    """Scopes and write timing inside the target's transaction."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope whose failure undoes only its own writes."""

    def write_pending(self) -> None:
        """Send the writes held back to be written set-based; a failure concerns them all."""


class TargetSession(
    ProcessedEvents, EntityLinks, TargetRows, WaitingChildren, TransactionControl, Protocol
):
    """One transaction on a target database: rows, links and bookkeeping commit together."""


class TargetStore(Protocol):
    """A database the sync writes to and reads links from."""

    platform: Platform

    def transaction(self) -> AbstractContextManager[TargetSession]:
        """Commit on a clean exit, roll back on an exception."""

    def read_links(
        self, entity_type: str, platform: Platform, ids: Collection[int]
    ) -> dict[int, EntityLink]:
        """Links stored in this database, outside any sync transaction."""

    def read_many_links(
        self, platform: Platform, wanted: Mapping[str, Collection[int]]
    ) -> dict[str, dict[int, EntityLink]]:
        """`read_links` for several entity types at once (one connection, not one each)."""

    def all_links(self, entity_type: str) -> Iterable[EntityLink]:
        """Every link of the entity type stored in this database."""

    def parked_count(self) -> int:
        """How many children wait in this database."""

    def parked_for(
        self,
        parents: Collection[ParentKey],
        linked_from: Platform | None,
        expired_before: float | None,
    ) -> list[ParkedChild]:
        """The children kept here that wait for one of `parents`, or (`linked_from`: the
        children's origin) for a parent now linked here, or for a parent one of whose children
        has a deadline before `expired_before`; in arrival order per partition."""

    def parked_keys(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], ParentKey]:
        """Of these (entity type, key), those with a child kept here, and what it waits for."""

    def parked_ids(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` kept here."""

    def parked_offsets(self) -> dict[tuple[str, int], int]:
        """Per (topic, partition), the lowest offset of a child kept here."""

    def forget_links(self, entity_type: str, platform: Platform, ids: Collection[int]) -> int:
        """Delete the links whose id on `platform` is one of `ids` (stale ones, for repair);
        returns how many went."""

    def last_processed_at(self) -> datetime | None:
        """When the newest event applied to this database was marked (UTC); None before the
        first."""


class RowSnapshot(Protocol):
    """Reading whole tables, for the initial load and for reconciliation."""

    def scan(self, entity: EntityMapping, after_id: int, limit: int) -> Sequence[dict[str, Any]]:
        """Rows with id > after_id in id order."""

    def count(self, entity: EntityMapping, after_id: int = 0) -> int:
        """How many rows have id > after_id."""

    def all_links(self, entity_type: str) -> Iterator[EntityLink]:
        """Every link this database holds for the entity type."""


class Checkpoints(Protocol):
    """Durable progress markers (snapshot pages, capture positions)."""

    def load(self, name: str) -> int:
        """The last saved value for `name`, 0 when none."""

    def save(self, name: str, last_id: int) -> None:
        """Save atomically: a crash leaves the old value or the new one."""

    def clear(self) -> None:
        """Forget every name (a snapshot that finished starts the next one over)."""


class SchemaCatalog(Protocol):
    """The live shape of one database's schema."""

    def read(self, tables: Collection[str] | None = None) -> Catalog:
        """Tables (all, or only these), columns, keys, allowed values and capture settings,
        as they are now."""


class MetricsSink(Protocol):
    """Where measurements go to be summarised (Prometheus histograms in production)."""

    def observe(self, name: str, labels: Mapping[str, str], value: float) -> None:
        """One measurement of `name` (seconds, counts) with its labels."""
