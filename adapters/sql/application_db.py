"""A database as its own application writes to it: plain SQL, no sync marking, no `source`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select

from adapters.sql.errors import translated
from adapters.sql.tables import SchemaTables
from domain.events import Platform
from domain.mapping import SchemaMapping


class SqlApplicationDatabase:
    """For generated traffic and tests: what a platform's application does."""

    def __init__(self, engine: Engine, platform: Platform, mapping: SchemaMapping) -> None:
        self.engine = engine
        self.platform = platform
        self.mapping = mapping
        self.tables = SchemaTables(mapping, platform)

    def _table_and_key(self, entity_type: str):  # type: ignore[no-untyped-def]
        entity = self.mapping.entity(entity_type)
        table = self.tables.of(entity)
        return table, table.c[entity.key.on(self.platform)]

    def app_insert(self, entity_type: str, values: Mapping[str, Any]) -> int:
        table, _ = self._table_and_key(entity_type)
        with translated(f"{entity_type} insert"), self.engine.begin() as conn:
            return int(conn.execute(table.insert().values(**values)).inserted_primary_key[0])

    def app_update(self, entity_type: str, row_id: int, changes: Mapping[str, Any]) -> None:
        table, key = self._table_and_key(entity_type)
        with translated(f"{entity_type} update"), self.engine.begin() as conn:
            if not conn.execute(table.update().where(key == row_id).values(**changes)).rowcount:
                raise LookupError(f"{entity_type} {row_id} does not exist on {self.platform.value}")

    def app_delete(self, entity_type: str, row_id: int) -> None:
        table, key = self._table_and_key(entity_type)
        with translated(f"{entity_type} delete"), self.engine.begin() as conn:
            conn.execute(table.delete().where(key == row_id))

    def app_ids(self, entity_type: str) -> list[int]:
        _, key = self._table_and_key(entity_type)
        with translated(f"{entity_type} read"), self.engine.connect() as conn:
            return [int(r[0]) for r in conn.execute(select(key).order_by(key))]

    def row(self, entity_type: str, row_id: int) -> dict[str, Any] | None:
        table, key = self._table_and_key(entity_type)
        with translated(f"{entity_type} read"), self.engine.connect() as conn:
            found = conn.execute(select(table).where(key == row_id)).mappings().first()
            return None if found is None else dict(found)
