"""Errors of the real servers classified by what they mean, on PostgreSQL and MariaDB alike.

Each error is provoked for real (a scratch table with a CHECK, a foreign key, a NOT NULL, a
narrow column) and translated by the adapter: constraint, data and schema errors are
permanent (the one event is dead-lettered); read-only, lost connections and lock timeouts
are transient (waited out, never dead-lettered).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from adapters.sql.errors import TransientWriteError, translated
from domain.errors import (
    ConstraintViolationError,
    SchemaError,
    TargetUnavailableError,
    ValueRejectedError,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SCRATCH = {
    "legacy": """CREATE TABLE err_probe (
        id integer PRIMARY KEY, n smallint NOT NULL CHECK (n >= 0), s varchar(3),
        parent integer REFERENCES err_probe (id))""",
    "revamp": """CREATE TABLE err_probe (
        id int PRIMARY KEY, n tinyint NOT NULL CHECK (n >= 0), s varchar(3),
        parent int, FOREIGN KEY (parent) REFERENCES err_probe (id)) ENGINE=InnoDB""",
}
ROW = "INSERT INTO err_probe (id, n, s, parent) VALUES (1, 1, 'ab', NULL)"
PERMANENT = {
    "null": ("INSERT INTO err_probe (id, n) VALUES (2, NULL)", ConstraintViolationError),
    "duplicate": ("INSERT INTO err_probe (id, n) VALUES (1, 1)", ConstraintViolationError),
    "foreign key": ("INSERT INTO err_probe (id, n, parent) VALUES (2, 1, 99)",
                    ConstraintViolationError),
    "check": ("INSERT INTO err_probe (id, n) VALUES (2, -1)", ConstraintViolationError),
    "out of range": ("INSERT INTO err_probe (id, n) VALUES (2, 100000)", ValueRejectedError),
    "bad value": ("INSERT INTO err_probe (id, n) VALUES (2, 'abc')", ValueRejectedError),
    "too long": ("INSERT INTO err_probe (id, n, s) VALUES (2, 1, 'abcd')", ValueRejectedError),
    "unknown column": ("UPDATE err_probe SET nope = 1", SchemaError),
    "unknown table": ("SELECT * FROM no_such_table", SchemaError),
}  # fmt: skip
CODES = {
    "revamp": {"null": 1048, "duplicate": 1062, "foreign key": 1452, "check": 4025,
               "out of range": 1264, "bad value": 1366, "too long": 1406,
               "unknown column": 1054, "unknown table": 1146},
    "legacy": {"null": "23502", "duplicate": "23505", "foreign key": "23503", "check": "23514",
               "out of range": "22003", "bad value": "22P02", "too long": "22001",
               "unknown column": "42703", "unknown table": "42P01"},
}  # fmt: skip


@pytest.fixture(params=["legacy", "revamp"])
def side(request: pytest.FixtureRequest, engines: dict[str, Engine]) -> Iterator[str]:
    engine = engines[request.param]
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS err_probe"))
        conn.execute(text(SCRATCH[request.param]))
        conn.execute(text(ROW))
    yield request.param
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS err_probe"))


def server_code(error: BaseException) -> object:
    original = getattr(error.__cause__, "orig", None)
    number = getattr(original, "args", (None,))[0]
    return number if isinstance(number, int) else getattr(original, "sqlstate", None)


@pytest.mark.parametrize("case", list(PERMANENT))
def test_constraint_data_and_schema_errors_are_permanent(
    engines: dict[str, Engine], side: str, case: str
) -> None:
    statement, expected = PERMANENT[case]
    with (
        pytest.raises(expected) as raised,
        translated("probe"),
        engines[side].begin() as conn,
    ):
        conn.execute(text(statement))
    assert server_code(raised.value) == CODES[side][case]


def test_a_read_only_transaction_is_an_outage(engines: dict[str, Engine], side: str) -> None:
    start = "SET TRANSACTION READ ONLY" if side == "legacy" else "START TRANSACTION READ ONLY"
    with engines[side].connect() as conn:
        if side == "revamp":
            conn.exec_driver_sql("COMMIT")  # SQLAlchemy's implicit BEGIN is replaced by ours
        conn.execute(text(start))
        with pytest.raises(TargetUnavailableError) as raised, translated("probe"):
            conn.execute(text("INSERT INTO err_probe (id, n) VALUES (5, 1)"))
        conn.rollback()
    assert server_code(raised.value) == {"legacy": "25006", "revamp": 1792}[side]


def test_a_killed_connection_is_an_outage(engines: dict[str, Engine], side: str) -> None:
    engine = engines[side]
    own_id = "SELECT pg_backend_pid()" if side == "legacy" else "SELECT CONNECTION_ID()"
    kill = "SELECT pg_terminate_backend(:id)" if side == "legacy" else "KILL :id"
    with engine.connect() as victim:
        victim_id = victim.execute(text(own_id)).scalar()
        with engine.begin() as killer:
            killer.execute(text(kill), {"id": victim_id})
        with pytest.raises(TargetUnavailableError), translated("probe"):
            victim.execute(text("SELECT 1 FROM err_probe"))
        victim.invalidate()


def test_a_lock_wait_timeout_is_transient(engines: dict[str, Engine], side: str) -> None:
    engine = engines[side]
    short_wait = (
        "SET lock_timeout = '200ms'" if side == "legacy" else "SET innodb_lock_wait_timeout = 1"
    )
    with engine.connect() as holder, engine.connect() as waiter:
        holder.execute(text("UPDATE err_probe SET n = 2 WHERE id = 1"))
        waiter.execute(text(short_wait))
        with pytest.raises(TransientWriteError) as raised, translated("probe"):
            waiter.execute(text("UPDATE err_probe SET n = 3 WHERE id = 1"))
        waiter.rollback()
        holder.rollback()
    assert server_code(raised.value) == {"legacy": "55P03", "revamp": 1205}[side]
