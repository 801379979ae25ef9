"""Initial load: rows that existed before sync started, copied through the same rules."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from application.apply_change import ChangeApplier, ParentPendingError
from application.stats import Outcome, SyncStats
from domain.errors import PermanentError
from domain.events import Operation, Platform, SourcePosition, SyncEvent
from domain.mapping import EntityMapping, SchemaMapping
from domain.ports import Checkpoints, RowSnapshot, TargetStore
from domain.rules import ConflictPolicy, is_echo
from domain.values import to_micros

log = logging.getLogger(__name__)
PAGE = 500


class _NoCheckpoints:
    def load(self, name: str) -> int:
        return 0

    def save(self, name: str, last_id: int) -> None:
        return None


@attrs.define
class SnapshotReport:
    copied: int = 0
    skipped: int = 0
    failed: list[str] = attrs.field(factory=list)


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
        self.direction = f"snapshot-{origin.value}-to-{origin.other.value}"

    def run(self, progress: Callable[[str, int], None] = lambda _e, _n: None) -> SnapshotReport:
        report = SnapshotReport()
        for entity in self.mapping.in_dependency_order():
            name = f"{self.origin.value}.{entity.entity_type}"
            after = self.checkpoints.load(name)
            while page := self.rows.scan(entity, after, PAGE):
                self._copy_page(entity, page, report)
                after = int(page[-1][entity.key.on(self.origin)])
                self.checkpoints.save(name, after)
                progress(entity.entity_type, len(page))
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
                    with session.savepoint():
                        outcome = self.applier.apply(session, event)
                except (ParentPendingError, PermanentError) as error:
                    report.failed.append(f"{entity.entity_type} {dict(event.key)}: {error}")
                    continue
                self.stats.record(self.direction, outcome)
                if outcome is Outcome.APPLIED:
                    report.copied += 1
                else:
                    report.skipped += 1

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
