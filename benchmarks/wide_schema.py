"""A generated schema of many table pairs, named differently on each side, for scaffolding,
sync and benchmarks: foreign keys between them, mixed column types, triggers like V002's.

legacy `old_invoices(invoice_name, is_active boolean, notes, customer_id → old_customers)`
pairs with revamp `new_invoice(name, isActive tinyint(1), notes_text, customer_ref → ...)`.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import attrs
from sqlalchemy import Engine, text

from adapters.sql_migrations import default_sql_root, split_statements

NOUNS = """
account invoice order payment product shipment supplier warehouse customer contract
ticket project task comment review coupon discount vendor employee department budget
expense receipt refund voucher campaign lead contact meeting document folder report
asset device sensor reading alert incident region store basket cart wish rating badge
level quest reward member plan
""".split()  # noqa: SIM905
STATUS = ("new", "open", "done")


@attrs.frozen
class WideTable:
    index: int
    noun: str
    parents: tuple[str, ...]

    @property
    def legacy(self) -> str:
        return f"old_{self.noun}s"

    @property
    def revamp(self) -> str:
        return f"new_{self.noun}"

    @property
    def has_status(self) -> bool:
        return self.index % 3 == 0

    @property
    def has_code(self) -> bool:
        return self.index % 5 == 0


def wide_tables(count: int = 50) -> list[WideTable]:
    """Table i references table (i-1)//2 (a binary tree of parents), and every fourth one also
    table i-2: up to two foreign keys each, never a cycle."""
    tables: list[WideTable] = []
    for i in range(count):
        parents = [] if i == 0 else [NOUNS[(i - 1) // 2]]
        if i % 4 == 0 and i >= 2 and NOUNS[i - 2] not in parents:
            parents.append(NOUNS[i - 2])
        tables.append(WideTable(i, NOUNS[i], tuple(parents)))
    return tables


def legacy_ddl(tables: list[WideTable]) -> list[str]:
    guard = next(
        s
        for s in split_statements(
            (default_sql_root() / "legacy" / "V002__source_triggers.sql").read_text()
        )
        if "FUNCTION tandem_row_guard" in s
    )
    statements = [guard]
    for t in tables:
        columns = [
            "id serial PRIMARY KEY",
            f"{t.noun}_name varchar(100) NOT NULL",
            "amount numeric(12,2) NOT NULL",
            "is_active boolean NOT NULL DEFAULT true",
            "due_date date",
            "notes text",
            "quantity bigint NOT NULL DEFAULT 0",
            "weight double precision NOT NULL DEFAULT 0",
        ]
        columns += [
            f"{p}_id integer NOT NULL REFERENCES old_{p}s (id) ON DELETE CASCADE" for p in t.parents
        ]
        if t.has_status:
            columns.append(
                "status varchar(20) NOT NULL DEFAULT 'new' "
                "CHECK (status IN ('new', 'open', 'done'))"
            )
        if t.has_code:
            columns.append("code varchar(40) NOT NULL UNIQUE")
        columns += [
            "source varchar(20) NOT NULL DEFAULT 'legacy'",
            "created_at timestamp(6) NOT NULL",
            "updated_at timestamp(6) NOT NULL",
        ]
        statements += [
            f"CREATE TABLE IF NOT EXISTS {t.legacy} ({', '.join(columns)})",
            f"ALTER TABLE {t.legacy} REPLICA IDENTITY FULL",
            f"CREATE OR REPLACE TRIGGER {t.legacy}_guard BEFORE INSERT OR UPDATE ON {t.legacy} "
            "FOR EACH ROW EXECUTE FUNCTION tandem_row_guard('legacy', 'true')",
        ]
        statements += [
            f"CREATE INDEX IF NOT EXISTS {t.legacy}_{p} ON {t.legacy} ({p}_id)" for p in t.parents
        ]
    return statements


_MYSQL_GUARD = """
CREATE TRIGGER {table}_{when} BEFORE {event} ON {table} FOR EACH ROW
BEGIN
    IF COALESCE(@tandem_origin, '') = 'sync_service' THEN
        SET NEW.source = 'sync_service';
        SET NEW.updated_at = COALESCE(NEW.updated_at, {previous}UTC_TIMESTAMP(6));
    ELSE
        SET NEW.source = 'revamp';
        SET NEW.updated_at = {fresh};
    END IF;
    SET NEW.created_at = COALESCE(NEW.created_at, {created}UTC_TIMESTAMP(6));
