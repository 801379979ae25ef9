"""SQLAlchemy Core tables built from the validated mapping: identifiers never come from events."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
)

from domain.events import Platform
from domain.mapping import EntityMapping, SchemaMapping

_TYPES = {
    "timestamp": DateTime(),
    "integer": BigInteger(),
    "string": Text(),
    "boolean": Boolean(),
    "decimal": Numeric(asdecimal=True),
    "float": Float(),
    "date": Date(),
    "time": Time(),
    "binary": LargeBinary(),
    "json": Text(),  # Debezium sends JSON as text; the database parses it
    "uuid": Text(),
    None: Text(),
}


class SchemaTables:
    """The mapped tables of one platform, and the bookkeeping tables beside them."""

    def __init__(self, mapping: SchemaMapping, platform: Platform) -> None:
        self.platform = platform
        self.mapping = mapping
        self.metadata = MetaData()
        self.by_entity: dict[str, Table] = {}
        for entity in mapping.entities:
            columns = [Column(entity.key.on(platform), Integer, primary_key=True)]
            columns += [Column(f.names.on(platform), _TYPES[f.kind]) for f in entity.fields]
            columns.append(Column(entity.source_column, String(20)))
            self.by_entity[entity.entity_type] = Table(
                entity.tables.on(platform),
                self.metadata,
                *columns,
                schema=entity.schemas.on(platform),
            )
        self.links = Table(
            "entity_mappings",
            self.metadata,
            Column("entity_type", String(50), primary_key=True),
            Column("legacy_id", BigInteger, primary_key=True),
            Column("revamp_id", BigInteger),
            Column("applied_version", BigInteger),
            Column("rejected_version", BigInteger),
            Column("deleted", Boolean),
            Column("updated_at", DateTime),
        )
        self.processed = Table(
            "processed_events",
            self.metadata,
            Column("event_id", String(36), primary_key=True),
            Column("entity_type", String(50)),
            Column("origin", String(20)),
            Column("processed_at", DateTime),
        )
        self.waiting = Table(
            "tandem_waiting_children",
            self.metadata,
            Column("event_id", String(36), primary_key=True),
            Column("entity_type", String(50)),
            Column("entity_key", String(500)),
            Column("parent_type", String(50)),
            Column("parent_id", BigInteger),
            Column("topic", String(249)),
            Column("kafka_partition", Integer),
            Column("kafka_offset", BigInteger),
            Column("message_key", LargeBinary),
            Column("message_value", LargeBinary),
            Column("message_ts_ms", BigInteger),
            Column("deadline", Float),
            Column("reason", Text),
        )
        self.marker = Table(
            "tandem_sync_marker",
            self.metadata,
            Column("id", Integer, primary_key=True),
            Column("txn_token", String(64)),
            Column("written_at", DateTime),
        )

    def of(self, entity: EntityMapping) -> Table:
        return self.by_entity[entity.entity_type]
