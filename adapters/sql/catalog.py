"""Reading a live schema from pg_catalog or information_schema into the domain's Catalog."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Engine, text

from adapters.sql.errors import translated
from domain.catalog import (
    Catalog,
    ColumnInfo,
    ForeignKeyInfo,
    TableInfo,
    check_values,
    quoted_values,
)
from domain.events import Platform

_PG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       a.atthasdef OR a.attidentity <> '', c.relreplident,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = a.atttypid)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_PG_INDEXES = """
SELECT t.relname, i.indisprimary,
       array(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = :schema AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
"""
_PG_CONSTRAINTS = """
SELECT t.relname, con.contype, ref.relname, pg_get_constraintdef(con.oid),
       array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE n.nspname = :schema AND con.contype IN ('f', 'c')
ORDER BY t.relname, con.conname
"""
_PG_PUBLISHED = """
SELECT tablename FROM pg_publication_tables WHERE pubname = :publication AND schemaname = :schema
"""

_MY_COLUMNS = """
SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE = 'YES',
       c.COLUMN_DEFAULT IS NOT NULL OR c.EXTRA LIKE '%auto_increment%'
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = :schema AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"""
_MY_INDEXES = """
SELECT TABLE_NAME, INDEX_NAME = 'PRIMARY', INDEX_NAME, COLUMN_NAME
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = :schema AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"""
_MY_FOREIGN_KEYS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = :schema AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
"""
_MY_CHECKS = """
SELECT tc.TABLE_NAME, cc.CHECK_CLAUSE
FROM information_schema.TABLE_CONSTRAINTS tc
JOIN information_schema.CHECK_CONSTRAINTS cc
  ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
WHERE tc.TABLE_SCHEMA = :schema AND tc.CONSTRAINT_TYPE = 'CHECK'
"""
_MY_SERVER = (
    "SHOW VARIABLES WHERE Variable_name IN "
    "('binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'log_bin')"
)


class SqlSchemaCatalog:
    """The live catalog of one schema (PostgreSQL) or database (MySQL, MariaDB)."""

    def __init__(
        self,
        engine: Engine,
        platform: Platform,
        schema: str | None = None,
        publication: str = "tandem_legacy",
    ) -> None:
        self.engine = engine
        self.platform = platform
        self.postgres = engine.dialect.name == "postgresql"
        self.schema = schema or ("public" if self.postgres else str(engine.url.database))
        self.publication = publication

    def read(self) -> Catalog:
        """Tables, columns, keys, value sets and capture settings, as they are now."""
        with translated(f"{self.platform.value} catalog"), self.engine.connect() as conn:
            tables, server = (self._postgres if self.postgres else self._mysql)(conn)
        return Catalog(self.platform, self.schema, tables, server)

    def _rows(self, conn: Connection, sql: str, **params: Any) -> list[Any]:
        return list(conn.execute(text(sql), {"schema": self.schema, **params}))

    def _postgres(self, conn: Connection) -> tuple[tuple[TableInfo, ...], tuple[Any, ...]]:
        parts = _Parts()
        for table, name, raw, nullable, default, identity, enum in self._rows(conn, _PG_COLUMNS):
            parts.add_column(table, ColumnInfo(name, raw, nullable, default, tuple(enum or ())))
            parts.identity[table] = {"d": "default", "f": "full", "i": "index", "n": "nothing"}[
                identity
            ]
        for table, primary, columns in self._rows(conn, _PG_INDEXES):
            parts.add_key(table, tuple(columns), primary)
        for table, kind, ref, definition, columns in self._rows(conn, _PG_CONSTRAINTS):
            if kind == "f":
                parts.foreign[table].append(ForeignKeyInfo(tuple(columns), ref))
            else:
                parts.checks[table].append(definition)
        published = {r[0] for r in self._rows(conn, _PG_PUBLISHED, publication=self.publication)}
        wal_level = conn.execute(text("SHOW wal_level")).scalar()
        return parts.tables(published), (("wal_level", str(wal_level)),)

    def _mysql(self, conn: Connection) -> tuple[tuple[TableInfo, ...], tuple[Any, ...]]:
        parts = _Parts()
        for table, name, raw, nullable, default in self._rows(conn, _MY_COLUMNS):
            enum = quoted_values(raw) if raw.lower().startswith(("enum(", "set(")) else ()
            parts.add_column(table, ColumnInfo(name, raw, bool(nullable), bool(default), enum))
        keys: dict[tuple[str, str], list[str]] = defaultdict(list)
        primary: set[tuple[str, str]] = set()
        for table, is_primary, index, column in self._rows(conn, _MY_INDEXES):
            keys[table, index].append(column)
            if is_primary:
                primary.add((table, index))
        for (table, index), columns in keys.items():
            parts.add_key(table, tuple(columns), (table, index) in primary)
        foreign: dict[tuple[str, str], list[str]] = defaultdict(list)
        referenced: dict[tuple[str, str], str] = {}
        for table, name, column, ref in self._rows(conn, _MY_FOREIGN_KEYS):
            foreign[table, name].append(column)
            referenced[table, name] = ref
        for (table, name), columns in foreign.items():
            parts.foreign[table].append(ForeignKeyInfo(tuple(columns), referenced[table, name]))
        for table, clause in self._rows(conn, _MY_CHECKS):
            parts.checks[table].append(clause)
        server = tuple((str(k), str(v)) for k, v in conn.execute(text(_MY_SERVER)))
        return parts.tables(None), server


class _Parts:
    """Rows of several catalog queries, gathered per table, then frozen into TableInfos."""

    def __init__(self) -> None:
        self.columns: dict[str, list[ColumnInfo]] = defaultdict(list)
        self.primary: dict[str, tuple[str, ...]] = {}
        self.unique: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        self.foreign: dict[str, list[ForeignKeyInfo]] = defaultdict(list)
        self.checks: dict[str, list[str]] = defaultdict(list)
        self.identity: dict[str, str] = {}

    def add_column(self, table: str, column: ColumnInfo) -> None:
        self.columns[table].append(column)

    def add_key(self, table: str, columns: tuple[str, ...], primary: bool) -> None:
        if primary:
            self.primary[table] = columns
        elif columns not in self.unique[table]:
            self.unique[table].append(columns)

    def tables(self, published: set[str] | None) -> tuple[TableInfo, ...]:
        return tuple(self._table(name, published) for name in sorted(self.columns))

    def _table(self, name: str, published: set[str] | None) -> TableInfo:
        columns = self.columns[name]
        allowed = dict(
            found
            for clause in self.checks[name]
            if (found := check_values(clause, [c.name for c in columns])) is not None
        )
        return TableInfo(
            name=name,
            columns=tuple(
                c if c.values or c.name not in allowed else _with_values(c, allowed[c.name])
                for c in columns
            ),
            primary_key=self.primary.get(name, ()),
            unique=tuple(self.unique[name]),
            foreign_keys=tuple(self.foreign[name]),
            replica_identity=self.identity.get(name),
            published=True if published is None else name in published,
        )


def _with_values(column: ColumnInfo, values: tuple[str, ...]) -> ColumnInfo:
    return ColumnInfo(column.name, column.raw_type, column.nullable, column.has_default, values)
