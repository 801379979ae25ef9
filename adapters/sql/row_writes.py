"""Row updates and deletes held back in a sync transaction and written set-based: one
statement per run of changes of one entity type and operation, in the order they were made.

The SQL is the driver's own (`%s` placeholders, no SQLAlchemy compilation per batch); values go
through the columns' bind processors as they would in a Core statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from sqlalchemy import Connection, Table

from adapters.sql import pg_arrays
from adapters.sql.driver_sql import DriverSql
from adapters.sql.tables import SchemaTables
from domain.errors import PermanentError
from domain.events import Platform
from domain.mapping import EntityMapping

_CHUNK = 1000  # rows per statement


@attrs.frozen
class _Write:
    delete: bool
    entity: EntityMapping
    row_id: int
    values: dict[str, Any]


class PendingRowWrites:
    """What a session changed and has not sent yet."""

    def __init__(
        self,
        conn: Connection,
        tables: SchemaTables,
        platform: Platform,
        sql: DriverSql | None = None,
    ) -> None:
        self.conn = conn
        self.tables = tables
        self.platform = platform
        self.sql = sql or DriverSql(conn.dialect, tables)
        self.writes: list[_Write] = []

    def __bool__(self) -> bool:
        return bool(self.writes)

    def update(self, entity: EntityMapping, row_id: int, values: dict[str, Any]) -> None:
        self.writes.append(_Write(False, entity, row_id, values))

    def delete(self, entity: EntityMapping, row_id: int) -> None:
        self.writes.append(_Write(True, entity, row_id, {}))

    def discard(self) -> None:
        self.writes = []

    def send(self) -> None:
        """Write everything held, run by run; a failure concerns the whole lot."""
        writes, self.writes = self.writes, []
        for run in _runs(writes):
            table = self.tables.of(run[0].entity)
            key = run[0].entity.key.on(self.platform)
            if run[0].delete:
                self._delete(table, key, list(dict.fromkeys(w.row_id for w in run)))
            else:
                self._update(table, key, run)

    def _delete(self, table: Table, key: str, ids: list[int]) -> None:
        quote = self.conn.dialect.identifier_preparer
        name, column = quote.format_table(table), quote.quote(key)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            self.sql.execute(self.conn, f"DELETE FROM {name} WHERE {column} IN ({marks})", chunk)

    def _update(self, table: Table, key: str, run: list[_Write]) -> None:
        merged: dict[int, dict[str, Any]] = {}
        for write in run:  # later changes of one row win, column by column, as one by one
            merged[write.row_id] = {**merged.get(write.row_id, {}), **write.values}
        by_columns: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        for row_id, values in merged.items():
            by_columns.setdefault(tuple(values), []).append((row_id, values))
        for columns, rows in by_columns.items():
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start : start + _CHUNK]
                with self.sql.forgetting_types(table):
                    sql, params = self._update_statement(table, key, columns, chunk)
                    matched = self.sql.execute(self.conn, sql, params).rowcount
                if matched != len(chunk):  # MySQL counts matched rows (CLIENT_FOUND_ROWS)
                    raise PermanentError(
                        f"{table.name}: {len(chunk) - matched} of {len(chunk)} rows to update"
                        " vanished"
                    )

    def _update_statement(
        self,
        table: Table,
        key: str,
        columns: tuple[str, ...],
        rows: list[tuple[int, dict[str, Any]]],
    ) -> tuple[str, tuple[Any, ...]]:
        dialect = self.conn.dialect
        quote = dialect.identifier_preparer
        name, k = quote.format_table(table), quote.quote(key)
        names = [quote.quote(c) for c in columns]
        types = self.sql.array_types(self.conn, table, columns)
        if types is not None:  # arrays: a short statement psycopg parses once, prepares
            aliases = [f"v{i}" for i in range(len(columns))]
            casts = ", ".join(f"%s::{t}[]" for t in types)
            assignments = ", ".join(f"{n} = u.{a}" for n, a in zip(names, aliases, strict=True))
            sql = (
                f"UPDATE {name} AS t SET {assignments} FROM unnest(%s::bigint[], {casts})"
                f" AS u(k, {', '.join(aliases)}) WHERE t.{k} = u.k"
            )
            ids = [row_id for row_id, _ in rows]
            values = self.sql.arrays(table, columns, [v for _, v in rows])
            return sql, (pg_arrays.literal(ids), *values)
        processors = [table.c[c].type._cached_bind_processor(dialect) for c in columns]
        params: list[Any] = []
        for row_id, values in rows:
            params.append(row_id)
            for column, process in zip(columns, processors, strict=True):
                params.append(values[column] if process is None else process(values[column]))
        width = len(columns) + 1
        assignments = ", ".join(f"{n} = v.{n}" for n in names)
        if dialect.name == "postgresql":
            # the empty SELECT gives the rows the table's own column types: untyped parameters
            # (NULL, text for jsonb, an enum) take them; a VALUES list would make them text
            row = " UNION ALL SELECT " + ", ".join(["%s"] * width)
            source = f"SELECT {k}, {', '.join(names)} FROM {name} WHERE false" + row * len(rows)
            sql = f"UPDATE {name} AS t SET {assignments} FROM ({source}) AS v WHERE t.{k} = v.{k}"
        else:
            first = "SELECT " + ", ".join(f"%s AS {n}" for n in [k, *names])
            rest = " UNION ALL SELECT " + ", ".join(["%s"] * width)
            source = first + rest * (len(rows) - 1)
            assignments = ", ".join(f"t.{n} = v.{n}" for n in names)
            sql = f"UPDATE {name} AS t JOIN ({source}) AS v ON t.{k} = v.{k} SET {assignments}"
        return sql, tuple(params)


def _runs(writes: list[_Write]) -> Iterator[list[_Write]]:
    """Consecutive writes of one entity type and operation."""
    run: list[_Write] = []
    for write in writes:
        if run and (write.delete, write.entity.entity_type) != (
            run[0].delete,
            run[0].entity.entity_type,
        ):
            yield run
            run = []
        run.append(write)
    if run:
        yield run
