"""Versioned, idempotent SQL migrations for the legacy (PostgreSQL) and revamp (MySQL) databases.

Files live in ``<sql_root>/<platform>/V<version>__<name>.sql`` (default ``sql_root``: the repo's
``infra/sql``) and are applied in version order; the versions applied are recorded in
``schema_migrations``. Each file runs in its own transaction. MySQL commits DDL implicitly, so
every statement is written to be idempotent (CREATE ... IF NOT EXISTS, DROP TRIGGER IF EXISTS then
CREATE TRIGGER): re-running a file that failed half-way is safe.

Statement convention (no DELIMITER, no SQL parsing): a line holding only ``-- statement``
starts a new statement; everything up to the next such line is sent to the server as ONE
statement, so PL/pgSQL ``$$`` bodies and MySQL ``BEGIN ... END`` trigger bodies need no special
treatment. Text before the first marker, and chunks holding only comments, are skipped; one
trailing ``;`` is removed. Statements go through SQLAlchemy ``text()``: colons that would look
like bind parameters are escaped, so the SQL is sent as written.

Runs are serialised with an advisory lock (``pg_advisory_lock`` / ``GET_LOCK``).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import Connection, Engine, text

Platform = Literal["legacy", "revamp"]

STATEMENT_MARKER = re.compile(r"^[ \t]*--[ \t]*statement[ \t\r]*$", re.IGNORECASE | re.MULTILINE)
_FILE_NAME = re.compile(r"^V(\d+)__(\w+)\.sql$")
_BIND_LIKE = re.compile(r"(?<![:\w\\]):(?=\w)")
_LINE_COMMENT = re.compile(r"--[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)

_PG_LOCK_KEY = 7_346_213_001  # arbitrary, constant: "tandem migrations"
_LOCK_TIMEOUT_S = 300

_DIALECTS = {"legacy": "postgresql", "revamp": "mysql"}
_SCHEMA_MIGRATIONS_DDL = {
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name varchar(255) NOT NULL,"
        " applied_at timestamp(6) NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'))"
    ),
    "mysql": (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INT NOT NULL PRIMARY KEY,"
        " name VARCHAR(255) NOT NULL,"
        " applied_at DATETIME(6) NOT NULL DEFAULT (UTC_TIMESTAMP(6))"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    ),
}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # file name without ".sql", e.g. "V001__reference_schema"
    path: Path


def default_sql_root() -> Path:
    """The repo's ``infra/sql``: next to the packages, else under the working directory."""
    candidates = [
        Path(__file__).resolve().parents[1] / "infra" / "sql",
        Path.cwd() / "infra" / "sql",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no infra/sql directory found (looked in {candidates})")


def split_statements(sql: str) -> list[str]:
    """Split a migration file on ``-- statement`` lines (see the module docstring)."""
    statements = []
    for chunk in STATEMENT_MARKER.split(sql):
        code = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", chunk))
        if not code.strip(" \t\r\n;"):
            continue
        statement = chunk.strip()
        if statement.endswith(";"):
            statement = statement[:-1].rstrip()
        statements.append(statement)
    return statements


def discover(platform: Platform, sql_root: Path | None = None) -> list[Migration]:
    """The migrations of a platform, in version order."""
    directory = (sql_root or default_sql_root()) / platform
    if not directory.is_dir():
        raise FileNotFoundError(f"no migrations directory {directory}")
    found: dict[int, Migration] = {}
    for path in directory.iterdir():
        match = _FILE_NAME.match(path.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"duplicate migration version {version}: {path.name}")
        found[version] = Migration(version, path.stem, path)
    return [found[v] for v in sorted(found)]


def apply_migrations(engine: Engine, platform: Platform, sql_root: Path | None = None) -> list[str]:
    """Apply the migrations not yet recorded in ``schema_migrations``; return their names."""
    if platform not in ("legacy", "revamp"):
        raise ValueError(f"platform must be 'legacy' or 'revamp', not {platform!r}")
    dialect = "mysql" if engine.dialect.name == "mariadb" else engine.dialect.name
    if dialect != _DIALECTS[platform]:
        raise ValueError(
            f"{platform} migrations need a {_DIALECTS[platform]} engine, not {dialect}"
        )
    migrations = discover(platform, sql_root)
    applied_names: list[str] = []
    with engine.connect() as conn:
        _lock(conn, dialect)
        try:
            with conn.begin():
                conn.execute(text(_SCHEMA_MIGRATIONS_DDL[dialect]))
            with conn.begin():
                done = set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())
            for migration in migrations:
                if migration.version in done:
                    continue
                _apply_one(conn, migration)
                applied_names.append(migration.name)
        except BaseException:
            with contextlib.suppress(Exception):  # never hide the original error
                _unlock(conn, dialect)
            raise
        _unlock(conn, dialect)
    return applied_names


def _apply_one(conn: Connection, migration: Migration) -> None:
    statements = split_statements(migration.path.read_text(encoding="utf-8"))
    with conn.begin():
        for statement in statements:
            conn.execute(text(_BIND_LIKE.sub(r"\\:", statement)))
        conn.execute(
            text("INSERT INTO schema_migrations (version, name) VALUES (:version, :name)"),
            {"version": migration.version, "name": migration.name},
        )


def _lock(conn: Connection, dialect: str) -> None:
    with conn.begin():
        if dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            return
        got = conn.execute(
            text("SELECT GET_LOCK(LEFT(CONCAT('tandem_migrations.', DATABASE()), 64), :t)"),
            {"t": _LOCK_TIMEOUT_S},
        ).scalar()
    if got != 1:
        raise TimeoutError("another migration run holds the tandem_migrations lock")


def _unlock(conn: Connection, dialect: str) -> None:
    if conn.in_transaction():
        conn.rollback()
    with conn.begin():
        if dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
        else:
            conn.execute(
                text("SELECT RELEASE_LOCK(LEFT(CONCAT('tandem_migrations.', DATABASE()), 64))")
            )


def publish_tables(engine: Engine, tables: list[tuple[str, str]], publication: str) -> list[str]:
    """Add the mapped (schema, table)s the publication lacks, so the capture sees their
    changes (V003 publishes the reference tables only); returns those added."""
    with engine.begin() as conn:
        published = {
            (str(s), str(t))
            for s, t in conn.execute(
                text(
                    "SELECT schemaname, tablename FROM pg_publication_tables "
                    "WHERE pubname = :publication"
                ),
                {"publication": publication},
            )
        }
        missing = [t for t in dict.fromkeys(tables) if t not in published]
        for schema, table in missing:
            conn.execute(text(f'ALTER PUBLICATION "{publication}" ADD TABLE "{schema}"."{table}"'))
    return [f"{s}.{t}" for s, t in missing]
