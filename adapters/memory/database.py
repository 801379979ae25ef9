"""An in-memory database shaped like one platform's side of the mapping.

It behaves as the real schema does where the sync can tell: its own id sequence, unique and
foreign keys, cascading deletes, the `source` rule of the triggers, and capture of every
committed change as a Debezium-shaped event on the broker.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.memory.capture import InMemoryCapture
from adapters.memory.indexes import LinkTable, Table
from adapters.memory.session import InMemorySession, Transaction
from domain.errors import ConstraintViolationError, SyncError, TargetUnavailableError
from domain.events import SYNC_SERVICE, Platform
from domain.mapping import EntityMapping, SchemaMapping
from domain.model import EntityLink, ParentKey, ParkedChild, StoredRow


class InMemoryDatabase:
    """Tables of rows keyed by id, the sync bookkeeping, and a capture feed."""

    def __init__(
        self,
        platform: Platform,
        mapping: SchemaMapping,
        capture: InMemoryCapture | None,
        now: Callable[[], float],
    ) -> None:
        self.platform = platform
        self.mapping = mapping
        self.capture = capture
        self.now = now
        self.tables: dict[str, Table] = {
            e.entity_type: Table(e.natural_keys(platform)) for e in mapping.entities
        }
        self.sequences = {e.entity_type: itertools.count(1) for e in mapping.entities}
        self.links = LinkTable()
        self.processed_ids: set[str] = set()
        self.last_processed: datetime | None = None
        self.parked: dict[str, ParkedChild] = {}  # children waiting past the in-memory bound
        self.lock = threading.RLock()
        self.faults: list[SyncError] = []

    # --- application writes: each one its own committed transaction ----------------------
    def app_insert(self, entity_type: str, values: Mapping[str, Any]) -> int:
        with self._transaction(sync=False) as txn:
            return txn.insert(self.mapping.entity(entity_type), values)

    def app_update(self, entity_type: str, row_id: int, changes: Mapping[str, Any]) -> None:
        with self._transaction(sync=False) as txn:
            if not txn.update(self.mapping.entity(entity_type), row_id, changes):
                raise KeyError(f"{entity_type} {row_id} does not exist on {self.platform.value}")

    def app_delete(self, entity_type: str, row_id: int) -> None:
        with self._transaction(sync=False) as txn:
            txn.delete(self.mapping.entity(entity_type), row_id)

    def app_ids(self, entity_type: str) -> list[int]:
        with self.lock:
            return list(self.tables[entity_type])

    def row(self, entity_type: str, row_id: int) -> dict[str, Any] | None:
        with self.lock:
            row = self.tables[entity_type].get(row_id)
            return None if row is None else dict(row)

    def rows_of(self, entity_type: str) -> dict[int, dict[str, Any]]:
        with self.lock:
            return {i: dict(row) for i, row in self.tables[entity_type].items()}

    def fail_next_transactions(self, *errors: SyncError) -> None:
        """Inject faults: each next sync transaction raises the next error."""
        self.faults.extend(errors)

    # --- TargetStore ----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[InMemorySession]:
        if self.faults:
            raise self.faults.pop(0)
        with self._transaction(sync=True) as txn:
            yield InMemorySession(self, txn)
            self._record_processed(txn)

    def read_links(
        self, entity_type: str, platform: Platform, ids: Collection[int]
    ) -> dict[int, EntityLink]:
        with self.lock:
            return {
                i: copy.copy(link)
                for i in ids
                if (link := self.find_link(entity_type, platform, i)) is not None
            }

    def read_many_links(
        self, platform: Platform, wanted: Mapping[str, Collection[int]]
    ) -> dict[str, dict[int, EntityLink]]:
        return {kind: self.read_links(kind, platform, ids) for kind, ids in wanted.items()}

    def forget_links(self, entity_type: str, platform: Platform, ids: Collection[int]) -> int:
        with self.lock:
            stale = [link for i in ids if (link := self.find_link(entity_type, platform, i))]
            for link in stale:
                self.links.remove(entity_type, link.legacy_id)
            return len(stale)

    def last_processed_at(self) -> datetime | None:
        with self.lock:
            return self.last_processed

    def find_link(self, entity_type: str, platform: Platform, row_id: int) -> EntityLink | None:
        return self.links.get(entity_type, platform, row_id)

    def parked_count(self) -> int:
        with self.lock:
            return len(self.parked)

    def parked_for(
        self,
        parents: Collection[ParentKey],
        linked_from: Platform | None,
        expired_before: float | None,
    ) -> list[ParkedChild]:
        with self.lock:
            wanted = set(parents)
            if expired_before is not None:
                wanted |= {c.parent for c in self.parked.values() if c.deadline < expired_before}
            if linked_from is not None:
                wanted |= {
                    c.parent
                    for c in self.parked.values()
                    if self.find_link(c.parent[0], linked_from, c.parent[1]) is not None
                }
            found = [c for c in self.parked.values() if c.parent in wanted]
        return sorted(found, key=lambda c: (c.message.topic, c.message.partition, c.message.offset))

    def parked_keys(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], ParentKey]:
        with self.lock:
            return {
                (c.entity_type, c.entity_key): c.parent
                for c in self.parked.values()
                if (c.entity_type, c.entity_key) in keys
            }

    def parked_ids(self, event_ids: Collection[str]) -> set[str]:
        with self.lock:
            return {i for i in event_ids if i in self.parked}

    def parked_offsets(self) -> dict[tuple[str, int], int]:
        lowest: dict[tuple[str, int], int] = {}
        with self.lock:
            for child in self.parked.values():
                where, offset = (child.message.topic, child.message.partition), child.message.offset
                lowest[where] = min(offset, lowest.get(where, offset))
        return lowest

    # --- RowSnapshot ----------------------------------------------------------------------
    def scan(self, entity: EntityMapping, after_id: int, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            ids = sorted(i for i in self.tables[entity.entity_type] if i > after_id)[:limit]
            return [dict(self.tables[entity.entity_type][i]) for i in ids]

    def count(self, entity: EntityMapping, after_id: int = 0) -> int:
        with self.lock:
            return sum(1 for i in self.tables[entity.entity_type] if i > after_id)

    def all_links(self, entity_type: str) -> Iterator[EntityLink]:
        with self.lock:
            links = [copy.copy(v) for v in self.links if v.entity_type == entity_type]
        yield from links

    # --- internals shared with the session --------------------------------------------------
    @contextmanager
    def _transaction(self, sync: bool) -> Iterator[Transaction]:
        with self.lock:
            txn = Transaction(self, sync)
            try:
                yield txn
            except BaseException:
                txn.undo_to(0)
                raise
            if self.capture is not None:
                self.capture.committed(self, txn)

    def _record_processed(self, txn: Transaction) -> None:
        """The marks of a committing transaction; a duplicate fails it (a primary key)."""
        marked = set(txn.marked)
        if len(marked) < len(txn.marked) or not marked.isdisjoint(self.processed_ids):
            twice = [i for i in txn.marked if txn.marked.count(i) > 1 or i in self.processed_ids]
            raise ConstraintViolationError(f"processed_events: duplicate event {twice[0]}")
        self.processed_ids.update(marked)
        txn.undo.append(lambda: self.processed_ids.difference_update(marked))
        if marked:
            previous = self.last_processed
            self.last_processed = datetime.fromtimestamp(self.now(), UTC)
            txn.undo.append(lambda: setattr(self, "last_processed", previous))

    def stamp(self, entity: EntityMapping, row: dict[str, Any], sync: bool, insert: bool) -> None:
        """The `source` trigger: truthful writer, and the version stamped on app writes."""
        row[entity.source_column] = SYNC_SERVICE if sync else self.platform.value
        if sync:
            return
        now = datetime.fromtimestamp(self.now(), UTC).replace(tzinfo=None)
        for field in entity.fields:
            name = field.names.on(self.platform)
            if field.kind == "timestamp" and (insert and row.get(name) is None):
                row[name] = now
        if entity.version is not None:
            column = entity.version.on(self.platform)
            previous = row.get(column) if not insert else None
            # like the triggers: an application write always moves the version forward
            row[column] = (
                now if previous is None else max(now, previous + timedelta(microseconds=1))
            )

    def check_constraints(self, entity: EntityMapping, row_id: int, row: dict[str, Any]) -> None:
        for field in entity.fields:
            name = field.names.on(self.platform)
            value = row.get(name)
            if value is None and not field.nullable:
                raise ConstraintViolationError(f"{entity.entity_type}.{name}: may not be null")
            if (
                field.references
                and value is not None
                and value not in self.tables[field.references]
            ):
                raise ConstraintViolationError(
                    f"{entity.entity_type}.{name}: {field.references} {value} does not exist"
                )

        for columns in entity.natural_keys(self.platform):
            values = {c: row.get(c) for c in columns}
            if None not in values.values() and self.find_by(entity, values, besides=row_id):
                raise ConstraintViolationError(
                    f"{entity.entity_type}.{'+'.join(columns)}: duplicate value "
                    f"{tuple(values.values())!r}"
                )

    def find_by(
        self, entity: EntityMapping, values: Mapping[str, Any], besides: int | None = None
    ) -> int | None:
        return self.tables[entity.entity_type].find(values, besides)

    def children_of(self, entity_type: str, row_id: int) -> list[tuple[EntityMapping, int]]:
        found = []
        for child in self.mapping.entities:
            for field in child.foreign_keys:
                if field.references == entity_type:
                    name = field.names.on(self.platform)
                    found += [
                        (child, i)
                        for i, r in self.tables[child.entity_type].items()
                        if r.get(name) == row_id
                    ]
        return found

    def stored_row(self, entity: EntityMapping, values: dict[str, Any]) -> StoredRow:
        version = entity.version_column(self.platform)
        return StoredRow.of(dict(values), version, entity.source_column)

    def unavailable(self) -> TargetUnavailableError:
        return TargetUnavailableError(f"{self.platform.value} database is unreachable")
