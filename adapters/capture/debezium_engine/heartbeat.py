"""The capture's own one-row table: a write to it, once published, proves that everything
committed before it was published too (both logs deliver in commit order)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import Engine, text

from adapters.capture.debezium_engine.connector import HEARTBEAT_TABLE
from adapters.sql.engines import open_engine
from adapters.sql.errors import translated

_COLUMNS = "(id INT PRIMARY KEY, beat BIGINT NOT NULL)"
_CREATE = {
    "postgresql": f"CREATE TABLE IF NOT EXISTS {{table}} {_COLUMNS}",
    "mysql": f"CREATE TABLE IF NOT EXISTS {{table}} {_COLUMNS} ENGINE=InnoDB",
}
_SEED = {
    "postgresql": "INSERT INTO {table} VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    "mysql": "INSERT IGNORE INTO {table} VALUES (1, 0)",
}
_PUBLISHED = (
    "SELECT 1 FROM pg_publication_tables WHERE pubname = :publication"
    " AND schemaname = :schema AND tablename = :table"
)


class Heartbeat:
    """Writes increasing beats (nanoseconds, so that no two writers repeat one) to its row."""

    def __init__(self, dsn: str, schema: str, publication: str | None = None) -> None:
        self.engine: Engine = open_engine(dsn, pool_size=1)
        self.dialect = self.engine.dialect.name
        self.schema, self.publication = schema, publication
        quote = '"' if self.dialect == "postgresql" else "`"
        self.table = f"{quote}{schema}{quote}.{HEARTBEAT_TABLE}"
        self._last = 0

    def ensure(self) -> str:
        """The table, its row and (PostgreSQL) its place in the publication; describes it."""
        with translated(f"preparing {self.table}"), self.engine.begin() as conn:
            conn.execute(text(_CREATE[self.dialect].format(table=self.table)))
            conn.execute(text(_SEED[self.dialect].format(table=self.table)))
            if self.publication is not None and not _published(conn, self):
                conn.execute(text(f'ALTER PUBLICATION "{self.publication}" ADD TABLE {self.table}'))
        return f"heartbeat table {self.schema}.{HEARTBEAT_TABLE}"

    def beat(self) -> int:
        """Write a beat greater than any this process wrote before; return it."""
        self._last = max(time.time_ns(), self._last + 1)
        with translated(f"writing {self.table}"), self.engine.begin() as conn:
            conn.execute(
                text(f"UPDATE {self.table} SET beat = :beat WHERE id = 1"), {"beat": self._last}
            )
        return self._last

    def close(self) -> None:
        self.engine.dispose()


def _published(conn: Any, heartbeat: Heartbeat) -> bool:
    where = {"publication": heartbeat.publication, "schema": heartbeat.schema}
    found = conn.execute(text(_PUBLISHED), where | {"table": HEARTBEAT_TABLE}).first()
    return found is not None


def beat_of(value: bytes | None) -> int | None:
    """The beat in a change event of the heartbeat table (schema wrapper or not)."""
    if value is None:
        return None
    document = orjson.loads(value)
    payload = document["payload"] if "schema" in document and "payload" in document else document
    after = payload.get("after") if isinstance(payload, dict) else None
    beat = after.get("beat") if isinstance(after, dict) else None
    return beat if isinstance(beat, int) else None
