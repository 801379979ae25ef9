"""Repairing what reconcile found: copy the winning side, or finish a delete."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from application.apply_change import ChangeApplier
from application.reconcile import Difference
from domain.events import Operation, Platform, SourcePosition, SyncEvent
from domain.mapping import SchemaMapping
from domain.ports import RowSnapshot, TargetStore
from domain.rules import TIE_BREAK_WINNER, ConflictPolicy
from domain.values import to_micros


@attrs.define
class RepairReport:
    repaired: int = 0
    failed: list[str] = attrs.field(factory=list)


class Repairer:
    """Makes both sides equal again for each difference, as the conflict policy would."""

    def __init__(
        self,
        mapping: SchemaMapping,
        stores: dict[Platform, TargetStore],
        rows: dict[Platform, RowSnapshot],
        policy: ConflictPolicy,
    ) -> None:
        self.mapping = mapping
        self.stores = stores
        self.rows = rows
        self.policy = policy

    def repair(self, differences: list[Difference]) -> RepairReport:
        report = RepairReport()
        for difference in differences:
            try:
                self._repair(difference)
                report.repaired += 1
            except Exception as error:
                report.failed.append(f"{difference}: {error}")
        return report

    def _repair(self, difference: Difference) -> None:
        entity = self.mapping.entity(difference.entity_type)
        rows = {
            Platform.LEGACY: self._row(entity, Platform.LEGACY, difference.legacy_id),
            Platform.REVAMP: self._row(entity, Platform.REVAMP, difference.revamp_id),
        }
        present = [p for p, r in rows.items() if r is not None]
        if difference.deleted_elsewhere and len(present) == 1:
            self._finish_delete(entity, present[0], rows[present[0]])
            return
        winner = present[0] if len(present) == 1 else self._winner(entity.version, rows)
        row = rows[winner]
        assert row is not None
        event = SyncEvent.captured(
            origin=winner,
            table=entity.tables.on(winner),
            entity_type=entity.entity_type,
            operation=Operation.UPDATE,
            key={entity.key.on(winner): row[entity.key.on(winner)]},
            before=None,
            after=row,
            position=SourcePosition(f"repair:{uuid.uuid4()}"),
        )
        applier = ChangeApplier(self.mapping, self.stores[winner], self.policy)
        with self.stores[winner.other].transaction() as session:
            applier.apply(session, event, force=True)

    def _finish_delete(self, entity: Any, platform: Platform, row: dict[str, Any] | None) -> None:
        """The row was deleted on the other side: the delete wins."""
        assert row is not None
        with self.stores[platform].transaction() as session:
            session.delete(entity, int(row[entity.key.on(platform)]))

    def _row(self, entity: Any, platform: Platform, row_id: int | None) -> dict[str, Any] | None:
        if row_id is None:
            return None
        page = self.rows[platform].scan(entity, row_id - 1, 1)
        key = entity.key.on(platform)
        return page[0] if page and int(page[0][key]) == row_id else None

    def _winner(self, version: Any, rows: dict[Platform, dict[str, Any] | None]) -> Platform:
        if self.policy.winner is not None:
            return self.policy.winner
        if version is None:
            return TIE_BREAK_WINNER
        legacy, revamp = (to_micros(rows[p][version.on(p)]) for p in Platform)  # type: ignore[index]
        return Platform.REVAMP if revamp > legacy else TIE_BREAK_WINNER
