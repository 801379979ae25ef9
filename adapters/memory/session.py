"""Transactions of the in-memory database, with an undo log for rollbacks and savepoints."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs

from domain.errors import ConstraintViolationError
from domain.events import Operation, Platform, SyncEvent
from domain.mapping import EntityMapping
from domain.model import EntityLink, ParkedChild, StoredRow

if TYPE_CHECKING:
    from adapters.memory.database import InMemoryDatabase


@attrs.define
class Change:
    operation: Operation
    entity: EntityMapping
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    cascaded: bool = False


class Transaction:
    """Row writes with the schema's rules; every write pushes its own undo."""

    def __init__(self, db: InMemoryDatabase, sync: bool) -> None:
        self.db = db
        self.sync = sync
        self.undo: list[Callable[[], None]] = []
        self.changes: list[Change] = []
        self.marked: list[str] = []  # events marked processed, recorded at commit

    def undo_to(self, mark: int) -> None:
        while len(self.undo) > mark:
            self.undo.pop()()

    def _log(self, change: Change, undo: Callable[[], None]) -> None:
        self.changes.append(change)

        def revert() -> None:
            undo()
            self.changes.remove(change)

        self.undo.append(revert)

    def insert(self, entity: EntityMapping, values: Mapping[str, Any]) -> int:
        table = self.db.tables[entity.entity_type]
        row_id = next(self.db.sequences[entity.entity_type])
        row = {entity.key.on(self.db.platform): row_id, **values}
        self.db.stamp(entity, row, self.sync, insert=True)
        self.db.check_constraints(entity, row_id, row)
        table[row_id] = row
        self._log(Change(Operation.CREATE, entity, None, dict(row)), lambda: table.pop(row_id))
        return row_id

    def update(self, entity: EntityMapping, row_id: int, changes: Mapping[str, Any]) -> bool:
        table = self.db.tables[entity.entity_type]
        if row_id not in table:
            return False
        before = table[row_id]
        row = {**before, **changes}
        self.db.stamp(entity, row, self.sync, insert=False)
        self.db.check_constraints(entity, row_id, row)
        table[row_id] = row
        self._log(
            Change(Operation.UPDATE, entity, dict(before), dict(row)),
            lambda: table.__setitem__(row_id, before),
        )
        return True

    def delete(self, entity: EntityMapping, row_id: int, cascaded: bool = False) -> bool:
        table = self.db.tables[entity.entity_type]
        if row_id not in table:
            return False
        for child, child_id in self.db.children_of(entity.entity_type, row_id):
            self.delete(child, child_id, cascaded=True)  # ON DELETE CASCADE
        before = table.pop(row_id)
        self._log(
            Change(Operation.DELETE, entity, dict(before), None, cascaded),
            lambda: table.__setitem__(row_id, before),
        )
        return True


class InMemorySession:
    """The TargetSession of the in-memory database: ProcessedEvents, EntityLinks, TargetRows,
    WaitingChildren and TransactionControl over one undo log."""

    def __init__(self, db: InMemoryDatabase, txn: Transaction) -> None:
        self.db = db
        self.txn = txn

    def processed(self, event_ids: Collection[str]) -> set[str]:
        marked = set(self.txn.marked)
        return {i for i in event_ids if i in self.db.processed_ids or i in marked}

    def mark_processed(self, event: SyncEvent) -> None:
        """Checked at commit, as the primary key of processed_events is by the flush of SQL."""
        self.txn.marked.append(event.event_id)
        self.txn.undo.append(self.txn.marked.pop)

    def links(
        self, entity_type: str, platform: Platform, ids: Collection[int]
    ) -> dict[int, EntityLink]:
        return self.db.read_links(entity_type, platform, ids)

    def all_links(self, entity_type: str) -> list[EntityLink]:
        return list(self.db.all_links(entity_type))

    def save_link(self, link: EntityLink) -> None:
        clash = self.db.find_link(link.entity_type, Platform.REVAMP, link.revamp_id)
        if clash is not None and clash.legacy_id != link.legacy_id:
            raise ConstraintViolationError(
                f"entity_mappings: {link.entity_type} revamp id {link.revamp_id} already linked"
            )
        previous = self.db.find_link(link.entity_type, Platform.LEGACY, link.legacy_id)
        self.db.links.put(copy.copy(link))

        def revert() -> None:
            if previous is None:
                self.db.links.remove(link.entity_type, link.legacy_id)
            else:
                self.db.links.put(previous)

        self.txn.undo.append(revert)

    def rows(self, entity: EntityMapping, ids: Collection[int]) -> dict[int, StoredRow]:
        table = self.db.tables[entity.entity_type]
        return {i: self.db.stored_row(entity, table[i]) for i in ids if i in table}

    def existing(self, entity: EntityMapping, ids: Collection[int]) -> set[int]:
        table = self.db.tables[entity.entity_type]
        return {i for i in ids if i in table}

    def find_by(self, entity: EntityMapping, values: Mapping[str, Any]) -> int | None:
        return self.db.find_by(entity, values)

    def find_many(
        self, entity: EntityMapping, columns: tuple[str, ...], values: Collection[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], int]:
        found = {v: self.db.find_by(entity, dict(zip(columns, v, strict=True))) for v in values}
        return {v: row_id for v, row_id in found.items() if row_id is not None}

    def insert(self, entity: EntityMapping, values: Mapping[str, Any]) -> int:
        return self.txn.insert(entity, values)

    def insert_many(self, entity: EntityMapping, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        return [self.txn.insert(entity, values) for values in rows]

    def update(self, entity: EntityMapping, row_id: int, values: Mapping[str, Any]) -> bool:
        return self.txn.update(entity, row_id, values)

    def delete(self, entity: EntityMapping, row_id: int) -> bool:
        return self.txn.delete(entity, row_id)

    def write_pending(self) -> None:
        """Nothing is held back in memory."""

    def park_children(self, children: Sequence[ParkedChild]) -> None:
        for child in children:
            self._set(child.event_id, child)

    def unpark_children(self, event_ids: Collection[str]) -> None:
        for event_id in event_ids:
            self._set(event_id, None)

    def _set(self, event_id: str, child: ParkedChild | None) -> None:
        parked = self.db.parked
        previous = parked.get(event_id)
        if child is None:
            parked.pop(event_id, None)
        else:
            parked[event_id] = child

        def revert() -> None:
            if previous is None:
                parked.pop(event_id, None)
            else:
                parked[event_id] = previous

        self.txn.undo.append(revert)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        mark = len(self.txn.undo)
        try:
            yield
        except BaseException:
            self.txn.undo_to(mark)
            raise
