"""What a live database says about its tables, as plain data: read by an adapter, judged here."""

from __future__ import annotations

import re
from collections.abc import Collection

import attrs

from domain.events import Platform

# Bookkeeping of the sync itself and of the migrations: never entities.
SYNC_TABLES = frozenset(
    {
        "entity_mappings",
        "processed_events",
        "tandem_sync_marker",
        "tandem_waiting_children",
        "tandem_capture_heartbeat",
        "schema_migrations",
    }
)

_TYPE_CLASSES = (
    ("boolean", r"^(bool|boolean|tinyint\(1\)|bit\(1\))"),
    ("integer", r"^(small|medium|big|tiny)?int|^integer|^(small|big)?serial|^int\d"),
    ("decimal", r"^(numeric|decimal|money)"),
    ("float", r"^(real|float|double)"),
    ("timestamp", r"^(timestamp|datetime)"),
    ("date", r"^date$"),
    ("time", r"^time"),
    ("string", r"^(character|varchar|char|text|tinytext|mediumtext|longtext|enum|set|citext)"),
    ("json", r"^jsonb?"),
    ("uuid", r"^uuid"),
    ("binary", r"^(bytea|blob|tinyblob|mediumblob|longblob|binary|varbinary)"),
)


def type_class(raw_type: str) -> str:
    """The family of a column's SQL type, the same word on both platforms (or `other`)."""
    text = raw_type.strip().lower()
    for family, pattern in _TYPE_CLASSES:
        if re.search(pattern, text):
            return family
    return "other"


def type_length(raw_type: str) -> int | None:
    """The declared length of a character type (`varchar(255)` gives 255), else None."""
    pattern = r"^\s*(character varying|varchar|character|char)\s*\((\d+)\)"
    match = re.match(pattern, raw_type.lower())
    return int(match.group(2)) if match else None


def fraction_digits(raw_type: str) -> int | None:
    """Declared fraction digits of a time or timestamp type: `datetime(3)` gives 3, a bare
    PostgreSQL type 6 and a bare MySQL `datetime`/`timestamp`/`time` 0; None for others."""
    text = raw_type.strip().lower()
    if type_class(text) not in ("timestamp", "time"):
        return None
    match = re.search(r"\((\d+)\)", text)
    if match:
        return int(match.group(1))
    return 6 if "zone" in text or text in ("timestamptz", "timetz") else 0


_INTEGER_BYTES = (("tinyint", 1), ("smallint", 2), ("smallserial", 2), ("mediumint", 3),
                  ("bigint", 8), ("bigserial", 8), ("int", 4), ("serial", 4))  # fmt: skip


def type_capacity(raw_type: str) -> tuple[int, ...] | None:
    """What a column can hold, comparable within its family; None when unbounded (text,
    numeric without precision). Characters; integer bytes; decimal (integer digits, scale)."""
    text = raw_type.strip().lower()
    family = type_class(text)
    if family == "string":
        length = type_length(text)
        return None if length is None else (length,)
    if family == "integer":
        return next(((n,) for name, n in _INTEGER_BYTES if text.startswith(name)), None)
    if family == "decimal":
        match = re.match(r"^(numeric|decimal)\s*\((\d+)\s*(?:,\s*(\d+))?\)", text)
        if match is None:
            return None if text.startswith("numeric") else (10, 0)  # MySQL's DECIMAL: (10, 0)
        precision, scale = int(match.group(2)), int(match.group(3) or 0)
        return (precision - scale, scale)
    return None


def quoted_values(expression: str) -> tuple[str, ...]:
    """The string literals of a CHECK expression or an enum type, in order, without repeats."""
    found = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", expression)]
    return tuple(dict.fromkeys(found))


_CHECK_WORDS = {"check", "in", "any", "array", "text", "character", "varying", "varchar", "or"}


def check_values(expression: str, columns: Collection[str]) -> tuple[str, tuple[str, ...]] | None:
    """(column, allowed strings) of a CHECK that restricts one column to a list, else None.

    Reads PostgreSQL's `((status)::text = ANY (ARRAY['a'::character varying, ...]))` and
    MySQL's `` `status` in (_utf8mb4'a', ...) `` alike."""
    bare = re.sub(r"'(?:[^']|'')*'", "''", expression)
    names = {n.strip('`"') for n in re.findall(r"[`\"]?[A-Za-z_][A-Za-z0-9_$]*[`\"]?", bare)}
    mentioned = names & set(columns)
    other = {n for n in names - mentioned if n.lower() not in _CHECK_WORDS and n[:1] != "_"}
    values = quoted_values(expression)
    if len(mentioned) != 1 or other or not values:
        return None
    return mentioned.pop(), values


@attrs.frozen
class ColumnInfo:
    """One column: its name, SQL type, nullability, default and allowed value set."""

    name: str
    raw_type: str
    nullable: bool = False
    has_default: bool = False
    values: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The type's family; a PostgreSQL enum (a type of its own, with labels) is a string."""
        family = type_class(self.raw_type)
        return "string" if family == "other" and self.values else family

    @property
    def length(self) -> int | None:
        return type_length(self.raw_type)


@attrs.frozen
class ForeignKeyInfo:
    """Columns of this table that reference the primary key of `table`."""

    columns: tuple[str, ...]
    table: str


@attrs.frozen
class TableInfo:
    """One table: columns in order, keys, and how its changes are logged."""

    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()
    replica_identity: str | None = None  # PostgreSQL: default, full, index or nothing
    published: bool = True  # PostgreSQL: in the capture's publication

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def reference_of(self, column: str) -> str | None:
        """The table a single-column foreign key on `column` points to."""
        return next((fk.table for fk in self.foreign_keys if fk.columns == (column,)), None)

    def is_unique(self, columns: tuple[str, ...]) -> bool:
        """Whether a unique key (or the primary key) is made of exactly these columns."""
        wanted = set(columns)
        return any(set(key) == wanted for key in (*self.unique, self.primary_key))


@attrs.frozen
class Catalog:
    """The tables of one schema of one platform, and the server settings capture relies on."""

    platform: Platform
    schema: str
    tables: tuple[TableInfo, ...]
    server: tuple[tuple[str, str], ...] = ()  # MySQL variables: binlog_format, ...

    def table(self, name: str) -> TableInfo | None:
        return next((t for t in self.tables if t.name == name), None)

    def setting(self, name: str) -> str | None:
        return dict(self.server).get(name)

    @property
    def entity_tables(self) -> tuple[TableInfo, ...]:
        """The tables that may hold entities: all but the sync's bookkeeping."""
        return tuple(t for t in self.tables if t.name not in SYNC_TABLES)
