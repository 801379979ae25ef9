"""The mapping held against both live schemas: at start, and when a write hints at drift."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from domain.errors import SchemaDriftError
from domain.events import Platform, SyncEvent
from domain.mapping import SchemaMapping
from domain.mapping_check import check_mapping
from domain.ports import SchemaCatalog

log = logging.getLogger(__name__)


class SchemaGuard:
    """Checks the mapping against the catalogs of both databases."""

    def __init__(self, mapping: SchemaMapping, catalogs: Mapping[Platform, SchemaCatalog]) -> None:
        self.mapping = mapping
        self.catalogs = catalogs

    def problems(self, capture: bool = True, entities: tuple[str, ...] | None = None) -> list[str]:
        """Every problem of the mapping against the schemas as they are now."""
        return check_mapping(
            self.mapping,
            self.catalogs[Platform.LEGACY].read(),
            self.catalogs[Platform.REVAMP].read(),
            capture=capture,
            entities=entities,
        )

    def confirm_drift(self, failures: Mapping[str, Exception]) -> None:
        """Raise SchemaDriftError when an entity that failed (entity type -> its error) no
        longer fits the live schemas; else return: the failures are the events' own."""
        found = self.problems(capture=False, entities=tuple(failures))
        if found:
            entity = found[0].split(":", 1)[0].split(".", 1)[0]
            cause = failures.get(entity) or next(iter(failures.values()))
            raise SchemaDriftError(
                f"schema changed: {found[0]} (while applying: {cause}); events wait in Kafka "
                "until the mapping is fixed (tandem mapping check) and the service restarted"
            ) from cause


class UnmappedColumns:
    """Columns that arrive in change events but are not in the mapping: ignored, and each
    reported once (a column added by an application deploy), not once per event."""

    def __init__(self, mapping: SchemaMapping, origin: Platform) -> None:
        self.origin = origin
        self.known: dict[str, Collection[str]] = {
            e.entity_type: {*e.columns(origin), e.key.on(origin), e.source_column}
            for e in mapping.entities
        }
        self.reported: set[tuple[str, str]] = set()

    def observe(self, event: SyncEvent) -> None:
        """Warn about each column of `event` that is new and unmapped."""
        known = self.known.get(event.entity_type, ())
        for column in (event.after or {}).keys() - known:
            if (event.table, column) not in self.reported:
                self.reported.add((event.table, column))
                log.warning(
                    "column not in the mapping: ignored",
                    extra={"platform": self.origin.value, "table": event.table, "column": column},
                )
