"""Judging a mapping against both live catalogs: every problem as one line naming its place."""

from __future__ import annotations

from collections.abc import Iterator

from domain.catalog import Catalog, ColumnInfo, TableInfo, type_capacity
from domain.errors import MappingError
from domain.events import Platform
from domain.mapping import EntityMapping, FieldMapping, SchemaMapping

# Which column families each mapping `type` reads and writes without loss.
KIND_FAMILIES = {
    "integer": {"integer"},
    "string": {"string"},
    "timestamp": {"timestamp"},
    "boolean": {"boolean"},
    "decimal": {"decimal", "integer"},
    "date": {"date"},
    "float": {"float", "integer"},
    "time": {"time"},
    "binary": {"binary"},
    "json": {"json", "string"},  # MariaDB's JSON is a LONGTEXT
    "uuid": {"uuid", "string"},  # CHAR(36) on MySQL
}
_MYSQL_CAPTURE = {"binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}


def check_mapping(
    mapping: SchemaMapping,
    legacy: Catalog,
    revamp: Catalog,
    *,
    capture: bool = True,
    entities: tuple[str, ...] | None = None,
) -> list[str]:
    """Every problem found, in mapping order; [] when the mapping fits both schemas."""
    problems: list[str] = []
    if capture:
        problems += list(_server_problems(legacy)) + list(_server_problems(revamp))
    try:
        mapping.in_dependency_order()
    except MappingError as error:
        problems.append(f"mapping: {error}")
    catalogs = {Platform.LEGACY: legacy, Platform.REVAMP: revamp}
    for entity in mapping.entities:
        if entities is None or entity.entity_type in entities:
            problems += list(_entity_problems(mapping, entity, catalogs, capture))
    return problems


def _server_problems(catalog: Catalog) -> Iterator[str]:
    side = catalog.platform.value
    if catalog.platform is Platform.LEGACY:
        level = catalog.setting("wal_level")
        if level is not None and level != "logical":
            yield f"{side}: wal_level is {level}, capture needs logical"
        return
    for name, wanted in _MYSQL_CAPTURE.items():
        value = catalog.setting(name)
        if value is not None and value.upper() != wanted:
            yield f"{side}: {name} is {value}, capture needs {wanted}"


def _entity_problems(
    mapping: SchemaMapping,
    entity: EntityMapping,
    catalogs: dict[Platform, Catalog],
    capture: bool,
) -> Iterator[str]:
    tables: dict[Platform, TableInfo] = {}
    for platform, catalog in catalogs.items():
        table = catalog.table(entity.tables.on(platform))
        if table is None:
            yield (
                f"{entity.entity_type}: {platform.value} table "
                f"{entity.schemas.on(platform)}.{entity.tables.on(platform)} does not exist"
            )
            continue
        tables[platform] = table
        yield from _table_problems(mapping, entity, platform, table, capture)
    if len(tables) == 2:
        for field in entity.fields:
            yield from _pair_problems(entity, field, tables)


def _table_problems(
    mapping: SchemaMapping,
    entity: EntityMapping,
    platform: Platform,
    table: TableInfo,
    capture: bool,
) -> Iterator[str]:
    where = f"{entity.entity_type}: {platform.value} {table.name}"
    key = entity.key.on(platform)
    if table.column(key) is None:
        yield f"{where}: key column {key} does not exist"
    elif not table.is_unique((key,)):
        yield f"{where}: key column {key} is not the primary key"
    if table.column(entity.source_column) is None:
        yield f"{where}: source column {entity.source_column} does not exist"
    version = entity.version_column(platform)
    column = None if version is None else table.column(version)
    if version is not None and (column is None or column.family != "timestamp"):
        yield f"{where}: version column {version} is not a timestamp column"
    for field in entity.fields:
        yield from _field_problems(mapping, entity, field, platform, table)
    for group in entity.natural_keys(platform):
        if all(table.column(c) for c in group) and not table.is_unique(group):
            yield f"{where}: ({', '.join(group)}) is not a unique key"
    yield from _unmapped_problems(mapping, entity, platform, table)
    if capture and platform is Platform.LEGACY:
        yield from _capture_problems(where, table)


def _capture_problems(where: str, table: TableInfo) -> Iterator[str]:
    if table.replica_identity == "nothing":
        yield f"{where}: REPLICA IDENTITY NOTHING, deletes and updates cannot be captured"
    if not table.published:
        yield f"{where}: not in the capture's publication, its changes are not captured"


def _field_problems(
    mapping: SchemaMapping,
    entity: EntityMapping,
    field: FieldMapping,
    platform: Platform,
    table: TableInfo,
) -> Iterator[str]:
    name = field.names.on(platform)
    where = f"{entity.entity_type}.{field.names.legacy}: {platform.value} {table.name}.{name}"
    column = table.column(name)
    if column is None:
        yield f"{where} does not exist"
        return
    if field.kind is not None and column.family not in KIND_FAMILIES.get(field.kind, {field.kind}):
        yield f"{where} is {column.raw_type}, not of type {field.kind}"
    if column.nullable and not field.nullable:
        yield f"{where} is nullable but the mapping requires a value (add nullable: true)"
    parent_table = table.reference_of(name)
    if field.references is not None:
        parent = mapping.entity(field.references).tables.on(platform)
        if parent_table is not None and parent_table != parent:
            yield f"{where} references {parent_table}, not {parent} ({field.references})"
    elif parent_table is not None:
        yield f"{where} references {parent_table}: map it with 'references:' so ids translate"


def _unmapped_problems(
    mapping: SchemaMapping, entity: EntityMapping, platform: Platform, table: TableInfo
) -> Iterator[str]:
    mapped = {*entity.columns(platform), entity.key.on(platform), entity.source_column}
    for column in table.columns:
        if column.name not in mapped and not column.nullable and not column.has_default:
            yield (
                f"{entity.entity_type}: {platform.value} {table.name}.{column.name} is required "
                "(NOT NULL, no default) but not mapped: the sync's inserts would fail"
            )


def _pair_problems(
    entity: EntityMapping, field: FieldMapping, tables: dict[Platform, TableInfo]
) -> Iterator[str]:
    legacy = tables[Platform.LEGACY].column(field.names.legacy)
    revamp = tables[Platform.REVAMP].column(field.names.revamp)
    if legacy is None or revamp is None:
        return
    where = f"{entity.entity_type}.{field.names.legacy}"
    if field.kind is None and legacy.family != revamp.family:
        yield (
            f"{where}: legacy {legacy.raw_type} and revamp {revamp.raw_type} do not convert "
            "without loss (set a type)"
        )
    for short, long in ((legacy, revamp), (revamp, legacy)):
        if short.family == long.family and _narrower(short, long):
            yield (
                f"{where}: {_side(short, legacy)} {short.raw_type} is narrower than "
                f"{_side(long, legacy)} {long.raw_type}: larger values are refused"
            )
    yield from _value_problems(where, field, legacy, revamp)


def _narrower(a: ColumnInfo, b: ColumnInfo) -> bool:
    """Whether `a` holds less than `b`: shorter text, fewer integer bytes or decimal digits."""
    capacity_a, capacity_b = type_capacity(a.raw_type), type_capacity(b.raw_type)
    if capacity_a is None:
        return False
    return capacity_b is None or any(x < y for x, y in zip(capacity_a, capacity_b, strict=True))


def _side(column: ColumnInfo, legacy: ColumnInfo) -> str:
    return "legacy" if column is legacy else "revamp"


def _value_problems(
    where: str, field: FieldMapping, legacy: ColumnInfo, revamp: ColumnInfo
) -> Iterator[str]:
    """Each allowed value, converted, must be allowed on the other side."""
    for origin, source, target in (
        (Platform.LEGACY, legacy, revamp),
        (Platform.REVAMP, revamp, legacy),
    ):
        if not source.values or not target.values:
            continue
        for value in source.values:
            converted = field.convert(value, origin)
            if converted not in target.values:
                yield (
                    f"{where}: {origin.value} value {value!r} becomes {converted!r}, "
                    f"which {origin.other.value} does not allow"
                )
