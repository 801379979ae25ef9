"""Reading whole tables page by page: the RowSnapshot of a SQL database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, func, select

from adapters.sql.errors import translated
from adapters.sql.link_rows import link_of
from adapters.sql.tables import SchemaTables
from domain.events import Platform
from domain.mapping import EntityMapping, SchemaMapping
from domain.model import EntityLink


class SqlRowSnapshot:
    def __init__(self, engine: Engine, platform: Platform, mapping: SchemaMapping) -> None:
        self.engine = engine
        self.platform = platform
        self.tables = SchemaTables(mapping, platform)

    def scan(self, entity: EntityMapping, after_id: int, limit: int) -> list[dict[str, Any]]:
        table = self.tables.of(entity)
        key = table.c[entity.key.on(self.platform)]
        query = select(table).where(key > after_id).order_by(key).limit(limit)
        with translated(f"{entity.entity_type} scan"), self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def count(self, entity: EntityMapping, after_id: int = 0) -> int:
        table = self.tables.of(entity)
        key = table.c[entity.key.on(self.platform)]
        query = select(func.count()).select_from(table).where(key > after_id)
        with translated(f"{entity.entity_type} count"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def all_links(self, entity_type: str) -> Iterator[EntityLink]:
        links = self.tables.links
        query = select(links).where(links.c.entity_type == entity_type)
        with translated("entity_mappings scan"), self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        for row in rows:
            yield link_of(row)
