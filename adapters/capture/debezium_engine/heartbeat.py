"""The capture's own one-row table: a write to it, once published, proves that everything
committed before it was published too (both logs deliver in commit order)."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

from adapters.capture.debezium_engine.connector import HEARTBEAT_TABLE
from adapters.debezium_envelope import payload_field
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


class Heartbeat:
    """Writes increasing beats (nanoseconds, so that no two writers repeat one) to its row."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.engine: Engine = open_engine(dsn, pool_size=1)
        self.dialect = self.engine.dialect.name
        self.schema = schema
        quote = '"' if self.dialect == "postgresql" else "`"
        self.table = f"{quote}{schema}{quote}.{HEARTBEAT_TABLE}"
        self._last = 0

    def ensure(self) -> str:
        """The table and its row, made if absent; describes it."""
        with translated(f"preparing {self.table}"), self.engine.begin() as conn:
            conn.execute(text(_CREATE[self.dialect].format(table=self.table)))
            conn.execute(text(_SEED[self.dialect].format(table=self.table)))
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


def beat_of(value: bytes | None) -> int | None:
    """The beat in a change event of the heartbeat table (schema wrapper or not)."""
    if value is None:
        return None
    beat = payload_field(value, "after", "beat")
    return beat if isinstance(beat, int) else None
