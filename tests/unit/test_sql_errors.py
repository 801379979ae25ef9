"""Server errors classified by their code: one bad row is dead-lettered, an outage waits."""

from __future__ import annotations

import pytest
from sqlalchemy import exc

from adapters.sql.errors import TransientWriteError, translated
from domain.errors import (
    ConstraintViolationError,
    PermanentError,
    SchemaError,
    TargetUnavailableError,
    TransientError,
    ValueRejectedError,
)


class MySQLDriverError(Exception):
    """As PyMySQL raises them: args = (errno, message)."""


class PostgresDriverError(Exception):
    """As psycopg raises them: a `sqlstate` attribute."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


# PyMySQL raises OperationalError for server errors it has no table entry for (4025 among them)
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1048, ConstraintViolationError),
        (1062, ConstraintViolationError),
        (1452, ConstraintViolationError),
        (3819, ConstraintViolationError),
        (4025, ConstraintViolationError),
        (1264, ValueRejectedError),
        (1366, ValueRejectedError),
        (1406, ValueRejectedError),
        (1054, SchemaError),
        (1146, SchemaError),
        (1205, TransientWriteError),
        (1213, TransientWriteError),
        (1290, TargetUnavailableError),
        (1792, TargetUnavailableError),
        (1053, TargetUnavailableError),
        (2013, TargetUnavailableError),
        (1045, TargetUnavailableError),
    ],
)
def test_mysql_errors_by_number(code: int, expected: type[Exception]) -> None:
    with pytest.raises(expected) as raised, translated("user insert"):
        raise exc.OperationalError("INSERT", {}, MySQLDriverError(code, "refused"))
    assert "user insert" in str(raised.value)


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("23514", ConstraintViolationError),
        ("23505", ConstraintViolationError),
        ("22003", ValueRejectedError),
        ("22P02", ValueRejectedError),
        ("42703", SchemaError),
        ("42P01", SchemaError),
        ("25006", TargetUnavailableError),
        ("08006", TargetUnavailableError),
        ("57P01", TargetUnavailableError),
        ("40001", TransientWriteError),
        ("40P01", TransientWriteError),
        ("55P03", TransientWriteError),
    ],
)
def test_postgres_errors_by_sqlstate(sqlstate: str, expected: type[Exception]) -> None:
    with pytest.raises(expected), translated("user insert"):
        raise exc.InternalError("INSERT", {}, PostgresDriverError(sqlstate))


def test_schema_errors_are_permanent_and_outages_transient() -> None:
    assert issubclass(SchemaError, PermanentError)
    assert issubclass(ValueRejectedError, PermanentError)
    assert issubclass(TargetUnavailableError, TransientError)


def test_a_lost_connection_without_a_code_is_an_outage() -> None:
    with pytest.raises(TargetUnavailableError), translated("user insert"):
        raise exc.OperationalError("INSERT", {}, MySQLDriverError())
