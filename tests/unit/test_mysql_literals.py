"""Values inlined into a MySQL statement give exactly the text PyMySQL itself would send."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from pymysql import converters
from pymysql.connections import Connection
from pymysql.constants.SERVER_STATUS import SERVER_STATUS_NO_BACKSLASH_ESCAPES
from pymysql.cursors import Cursor

from adapters.sql.mysql_literals import inlined

VALUES: list[Any] = [
    "plain", "it's", "back\\slash", "new\nline", "nul\x00byte", "100%", "%s", "ünï", "",
    0, -7, 2**63 - 1, True, False, None,
    datetime(2026, 3, 1), datetime(2026, 3, 1, 12, 30, 5, 120), datetime(999, 1, 2, 3, 4, 5),
    datetime(2026, 3, 1, 1, 2, 3, 4, tzinfo=UTC),
    date(2026, 3, 1), time(1, 2, 3, 4), Decimal("12.50"), 1.5, b"\x00\xffbytes",
]  # fmt: skip


def connection(server_status: int) -> Connection:
    """A PyMySQL connection as far as escaping goes (no server needed)."""
    conn = Connection.__new__(Connection)
    conn.server_status = server_status
    conn.encoding = "utf8mb4"
    conn.encoders = dict(converters.encoders)
    return conn


@pytest.mark.parametrize("status", [0, SERVER_STATUS_NO_BACKSLASH_ESCAPES])
def test_every_value_is_escaped_as_pymysql_escapes_it(status: int) -> None:
    conn = connection(status)
    sql = "INSERT INTO t VALUES " + ", ".join(["(%s)"] * len(VALUES))
    expected = Cursor(conn).mogrify(sql, tuple(VALUES))
    assert inlined(conn, sql, VALUES) == expected


def test_a_percent_in_a_value_is_sent_as_it_is() -> None:
    assert inlined(connection(0), "SELECT %s", ["50% off"]) == "SELECT '50% off'"
