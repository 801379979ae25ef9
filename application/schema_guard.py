"""The mapping held against both live schemas: at start, and when a write hints at drift."""

from __future__ import annotations

from collections.abc import Mapping

from domain.errors import TransientError
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.mapping_check import check_mapping
from domain.ports import SchemaCatalog


class SchemaDriftError(TransientError):
    """A mapped column was dropped or retyped: the direction pauses (nothing is dead-lettered,
    nothing committed past it) until the mapping is fixed and the service restarted."""


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

    def confirm_drift(self, entity_type: str, cause: Exception) -> None:
        """Raise SchemaDriftError when `entity_type` no longer fits the live schemas; else
        return, and the failure that raised the question is the event's own."""
        found = self.problems(capture=False, entities=(entity_type,))
        if found:
            raise SchemaDriftError(
                f"schema changed: {found[0]} (after: {cause}); fix the mapping "
                "(tandem mapping check) and restart"
            ) from cause
