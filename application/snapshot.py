"""Initial load: rows that existed before sync started, copied through the same rules."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from typing import Any, Protocol

import attrs

from application.apply_change import ChangeApplier, ParentPendingError
from application.stats import Outcome, SyncStats
from domain.coercions import to_micros
from domain.errors import PermanentError
from domain.events import Operation, Platform, SourcePosition, SyncEvent
from domain.mapping import EntityMapping, SchemaMapping
from domain.ports import Checkpoints, RowSnapshot, TargetSession, TargetStore
from domain.rules import ConflictPolicy, is_echo

log = logging.getLogger(__name__)
PAGE = 500


class _NoCheckpoints:
    def load(self, name: str) -> int:
        return 0

    def save(self, name: str, last_id: int) -> None:
        return None

    def clear(self) -> None:
        return None


class SnapshotProgress(Protocol):
    """Where a snapshot reports how far it is, table by table."""

    def table_started(self, entity_type: str, total: int, resumed_after: int) -> None:
        """`total` rows to go in this table; `resumed_after` > 0: resumed past that id."""

    def rows_done(self, entity_type: str, count: int) -> None:
        """`count` more rows of the table handled."""


class _Silent:
    def table_started(self, entity_type: str, total: int, resumed_after: int) -> None:
        return None

    def rows_done(self, entity_type: str, count: int) -> None:
        return None


@attrs.define
class SnapshotReport:
    copied: int = 0
    """Rows written to the target (created or brought up to date)."""
    in_sync: int = 0
    """Rows the target already had, equal: nothing written."""
    skipped: int = 0
    """Rows copied by an earlier run, written by the sync itself, or losing a conflict."""
    failed: list[str] = attrs.field(factory=list)
    resumed: dict[str, int] = attrs.field(factory=dict)
    """Tables resumed from a checkpoint: entity type -> the last id copied before."""


class Snapshotter:
    """Copies every row of `origin` to the other side, page by page, idempotently."""

    def __init__(
        self,
        mapping: SchemaMapping,
        origin: Platform,
        rows: RowSnapshot,
        origin_store: TargetStore,
        target: TargetStore,
        policy: ConflictPolicy,
        stats: SyncStats,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.mapping = mapping
        self.origin = origin
        self.rows = rows
        self.target = target
        self.applier = ChangeApplier(mapping, origin_store, policy)
        self.stats = stats
        self.checkpoints: Checkpoints = checkpoints or _NoCheckpoints()
        self.direction = f"snapshot-{origin.direction}"

    def run(
        self, progress: SnapshotProgress | None = None, only: Collection[str] | None = None
    ) -> SnapshotReport:
        """Copy every mapped table (or the entity types in `only`), parents first."""
        progress = progress or _Silent()
        report = SnapshotReport()
        for entity in self.mapping.in_dependency_order():
            if only is not None and entity.entity_type not in only:
                continue
            name = f"{self.origin.value}.{entity.entity_type}"
            after = self.checkpoints.load(name)
            if after:
                report.resumed[entity.entity_type] = after
            progress.table_started(entity.entity_type, self.rows.count(entity, after), after)
            while page := self.rows.scan(entity, after, PAGE):
                self._copy_page(entity, page, report)
                after = int(page[-1][entity.key.on(self.origin)])
                self.checkpoints.save(name, after)
                progress.rows_done(entity.entity_type, len(page))
        return report

    def _copy_page(
        self, entity: EntityMapping, page: Sequence[dict[str, Any]], report: SnapshotReport
    ) -> None:
        events = [self._event(entity, row) for row in page]
        with self.target.transaction() as session:
            done = session.processed([e.event_id for e in events])
            self.applier.prefetch(session, [e for e in events if e.event_id not in done])
            for event in events:
                if event.event_id in done or is_echo(event):
                    report.skipped += 1
                    continue
                try:
                    if self._in_sync(session, entity, event):
                        report.in_sync += 1
                        continue
                    with session.savepoint():
                        outcome = self.applier.apply(session, event)
                except (ParentPendingError, PermanentError) as error:
                    report.failed.append(f"{entity.entity_type} {dict(event.key)}: {error}")
                    continue
                self.stats.record(self.direction, outcome, event.table)
                if outcome is Outcome.APPLIED:
                    report.copied += 1
                else:
                    report.skipped += 1

    def _in_sync(self, session: TargetSession, entity: EntityMapping, event: SyncEvent) -> bool:
        """Whether the linked target row already holds exactly what this row maps to."""
        origin, target = self.origin, self.origin.other
        origin_id = int(event.key[entity.key.on(origin)])
        link = session.links(entity.entity_type, origin, [origin_id]).get(origin_id)
        if link is None or link.deleted:
            return False
        current = session.rows(entity, [link.id_on(target)]).get(link.id_on(target))
        if current is None:
            return False
        expected = entity.transform(event.row, origin)
        for field in entity.foreign_keys:
            column, parent_id = field.names.on(target), expected.get(field.names.on(target))
            if field.references is not None and parent_id is not None:
                parent = session.links(field.references, origin, [int(parent_id)])
                expected[column] = parent[int(parent_id)].id_on(target) if parent else None
        return all(current.values.get(c) == v for c, v in expected.items())

    def _event(self, entity: EntityMapping, row: dict[str, Any]) -> SyncEvent:
        key_column = entity.key.on(self.origin)
        version_column = entity.version_column(self.origin)
        version = row.get(version_column) if version_column else None
        marker = to_micros(version) if version is not None else 0
        return SyncEvent.captured(
            origin=self.origin,
            table=entity.tables.on(self.origin),
            entity_type=entity.entity_type,
            operation=Operation.READ,
            key={key_column: row[key_column]},
            before=None,
            after=row,
            position=SourcePosition(
                f"snapshot:{entity.entity_type}:{json.dumps(row[key_column])}:{marker}",
                commit_ts_ms=marker // 1000,
            ),
        )
