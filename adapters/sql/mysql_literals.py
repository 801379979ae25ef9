"""MySQL statements sent with their values inlined, escaped as PyMySQL escapes them.

PyMySQL inlines every parameter itself (it has no server-side binding), through a chain of
calls per value: `escape`, `escape_item`, a lookup by type, the encoder. For the batches of the
sync (thousands of values a statement) that chain cost more than the statement's own round
trip. Here the usual types (str, int, None, naive datetime) take one branch each and give
the same text; any other value goes through PyMySQL's own `escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymysql.constants.SERVER_STATUS import SERVER_STATUS_NO_BACKSLASH_ESCAPES
from pymysql.converters import escape_string
from sqlalchemy import Connection, CursorResult

# the statement is sent as it is: no second `%` formatting by the driver
NO_PARAMETERS = {"no_parameters": True}


def _quote_only(text: str) -> str:
    """Escaping under NO_BACKSLASH_ESCAPES, as PyMySQL does it."""
    return text.replace("'", "''")


def inlined(dbapi_conn: Any, sql: str, params: Sequence[Any]) -> str:
    """`sql` (with `%s` placeholders) and `params` as the one string PyMySQL would send."""
    fallback = dbapi_conn.escape
    plain = dbapi_conn.server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES
    escape = _quote_only if plain else escape_string
    literals: list[str] = []
    add = literals.append
    for value in params:
        kind = type(value)
        if kind is str:
            add("'" + escape(value) + "'")
        elif kind is int:
            add(str(value))
        elif value is None:
            add("NULL")
        elif kind is datetime and value.tzinfo is None:
            add("'" + value.isoformat(" ") + "'")  # PyMySQL's form: fraction only when set
        else:
            add(fallback(value))
    return sql % tuple(literals)


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> CursorResult[Any]:
    """Send `sql` with `params` inlined by `inlined`, through the connection's cursor."""
    if not params:
        return conn.exec_driver_sql(sql)
    text = inlined(conn.connection.dbapi_connection, sql, params)
    return conn.exec_driver_sql(text, execution_options=NO_PARAMETERS)
