"""The schema mapping as data: which table maps to which, field by field, both ways."""

from __future__ import annotations

import functools
from typing import Any

import attrs

from domain.coercions import COERCIONS, UNCHANGED, change_case
from domain.errors import MappingError
from domain.events import Platform, Row

CASE_RULES = ("lower", "upper", "title")


@attrs.frozen
class Side:
    """A pair of values, one per platform: column names, case rules, tables."""

    legacy: str
    revamp: str

    def on(self, platform: Platform) -> str:
        return self.legacy if platform.is_legacy else self.revamp


@attrs.frozen
class FieldMapping:
    """One mapped column: its names on both sides, its type and its value rule."""

    names: Side
    kind: str | None = None
    case: Side | None = None
    values: tuple[tuple[str, str], ...] = ()
    references: str | None = None
    nullable: bool = False
    unique: bool = False
    precision: Side | None = None  # fraction digits of a time or timestamp column
    scale: Side | None = None  # digits after the point of a decimal column

    def precision_on(self, platform: Platform) -> int:
        """Declared fraction digits (default 6: PostgreSQL's timestamp, DATETIME(6))."""
        return 6 if self.precision is None else int(self.precision.on(platform))

    def scale_on(self, platform: Platform) -> int | None:
        return None if self.scale is None else int(self.scale.on(platform))

    def convert(self, value: Any, origin: Platform) -> Any:
        """The value as the other platform stores it."""
        if value is None or value is UNCHANGED:
            return value
        if self.kind is not None:
            value = COERCIONS[self.kind](value)
        target = origin.other
        for legacy_value, revamp_value in self.values:
            if value == (legacy_value if origin.is_legacy else revamp_value):
                return legacy_value if target.is_legacy else revamp_value
        if self.case is not None:
            value = change_case(str(value), self.case.on(target))
        return value


@attrs.frozen
class EntityMapping:
    """How one entity is stored on each platform."""

    entity_type: str
    schemas: Side
    tables: Side
    key: Side
    fields: tuple[FieldMapping, ...]
    version: Side | None = None
    source_column: str = "source"
    unique_together: tuple[tuple[FieldMapping, ...], ...] = ()

    # cached: the sync asks for these for every event
    @functools.cached_property
    def parents(self) -> tuple[str, ...]:
        return tuple(f.references for f in self.fields if f.references)

    @functools.cached_property
    def foreign_keys(self) -> tuple[FieldMapping, ...]:
        return tuple(f for f in self.fields if f.references)

    def columns(self, platform: Platform) -> tuple[str, ...]:
        return tuple(f.names.on(platform) for f in self.fields)

    def named_fields(self, origin: Platform) -> tuple[tuple[FieldMapping, str, str], ...]:
        """Each field with its column names on `origin` and on the other platform."""
        return self._named_fields[origin]

    @functools.cached_property
    def _named_fields(self) -> dict[Platform, tuple[tuple[FieldMapping, str, str], ...]]:
        return {
            p: tuple((f, f.names.on(p), f.names.on(p.other)) for f in self.fields) for p in Platform
        }

    @functools.cached_property
    def natural_key_fields(self) -> tuple[tuple[FieldMapping, ...], ...]:
        """The field sets that identify a row besides its id: unique fields and groups."""
        return tuple((f,) for f in self.fields if f.unique) + self.unique_together

    def natural_keys(self, platform: Platform) -> tuple[tuple[str, ...], ...]:
        """The natural keys as column names on `platform`."""
        return self._natural_keys[platform]

    @functools.cached_property
    def _natural_keys(self) -> dict[Platform, tuple[tuple[str, ...], ...]]:
        groups = self.natural_key_fields
        return {p: tuple(tuple(f.names.on(p) for f in g) for g in groups) for p in Platform}

    def version_column(self, platform: Platform) -> str | None:
        return None if self.version is None else self.version.on(platform)

    def transform(self, row: Row, origin: Platform) -> dict[str, Any]:
        """Map a row of `origin` to the other platform; foreign keys still hold origin ids."""
        mapped: dict[str, Any] = {}
        for field, name, target_name in self.named_fields(origin):
            if name not in row:
                raise MappingError(
                    f"{self.entity_type}.{name}: missing from the {origin.value} row"
                )
            value = row[name]
            if value is UNCHANGED:
                continue  # not carried by the change: left as it is on the target
            if value is None and not field.nullable:
                raise MappingError(f"{self.entity_type}.{name}: is null but required")
            try:
                mapped[target_name] = field.convert(value, origin)
            except (ValueError, TypeError, OverflowError) as error:
                raise MappingError(f"{self.entity_type}.{name}: {error}") from error
        return mapped


@attrs.frozen
class SchemaMapping:
    """Every mapped entity, looked up by the table a change came from."""

    entities: tuple[EntityMapping, ...]

    def __attrs_post_init__(self) -> None:
        known = {e.entity_type for e in self.entities}
        for entity in self.entities:
            for parent in entity.parents:
                if parent not in known:
                    raise MappingError(f"{entity.entity_type}: references unknown entity {parent}")

    def entity(self, entity_type: str) -> EntityMapping:
        entity = self._by_type.get(entity_type)
        if entity is None:
            raise MappingError(f"unknown entity type {entity_type!r}")
        return entity

    @functools.cached_property
    def _by_type(self) -> dict[str, EntityMapping]:
        """Asked for several times per event: a dict, not a scan (the first of a type wins)."""
        by_type: dict[str, EntityMapping] = {}
        for entity in self.entities:
            by_type.setdefault(entity.entity_type, entity)
        return by_type

    def for_table(self, platform: Platform, table: str) -> EntityMapping:
        """The entity stored in `table` (bare or schema-qualified) on `platform`."""
        for entity in self.entities:
            qualified = f"{entity.schemas.on(platform)}.{entity.tables.on(platform)}"
            if table in (entity.tables.on(platform), qualified):
                return entity
        raise MappingError(f"table {table!r} of {platform.value} is not in the mapping")

    def in_dependency_order(self) -> tuple[EntityMapping, ...]:
        """Parents before children, for loading and for creating in one batch."""
        ordered: list[EntityMapping] = []
        remaining = list(self.entities)
        while remaining:
            ready = [
                e
                for e in remaining
                if all(p in {o.entity_type for o in ordered} for p in e.parents)
            ]
            if not ready:
                raise MappingError("the mapping's references form a cycle")
            ordered.extend(ready)
            remaining = [e for e in remaining if e not in ready]
        return tuple(ordered)
