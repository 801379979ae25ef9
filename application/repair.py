"""Repairing what reconcile found: copy the winning side, or finish a delete, and say why."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from application.apply_change import ChangeApplier
from application.reconcile import Difference
from domain.coercions import to_micros
from domain.errors import SyncError
from domain.events import Operation, Platform, SourcePosition, SyncEvent
from domain.mapping import EntityMapping, SchemaMapping
from domain.ports import RowSnapshot, TargetStore
from domain.rules import TIE_BREAK_WINNER, ConflictPolicy


@attrs.define
class RepairAction:
    """What repair does (or did) about one difference: which side it writes, how, and why;
    `error` says why it failed."""

    entity_type: str
    legacy_id: int | None
    revamp_id: int | None
    side: Platform
    operation: str
    """`insert`, `update` or `delete`."""
    why: str
    error: str = ""
    healed_links: int = 0

    def describe(self) -> str:
        ids = f"legacy={self.legacy_id} revamp={self.revamp_id}"
        done = f"FAILED: {self.error}" if self.error else f"{self.operation} on {self.side.value}"
        healed = f" (healed {self.healed_links} stale link(s))" if self.healed_links else ""
        return f"{self.entity_type} {ids}: {done}, because {self.why}{healed}"


@attrs.define
class RepairReport:
    actions: list[RepairAction] = attrs.field(factory=list)

    @property
    def repaired(self) -> int:
        return sum(not a.error for a in self.actions)

    @property
    def failed(self) -> list[RepairAction]:
        return [a for a in self.actions if a.error]


@attrs.frozen
class _Plan:
    action: RepairAction
    entity: EntityMapping
    winner: Platform
    row: dict[str, Any]


@attrs.define(eq=False)
class Repairer:
    """Makes both sides equal again for each difference, as the conflict policy would."""

    mapping: SchemaMapping
    stores: dict[Platform, TargetStore]
    rows: dict[Platform, RowSnapshot]
    policy: ConflictPolicy

    def plan(self, differences: list[Difference]) -> RepairReport:
        """What `repair` would do, writing nothing (`--dry-run`)."""
        return RepairReport([self._plan(d).action for d in differences])

    def repair(self, differences: list[Difference]) -> RepairReport:
        report = RepairReport()
        for difference in differences:
            plan = self._plan(difference)
            try:
                self._carry_out(plan)
            except (SyncError, ValueError, TypeError) as error:
                plan.action.error = " ".join(str(error).split()) or type(error).__name__
            report.actions.append(plan.action)
        return report

    def _plan(self, difference: Difference) -> _Plan:
        entity = self.mapping.entity(difference.entity_type)
        rows = {
            Platform.LEGACY: self._row(entity, Platform.LEGACY, difference.legacy_id),
            Platform.REVAMP: self._row(entity, Platform.REVAMP, difference.revamp_id),
        }
        present = [p for p, r in rows.items() if r is not None]
        ids = (entity.entity_type, difference.legacy_id, difference.revamp_id)
        if not present:
            action = RepairAction(*ids, Platform.LEGACY, "none", "the row is gone on both sides")
            return _Plan(action, entity, Platform.LEGACY, {})
        if len(present) == 1:
            there = present[0]
            if difference.deleted_elsewhere:
                why = f"it was deleted on {there.other.value}: the delete wins"
                action = RepairAction(*ids, there, "delete", why)
            else:
                action = RepairAction(
                    *ids, there.other, "insert", f"missing on {there.other.value}"
                )
            return _Plan(action, entity, there, rows[there] or {})
        winner, why = self._winner(entity, rows)
        action = RepairAction(*ids, winner.other, "update", f"{difference.problem}; {why}")
        return _Plan(action, entity, winner, rows[winner] or {})

    def _carry_out(self, plan: _Plan) -> None:
        action, entity = plan.action, plan.entity
        if action.operation == "none":
            return
        key = entity.key.on(plan.winner)
        if action.operation == "delete":
            with self.stores[plan.winner].transaction() as session:
                session.delete(entity, int(plan.row[key]))
            return
        if action.operation == "insert":  # links to a row that is gone would be in the way
            action.healed_links = sum(
                store.forget_links(entity.entity_type, plan.winner, [int(plan.row[key])])
                for store in self.stores.values()
            )
        event = SyncEvent.captured(
            origin=plan.winner,
            table=entity.tables.on(plan.winner),
            entity_type=entity.entity_type,
            operation=Operation.UPDATE,
            key={key: plan.row[key]},
            before=None,
            after=plan.row,
            position=SourcePosition(f"repair:{uuid.uuid4()}"),
        )
        applier = ChangeApplier(self.mapping, self.stores[plan.winner], self.policy)
        with self.stores[plan.winner.other].transaction() as session:
            applier.apply(session, event, force=True)

    def _row(
        self, entity: EntityMapping, platform: Platform, row_id: int | None
    ) -> dict[str, Any] | None:
        if row_id is None:
            return None
        page = self.rows[platform].scan(entity, row_id - 1, 1)
        key = entity.key.on(platform)
        return page[0] if page and int(page[0][key]) == row_id else None

    def _winner(
        self, entity: EntityMapping, rows: dict[Platform, dict[str, Any] | None]
    ) -> tuple[Platform, str]:
        if self.policy.winner is not None:
            return self.policy.winner, f"policy {self.policy.value}"
        if entity.version is None:
            return TIE_BREAK_WINNER, f"no version column: {TIE_BREAK_WINNER.value} wins ties"
        versions = {p: to_micros(rows[p][entity.version.on(p)]) for p in Platform}  # type: ignore[index]
        if versions[Platform.REVAMP] > versions[Platform.LEGACY]:
            return Platform.REVAMP, "last-writer-wins: revamp is newer"
        if versions[Platform.REVAMP] == versions[Platform.LEGACY]:
            return TIE_BREAK_WINNER, f"last-writer-wins: a tie goes to {TIE_BREAK_WINNER.value}"
        return Platform.LEGACY, "last-writer-wins: legacy is newer"
