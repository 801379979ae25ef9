"""The statements a sync transaction sends for every batch, as the driver's own SQL.

Built once per table, column set and row count and sent with positional parameters: no
SQLAlchemy compilation per batch, and the values go through the columns' bind processors (and
the rows read through their result processors) as they would in a Core statement.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, CursorResult, Table
from sqlalchemy.engine import Dialect

from adapters.sql import mysql_literals, pg_arrays
from adapters.sql.tables import SchemaTables
from domain.errors import PermanentError
from domain.events import Platform
from domain.model import EntityLink

CHUNK = 1000  # values in one IN list, rows in one multi-row statement
_LINK_COLUMNS = ("entity_type", "legacy_id", "revamp_id", "applied_version", "rejected_version")
_LINK_WRITTEN = (*_LINK_COLUMNS, "deleted", "updated_at")


@cache
def marks(count: int, width: int = 1) -> str:
    """`%s, %s, ..` for `count` values, or `(%s, %s), (..)` for `count` rows of `width`."""
    if width == 1:
        return ", ".join(["%s"] * count)
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * count)


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class DriverSql:
    """The bookkeeping and row statements of one database, for a connection of its dialect."""

    def __init__(self, dialect: Dialect, tables: SchemaTables) -> None:
        self.dialect = dialect
        self.tables = tables
        self.postgres = dialect.name == "postgresql"
        # PyMySQL inlines the values itself: done here in one pass, the same text
        self._inline = dialect.name in ("mysql", "mariadb") and dialect.driver == "pymysql"
        quote = dialect.identifier_preparer
        self.quote = quote
        links = quote.format_table(tables.links)
        columns = ", ".join((*_LINK_COLUMNS[1:], "deleted"))  # the entity type is asked for
        self._links = f"SELECT {columns} FROM {links} WHERE entity_type = %s"
        processed = quote.format_table(tables.processed)
        self._processed = f"SELECT event_id FROM {processed} WHERE event_id IN "
        marked = "event_id, entity_type, origin, processed_at"
        self._mark = f"INSERT INTO {processed} ({marked}) VALUES "
        self._link_insert = f"INSERT INTO {links} ({', '.join(_LINK_WRITTEN)}) VALUES "
        updated = _LINK_WRITTEN[2:]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
        self._link_upsert = f" ON CONFLICT (entity_type, legacy_id) DO UPDATE SET {sets}"
        copied = ", ".join(f"t.{c} = v.{c}" for c in updated[:-1])
        self._link_update_head = f"UPDATE {links} AS t JOIN ("
        self._link_update_tail = (
            ") AS v ON t.entity_type = v.entity_type AND t.legacy_id = v.legacy_id"
            f" SET {copied}, t.updated_at = %s"
        )
        self._bool = tables.links.c.deleted.type._cached_bind_processor(dialect)
        self._types: dict[str, dict[str, str]] = {}  # PostgreSQL: table -> column -> type
        if self.postgres:  # arrays: a short, constant statement psycopg parses once, prepares
            self._processed_any = (
                f"SELECT event_id FROM {processed} WHERE event_id = ANY(%s::bpchar[])"
            )
            self._mark_any = (
                f"INSERT INTO {processed} ({marked}) SELECT e, t, o, %s"
                " FROM unnest(%s::text[], %s::text[], %s::text[]) AS u(e, t, o)"
            )
            # one index lookup per id, whatever the statistics say: `id = ANY(..)` under the
            # generic plan of a table grown since its last ANALYZE scanned half of it
            # (measured 12-19 ms a batch at 100,000 links; 2-7 ms so)
            self._links_any = {
                column: (
                    f"SELECT m.{', m.'.join((*_LINK_COLUMNS[1:], 'deleted'))}"
                    " FROM unnest(%s::bigint[]) AS u(id) CROSS JOIN LATERAL"
                    f" (SELECT * FROM {links} WHERE entity_type = %s AND {column} = u.id{{lock}})"
                    " AS m"
                )
                for column in ("legacy_id", "revamp_id")
            }
            self._save_links_any = (
                f"INSERT INTO {links} ({', '.join(_LINK_WRITTEN)})"
                " SELECT t, l, r, a, j, d, %s FROM unnest(%s::text[], %s::bigint[],"
                " %s::bigint[], %s::bigint[], %s::bigint[], %s::boolean[]) AS u(t, l, r, a, j, d)"
                + self._link_upsert
            )

    def execute(self, conn: Connection, sql: str, params: Sequence[Any] = ()) -> CursorResult[Any]:
        """`sql` with positional `%s` parameters, as the driver would send it."""
        if self._inline:
            return mysql_literals.execute(conn, sql, params)
        return conn.exec_driver_sql(sql, tuple(params))

    def processed(self, conn: Connection, event_ids: Sequence[str]) -> set[str]:
        if self.postgres:
            rows = self.execute(conn, self._processed_any, (pg_arrays.literal(event_ids),))
            return {r[0].strip() for r in rows}
        found: set[str] = set()
        for chunk in chunks(event_ids):
            sql = f"{self._processed}({marks(len(chunk))})"
            found.update(r[0].strip() for r in self.execute(conn, sql, tuple(chunk)))
        return found

    def mark_processed(
        self, conn: Connection, rows: Sequence[tuple[str, str, str]], now: datetime
    ) -> None:
        """Rows of (event_id, entity_type, origin), processed at `now`, multi-row."""
        if not rows:
            return
        if self.postgres:
            columns = list(zip(*rows, strict=True))
            self.execute(conn, self._mark_any, (now, *(pg_arrays.literal(c) for c in columns)))
            return
        row = f"(%s, %s, %s, {_datetime_literal(now)})"  # formatted once, not per row
        for chunk in chunks(rows):
            sql = self._mark + ", ".join([row] * len(chunk))
            self.execute(conn, sql, tuple(v for row in chunk for v in row))

    def links(
        self,
        conn: Connection,
        entity_type: str,
        platform: Platform,
        ids: Collection[int] | None,
        lock: bool = False,
    ) -> dict[int, EntityLink]:
        """The links of these ids on `platform` (of every row of the entity when `ids` is None)."""
        column = "legacy_id" if platform is Platform.LEGACY else "revamp_id"
        lock_clause = " FOR UPDATE" if lock else ""
        statements: list[tuple[str, tuple[Any, ...]]]
        if ids is None:
            statements = [(self._links + lock_clause, (entity_type,))]
        elif self.postgres:
            sql = self._links_any[column].format(lock=lock_clause)
            statements = [(sql, (pg_arrays.literal(ids), entity_type))]
        else:
            statements = [
                (f"{self._links} AND {column} IN ({marks(len(chunk))}){lock_clause}",
                 (entity_type, *chunk))
                for chunk in chunks(list(ids))
            ]  # fmt: skip
        found: dict[int, EntityLink] = {}
        legacy_side = platform is Platform.LEGACY
        for sql, params in statements:
            for legacy, revamp, applied, rejected, deleted in self.execute(conn, sql, params):
                link = EntityLink(
                    entity_type,
                    int(legacy),
                    int(revamp),
                    int(applied),
                    int(rejected),
                    bool(deleted),
                )
                found[link.legacy_id if legacy_side else link.revamp_id] = link
        return found

    def save_links(
        self,
        conn: Connection,
        links: Sequence[EntityLink],
        now: datetime,
        stored: Mapping[tuple[str, int], bool],
    ) -> None:
        """Insert or update the links by (entity_type, legacy_id), multi-row. PostgreSQL: one
        upsert ON CONFLICT on that key. MySQL: one UPDATE of those `stored` (as the transaction
        read them; the others are read now), one INSERT of the rest, never ON DUPLICATE KEY
        UPDATE, which (entity_type, revamp_id), unique too, could send to another row."""
        if self.postgres and links:
            params = (
                now,
                pg_arrays.literal([k.entity_type for k in links]),
                pg_arrays.literal([k.legacy_id for k in links]),
                pg_arrays.literal([k.revamp_id for k in links]),
                pg_arrays.literal([k.applied_version for k in links]),
                pg_arrays.literal([k.rejected_version for k in links]),
                pg_arrays.literal([bool(k.deleted) for k in links]),
            )
            self.execute(conn, self._save_links_any, params)
            return
        held = self._stored_links(conn, links, stored)
        old = [k for k in links if (k.entity_type, k.legacy_id) in held]
        new = [k for k in links if (k.entity_type, k.legacy_id) not in held]
        for chunk in chunks(old):
            sql = self._link_update_head + self._link_rows(len(chunk)) + self._link_update_tail
            matched = self.execute(conn, sql, (*self._link_params(chunk), now)).rowcount
            if matched != len(chunk):  # MySQL counts matched rows (CLIENT_FOUND_ROWS)
                raise PermanentError(f"{len(chunk) - matched} links to update vanished")
        row = "(" + marks(len(_LINK_COLUMNS) + 1) + f", {_datetime_literal(now)})"
        for chunk in chunks(new):
            sql = self._link_insert + ", ".join([row] * len(chunk))
            self.execute(conn, sql, tuple(self._link_params(chunk)))

    def _stored_links(
        self,
        conn: Connection,
        links: Sequence[EntityLink],
        stored: Mapping[tuple[str, int], bool],
    ) -> set[tuple[str, int]]:
        """The keys of `links` the database holds: as `stored` says, else read (locked)."""
        held = {key for k in links if stored.get(key := (k.entity_type, k.legacy_id))}
        unknown: dict[str, list[int]] = {}
        for k in links:
            if (k.entity_type, k.legacy_id) not in stored:
                unknown.setdefault(k.entity_type, []).append(k.legacy_id)
        for entity_type, ids in unknown.items():
            found = self.links(conn, entity_type, Platform.LEGACY, ids, lock=True)
            held |= {(entity_type, legacy_id) for legacy_id in found}
        return held

    @staticmethod
    def _link_rows(count: int) -> str:
        """A derived table of `count` links, to join the table to."""
        first = "SELECT " + ", ".join(f"%s AS {c}" for c in (*_LINK_COLUMNS, "deleted"))
        return first + f" UNION ALL SELECT {marks(len(_LINK_COLUMNS) + 1)}" * (count - 1)

    def _link_params(self, links: Sequence[EntityLink]) -> list[Any]:
        process = self._bool
        params: list[Any] = []
        for link in links:
            deleted = link.deleted if process is None else process(link.deleted)
            params += (
                link.entity_type, link.legacy_id, link.revamp_id, link.applied_version,
                link.rejected_version, deleted,
            )  # fmt: skip
        return params

    def select_rows(
        self,
        conn: Connection,
        table: Table,
        key: str,
        ids: Sequence[int],
        only: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows of these ids (`only` these columns), locked FOR UPDATE, as SQLAlchemy
        would read them."""
        name = self.quote.format_table(table)
        columns = list(table.c) if only is None else [table.c[c] for c in only]
        names = ", ".join(self.quote.quote(c.name) for c in columns)
        head = f"SELECT {names} FROM {name} WHERE {self.quote.quote(key)}"
        if self.postgres:  # one index lookup per id, as the links (see _links_any)
            sql = (
                f"SELECT m.* FROM unnest(%s::bigint[]) AS u(id) CROSS JOIN LATERAL ({head}"
                " = u.id FOR UPDATE) AS m"
            )
            statements = [(sql, (pg_arrays.literal(ids),))]
        else:
            statements = [
                (f"{head} IN ({marks(len(chunk))}) FOR UPDATE", tuple(chunk))
                for chunk in chunks(ids)
            ]
        for sql, params in statements:
            result = self.execute(conn, sql, params)
            description = result.cursor.description if result.cursor is not None else None
            processors = [
                c.type._cached_result_processor(self.dialect, d[1])
                for c, d in zip(columns, description or (), strict=False)
            ]
            keys = [c.name for c in columns]
            if not any(processors):  # the driver's values are the column types' already
                for raw in result:
                    yield dict(zip(keys, raw, strict=True))
                continue
            for raw in result:
                yield {
                    k: v if p is None or v is None else p(v)
                    for k, v, p in zip(keys, raw, processors, strict=True)
                }

    def find_keys(
        self,
        conn: Connection,
        table: Table,
        key: str,
        columns: Sequence[str],
        values: Collection[tuple[Any, ...]],
    ) -> dict[tuple[Any, ...], int]:
        """Natural key values -> the id of the row holding them (rows locked FOR UPDATE),
        compared as the columns' collations compare."""
        quote = self.quote
        binds = [table.c[c].type._cached_bind_processor(self.dialect) for c in columns]
        names = [quote.quote(c) for c in columns]
        target = names[0] if len(names) == 1 else f"({', '.join(names)})"
        head = (
            f"SELECT {quote.quote(key)}, {', '.join(names)} FROM {quote.format_table(table)}"
            f" WHERE {target} IN "
        )
        found: dict[tuple[Any, ...], int] = {}
        for chunk in chunks(list(values)):
            params = [
                v if p is None or v is None else p(v)
                for row in chunk
                for v, p in zip(row, binds, strict=True)
            ]
            sql = f"{head}({marks(len(chunk), len(names))}) FOR UPDATE"
            result = self.execute(conn, sql, tuple(params))
            description = result.cursor.description if result.cursor is not None else None
            processors = [
                table.c[c].type._cached_result_processor(self.dialect, d[1])
                for c, d in zip(columns, (description or ())[1:], strict=False)
            ]
            for row_id, *raw in result:
                found[
                    tuple(
                        v if p is None or v is None else p(v)
                        for v, p in zip(raw, processors, strict=True)
                    )
                ] = int(row_id)
        return found

    def insert_returning(
        self, conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """One multi-row INSERT .. RETURNING per chunk; the new ids in the order of `rows`.

        Ids are handed out in VALUES order, ascending (a sequence, an auto-increment), as
        SQLAlchemy's own multi-row insert assumes; the RETURNING rows are sorted by them."""
        new_ids: list[int] = []
        start = 0
        for end in range(1, len(rows) + 1):  # runs of rows with the same columns
            if end == len(rows) or rows[end].keys() != rows[start].keys():
                new_ids += self._insert_run(conn, table, key, rows[start:end])
                start = end
        return new_ids

    def _insert_run(
        self, conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        columns = list(rows[0])
        quote = self.quote
        types = self.array_types(conn, table, columns)
        if types is not None:
            aliases = ", ".join(f"v{i}" for i in range(len(columns)))
            sql = (
                f"INSERT INTO {quote.format_table(table)}"
                f" ({', '.join(quote.quote(c) for c in columns)}) SELECT {aliases}"
                f" FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) WITH ORDINALITY"
                f" AS u({aliases}, n) ORDER BY n RETURNING {quote.quote(key)}"
            )
            arrays = self.arrays(table, columns, rows)
            with self.forgetting_types(table):
                return sorted(int(r[0]) for r in self.execute(conn, sql, tuple(arrays)))
        processors = [table.c[c].type._cached_bind_processor(self.dialect) for c in columns]
        head = (
            f"INSERT INTO {quote.format_table(table)} "
            f"({', '.join(quote.quote(c) for c in columns)}) VALUES "
        )
        new_ids: list[int] = []
        for chunk in chunks(rows):
            params: list[Any] = []
            for row in chunk:
                for column, process in zip(columns, processors, strict=True):
                    value = row[column]
                    params.append(value if process is None or value is None else process(value))
            sql = head + marks(len(chunk), len(columns)) + f" RETURNING {quote.quote(key)}"
            new_ids += sorted(int(r[0]) for r in self.execute(conn, sql, tuple(params)))
        return new_ids

    def array_types(
        self, conn: Connection, table: Table, columns: Sequence[str]
    ) -> list[str] | None:
        """PostgreSQL: the array types of these columns as the catalog names them (without a
        length, which the column itself enforces), read once per table; None elsewhere, or
        when a column is not in the table (the plain statement then says so)."""
        if not self.postgres:
            return None
        name = self.quote.format_table(table)
        if name not in self._types:
            rows = self.execute(
                conn,
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (name,),
            )
            self._types[name] = {str(c): _without_length(str(t)) for c, t in rows}
        types = self._types[name]
        if any(c not in types for c in columns):
            del self._types[name]
            return None
        return [types[c] for c in columns]

    @contextmanager
    def forgetting_types(self, table: Table) -> Iterator[None]:
        """A statement typed by the catalog failed: read the types again next time (the table
        may have been altered)."""
        try:
            yield
        except Exception:
            self._types.pop(self.quote.format_table(table), None)
            raise

    def arrays(
        self, table: Table, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
    ) -> list[str | list[Any]]:
        """One array per column, through the columns' bind processors (a text literal where
        exact: `pg_arrays`)."""
        arrays: list[list[Any]] = [[] for _ in columns]
        processors = [table.c[c].type._cached_bind_processor(self.dialect) for c in columns]
        for row in rows:
            for values, column, process in zip(arrays, columns, processors, strict=True):
                value = row[column]
                values.append(value if process is None or value is None else process(value))
        return [pg_arrays.literal(values) for values in arrays]


def _datetime_literal(moment: datetime) -> str:
    """A naive datetime as a SQL literal (our own clock's, never a value from an event)."""
    return f"'{moment:%Y-%m-%d %H:%M:%S.%f}'"


# Bare, these names mean a length of 1 (`character` is char(1), `bit` is bit(1)): a cast to
# them would cut every value to one character. Their unbounded forms keep the value whole.
_BOUNDED_WHEN_BARE = {"character": "bpchar", "bit": "varbit"}


def _without_length(type_name: str) -> str:
    """The catalog's type name, cast-safe without a length."""
    base, brackets, rest = type_name.partition("[")
    return _BOUNDED_WHEN_BARE.get(base, base) + brackets + rest
