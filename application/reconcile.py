"""Comparing both databases through the mapping: what is missing, extra or different."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import attrs

from domain.errors import MappingError
from domain.events import Platform
from domain.mapping import EntityMapping, SchemaMapping
from domain.model import EntityLink
from domain.ports import RowSnapshot

PAGE = 1000


@attrs.frozen
class Difference:
    entity_type: str
    legacy_id: int | None
    revamp_id: int | None
    problem: str
    """`missing on revamp`, `missing on legacy`, or `field X: a != b`."""
    deleted_elsewhere: bool = False
    """The missing row was deleted there: the delete has to be finished, not undone."""


@attrs.define
class ReconcileReport:
    compared: int = 0
    differences: list[Difference] = attrs.field(factory=list)

    @property
    def in_sync(self) -> bool:
        return not self.differences


class Reconciler:
    """Reads both sides page by page and compares each linked pair field by field."""

    def __init__(self, mapping: SchemaMapping, legacy: RowSnapshot, revamp: RowSnapshot) -> None:
        self.mapping = mapping
        self.sides = {Platform.LEGACY: legacy, Platform.REVAMP: revamp}

    def run(self) -> ReconcileReport:
        report = ReconcileReport()
        self.deleted: dict[str, set[tuple[Platform, int]]] = {}
        links = {e.entity_type: self._links(e.entity_type) for e in self.mapping.entities}
        for entity in self.mapping.in_dependency_order():
            self._compare(entity, links, report)
        return report

    def _links(self, entity_type: str) -> dict[int, int]:
        """legacy id -> revamp id of live links, from both databases' bookkeeping."""
        merged: dict[int, EntityLink] = {}
        for side in self.sides.values():
            for link in side.all_links(entity_type):
                known = merged.get(link.legacy_id)
                merged[link.legacy_id] = attrs.evolve(
                    link, deleted=link.deleted or bool(known and known.deleted)
                )
        self.deleted[entity_type] = {
            (p, v.id_on(p)) for v in merged.values() if v.deleted for p in Platform
        }
        return {k: v.revamp_id for k, v in merged.items() if not v.deleted}

    def _compare(
        self, entity: EntityMapping, links: dict[str, dict[int, int]], report: ReconcileReport
    ) -> None:
        pairs = links[entity.entity_type]
        revamp_rows = dict(self._rows(entity, Platform.REVAMP))
        for legacy_id, legacy_row in self._rows(entity, Platform.LEGACY):
            report.compared += 1
            revamp_id = pairs.get(legacy_id)
            revamp_row = None if revamp_id is None else revamp_rows.pop(revamp_id, None)
            if revamp_row is None:
                report.differences.append(
                    Difference(
                        entity.entity_type,
                        legacy_id,
                        revamp_id,
                        "missing on revamp",
                        (Platform.LEGACY, legacy_id) in self.deleted[entity.entity_type],
                    )
                )
                continue
            problem = self._field_difference(entity, legacy_row, revamp_row, links)
            if problem:
                report.differences.append(
                    Difference(entity.entity_type, legacy_id, revamp_id, problem)
                )
        for revamp_id in revamp_rows:
            report.compared += 1
            report.differences.append(
                Difference(
                    entity.entity_type,
                    None,
                    revamp_id,
                    "missing on legacy",
                    (Platform.REVAMP, revamp_id) in self.deleted[entity.entity_type],
                )
            )

    def _rows(
        self, entity: EntityMapping, platform: Platform
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        key = entity.key.on(platform)
        after = 0
        while page := self.sides[platform].scan(entity, after, PAGE):
            for row in page:
                yield int(row[key]), row
            after = int(page[-1][key])

    def _field_difference(
        self,
        entity: EntityMapping,
        legacy_row: dict[str, Any],
        revamp_row: dict[str, Any],
        links: dict[str, dict[int, int]],
    ) -> str:
        try:
            expected = entity.transform(legacy_row, Platform.LEGACY)
        except MappingError as error:
            return f"legacy row does not map: {error}"
        for field in entity.foreign_keys:
            name = field.names.revamp
            if field.references and expected.get(name) is not None:
                expected[name] = links[field.references].get(int(expected[name]))
        for name, value in expected.items():
            actual = revamp_row.get(name)
            if actual != value:
                return (
                    f"field {name}: legacy gives {readable(value)}, revamp has {readable(actual)}"
                )
        return ""


def readable(value: Any) -> str:
    """A value as an operator reads it: ISO dates and times, quoted text, NULL."""
    if value is None:
        return "NULL"
    if isinstance(value, date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
