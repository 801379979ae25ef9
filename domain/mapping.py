"""The schema mapping as data: which table maps to which, field by field, both ways."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from domain.errors import MappingError
from domain.events import Platform, Row
from domain.values import COERCIONS, UNCHANGED, change_case

CASE_RULES = ("lower", "upper", "title")
_TOP_KEYS = ("schemas", "entities")
_ENTITY_KEYS = ("tables", "fields", "schemas", "key", "version", "source_column", "unique")
_FIELD_KEYS: tuple[str, ...] = ("name", "legacy", "revamp", "type", "case", "values")
_FIELD_KEYS += ("references", "nullable", "unique", "precision", "scale")
_SIDE_KEYS = ("legacy", "revamp")


@attrs.frozen
class Side:
    """A pair of values, one per platform: column names, case rules, tables."""

    legacy: str
    revamp: str

    def on(self, platform: Platform) -> str:
        return self.legacy if platform is Platform.LEGACY else self.revamp


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
            if value == (legacy_value if origin is Platform.LEGACY else revamp_value):
                return revamp_value if target is Platform.REVAMP else legacy_value
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

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(f.references for f in self.fields if f.references)

    @property
    def foreign_keys(self) -> tuple[FieldMapping, ...]:
        return tuple(f for f in self.fields if f.references)

    def columns(self, platform: Platform) -> tuple[str, ...]:
        return tuple(f.names.on(platform) for f in self.fields)

    @property
    def natural_key_fields(self) -> tuple[tuple[FieldMapping, ...], ...]:
        """The field sets that identify a row besides its id: unique fields and groups."""
        return tuple((f,) for f in self.fields if f.unique) + self.unique_together

    def natural_keys(self, platform: Platform) -> tuple[tuple[str, ...], ...]:
        """The natural keys as column names on `platform`."""
        return tuple(tuple(f.names.on(platform) for f in g) for g in self.natural_key_fields)

    def version_column(self, platform: Platform) -> str | None:
        return None if self.version is None else self.version.on(platform)

    def transform(self, row: Row, origin: Platform) -> dict[str, Any]:
        """Map a row of `origin` to the other platform; foreign keys still hold origin ids."""
        target = origin.other
        mapped: dict[str, Any] = {}
        for field in self.fields:
            name = field.names.on(origin)
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
                mapped[field.names.on(target)] = field.convert(value, origin)
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
        for entity in self.entities:
            if entity.entity_type == entity_type:
                return entity
        raise MappingError(f"unknown entity type {entity_type!r}")

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SchemaMapping:
        """Build from the parsed YAML document; errors name the entity and key at fault."""
        _reject_unknown(data, _TOP_KEYS, "mapping")
        schemas = _side(data.get("schemas", {"legacy": "public", "revamp": "revamp"}), "schemas")
        entities = data.get("entities")
        if not isinstance(entities, Mapping) or not entities:
            raise MappingError("mapping: 'entities' must be a non-empty mapping")
        return cls(tuple(_entity(name, spec, schemas) for name, spec in entities.items()))


def _reject_unknown(spec: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """A misspelt key is an error, not a silently ignored one; the nearest known key is named."""
    for key in spec:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MappingError(f"{where}.{key}: unknown key{hint}; known: {', '.join(allowed)}")


def _side(spec: Any, where: str) -> Side:
    if isinstance(spec, str):
        return Side(spec, spec)
    if not isinstance(spec, Mapping) or not {"legacy", "revamp"} <= set(spec):
        raise MappingError(f"{where}: needs 'legacy' and 'revamp'")
    _reject_unknown(spec, _SIDE_KEYS, where)
    return Side(str(spec["legacy"]), str(spec["revamp"]))


def _entity(name: str, spec: Any, schemas: Side) -> EntityMapping:
    if not isinstance(spec, Mapping):
        raise MappingError(f"entities.{name}: must be a mapping")
    _reject_unknown(spec, _ENTITY_KEYS, f"entities.{name}")
    for required in ("tables", "fields"):
        if required not in spec:
            raise MappingError(f"entities.{name}: '{required}' is missing")
    fields = spec["fields"]
    if not isinstance(fields, Iterable) or isinstance(fields, str | Mapping):
        raise MappingError(f"entities.{name}.fields: must be a list")
    fields_of = tuple(_field(name, i, f) for i, f in enumerate(fields))
    return EntityMapping(
        entity_type=name,
        schemas=_side(spec.get("schemas", attrs.asdict(schemas)), f"entities.{name}.schemas"),
        tables=_side(spec["tables"], f"entities.{name}.tables"),
        key=_side(spec.get("key", "id"), f"entities.{name}.key"),
        fields=fields_of,
        version=_side(spec["version"], f"entities.{name}.version") if "version" in spec else None,
        source_column=str(spec.get("source_column", "source")),
        unique_together=_unique_groups(name, spec.get("unique", []), fields_of),
    )


def _field_names(spec: Mapping[str, Any], where: str) -> Side:
    if "legacy" in spec or "revamp" in spec:
        return _side({k: spec[k] for k in _SIDE_KEYS if k in spec}, where)
    return _side(spec.get("name"), where)


def _unique_groups(
    entity: str, spec: Any, fields: tuple[FieldMapping, ...]
) -> tuple[tuple[FieldMapping, ...], ...]:
    """Entity-level `unique: [[a, b]]`: fields named as on legacy (or by their common name)."""
    where = f"entities.{entity}.unique"
    if not isinstance(spec, list) or not all(isinstance(g, list) and g for g in spec):
        raise MappingError(f"{where}: must be a list of lists of field names")
    by_name = {f.names.legacy: f for f in fields} | {f.names.revamp: f for f in fields}
    groups = []
    for group in spec:
        unknown = [str(n) for n in group if n not in by_name]
        if unknown:
            raise MappingError(f"{where}: unknown field {', '.join(unknown)}")
        groups.append(tuple(by_name[n] for n in group))
    return tuple(groups)


def _field(entity: str, index: int, spec: Any) -> FieldMapping:
    where = f"entities.{entity}.fields[{index}]"
    if not isinstance(spec, Mapping):
        raise MappingError(f"{where}: must be a mapping")
    _reject_unknown(spec, _FIELD_KEYS, where)
    kind = spec.get("type")
    if kind is not None and kind not in COERCIONS:
        raise MappingError(f"{where}.type: unknown type {kind!r}")
    case = _side(spec["case"], f"{where}.case") if "case" in spec else None
    if case is not None and {case.legacy, case.revamp} - set(CASE_RULES):
        raise MappingError(f"{where}.case: rules are {', '.join(CASE_RULES)}")
    values = spec.get("values", {})
    if not isinstance(values, Mapping):
        raise MappingError(f"{where}.values: must map legacy values to revamp values")
    return FieldMapping(
        names=_field_names(spec, where),
        kind=kind,
        case=case,
        values=tuple((str(k), str(v)) for k, v in values.items()),
        references=spec.get("references"),
        nullable=bool(spec.get("nullable", False)),
        unique=bool(spec.get("unique", False)),
        precision=_digits(spec, "precision", where),
        scale=_digits(spec, "scale", where),
    )


def _digits(spec: Mapping[str, Any], key: str, where: str) -> Side | None:
    """An optional digit count, one for both sides or one per side."""
    if key not in spec:
        return None
    side = _side(spec[key] if isinstance(spec[key], Mapping) else str(spec[key]), where + "." + key)
    if not (side.legacy.isdigit() and side.revamp.isdigit()):
        raise MappingError(f"{where}.{key}: must be a whole number of digits")
    return side