END
"""


def revamp_ddl(tables: list[WideTable]) -> list[str]:
    statements = []
    for t in tables:
        columns = [
            "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY",
            "name VARCHAR(100) NOT NULL",
            "amount DECIMAL(12,2) NOT NULL",
            "isActive TINYINT(1) NOT NULL DEFAULT 1",
            "due_date DATE NULL",
            "notes_text TEXT NULL",
            "quantity BIGINT NOT NULL DEFAULT 0",
            "weight DOUBLE NOT NULL DEFAULT 0",
        ]
        columns += [f"{p}_ref INT NOT NULL" for p in t.parents]
        if t.has_status:
            columns.append(
                "status VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL "
                "DEFAULT 'New' CHECK (status IN ('New', 'Open', 'Done'))"
            )
        if t.has_code:
            columns.append("code_value VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin "
                           "NOT NULL UNIQUE")  # fmt: skip
        columns += [
            "legacy_code VARCHAR(20) NULL",  # revamp only: scaffold leaves it out, commented
            "source VARCHAR(20) NOT NULL DEFAULT 'revamp'",
            "created_at DATETIME(6) NOT NULL",
            "updated_at DATETIME(6) NOT NULL",
        ]
        columns += [
            f"CONSTRAINT fk_{t.revamp}_{p} FOREIGN KEY ({p}_ref) REFERENCES new_{p} (id) "
            "ON DELETE CASCADE"
            for p in t.parents
        ]
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {t.revamp} ({', '.join(columns)}) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
        )
        for when, event, previous, fresh, created in (
            ("bi", "INSERT", "", "UTC_TIMESTAMP(6)", ""),
            ("bu", "UPDATE", "OLD.updated_at, ",
             "GREATEST(UTC_TIMESTAMP(6), OLD.updated_at + INTERVAL 1 MICROSECOND)",
             "OLD.created_at, "),
        ):  # fmt: skip
            statements.append(f"DROP TRIGGER IF EXISTS {t.revamp}_{when}")
            statements.append(
                _MYSQL_GUARD.format(
                    table=t.revamp,
                    when=when,
                    event=event,
                    previous=previous,
                    fresh=fresh,
                    created=created,
                )
            )
    return statements


def create_wide_schema(legacy: Engine, revamp: Engine, count: int = 50) -> list[WideTable]:
    """Create the tables (parents first) and their triggers on both databases."""
    tables = wide_tables(count)
    for engine, statements in ((legacy, legacy_ddl(tables)), (revamp, revamp_ddl(tables))):
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    return tables


class WideTraffic:
    """Application writes on one side: inserts everywhere, updates, deletes of leaf rows.
    Like an application, it never sets `source`."""

    def __init__(self, engine: Engine, tables: list[WideTable], legacy: bool, seed: int) -> None:
        self.engine, self.tables, self.legacy = engine, tables, legacy
        self.random = random.Random(seed)
        self.children = {p for t in tables for p in t.parents}
        self.writes = 0

    def name(self, table: WideTable) -> str:
        return table.legacy if self.legacy else table.revamp

    def row(self, table: WideTable, conn) -> dict[str, object] | None:  # type: ignore[no-untyped-def]
        r = self.random
        row: dict[str, object] = {
            (f"{table.noun}_name" if self.legacy else "name"): f"{table.noun} {r.randrange(10**6)}",
            "amount": Decimal(r.randrange(10**7)) / 100,
            ("is_active" if self.legacy else "isActive"): r.random() < 0.5,
            "due_date": date(2026, 1, 1) + timedelta(days=r.randrange(365)),
            ("notes" if self.legacy else "notes_text"): r.choice([None, "ünïcode ✓", "plain"]),
            "quantity": r.randrange(-(2**40), 2**40),
            "weight": r.choice([0.0, 1.5, 1e-7, 123456.789]),
        }
        for parent in table.parents:
            parent_table = next(t for t in self.tables if t.noun == parent)
            found = self.recent_id(conn, parent_table)
            if found is None:
                return None
            row[f"{parent}_id" if self.legacy else f"{parent}_ref"] = found
        if table.has_status:
            value = r.choice(STATUS)
            row["status"] = value if self.legacy else value.title()
        if table.has_code:
            row["code" if self.legacy else "code_value"] = uuid.uuid4().hex
        return row

    def recent_id(self, conn, table: WideTable) -> int | None:  # type: ignore[no-untyped-def]
        """One of the newest rows' ids (a few, so parents and updates spread), or None."""
        ids = conn.execute(text(f"SELECT id FROM {self.name(table)} ORDER BY id DESC LIMIT 5"))
        found = [int(i) for (i,) in ids]
        return self.random.choice(found) if found else None

    def insert(self, table: WideTable) -> None:
        with self.engine.begin() as conn:
            row = self.row(table, conn)
            if row is None:
                return
            names = ", ".join(row)
            values = ", ".join(f":{k}" for k in row)
            conn.execute(text(f"INSERT INTO {self.name(table)} ({names}) VALUES ({values})"), row)
        self.writes += 1

    def step(self) -> None:
        """One write: mostly inserts, then updates, a few deletes of rows nothing references."""
        table = self.random.choice(self.tables)
        roll = self.random.random()
        if roll < 0.6:
            self.insert(table)
            return
        with self.engine.begin() as conn:
            row_id = self.recent_id(conn, table)
            if row_id is None:
                return
            if roll < 0.9 or table.noun in self.children:
                amount = Decimal(self.random.randrange(10**7)) / 100
                conn.execute(
                    text(f"UPDATE {self.name(table)} SET amount = :a WHERE id = :id"),
                    {"a": amount, "id": row_id},
                )
            else:
                conn.execute(text(f"DELETE FROM {self.name(table)} WHERE id = :id"), {"id": row_id})
        self.writes += 1

    def fill(self, rows_per_table: int) -> None:
        """`rows_per_table` rows in every table, parents first."""
        for table in self.tables:
            for _ in range(rows_per_table):
                self.insert(table)
