"""MySQL/MariaDB columns as Debezium's MySQL connector types them, from information_schema.

Debezium's defaults: decimal.handling.mode=precise, binary.handling.mode=bytes,
time.precision.mode=adaptive_time_microseconds, bigint.unsigned.handling.mode=long.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from adapters import connect_types as ct
from adapters.debezium_envelope import TableTypes
from domain.catalog import quoted_values

COLUMNS_SQL = (
    "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION,"
    " NUMERIC_SCALE, DATETIME_PRECISION, COLUMN_DEFAULT FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION"
)
_BINARY = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
_TEXT = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
_SIGNED = {"tinyint": ct.INT16, "smallint": ct.INT16, "mediumint": ct.INT32, "int": ct.INT32,
           "integer": ct.INT32, "bigint": ct.INT64}  # fmt: skip
_UNSIGNED = {"tinyint": ct.INT16, "smallint": ct.INT32, "mediumint": ct.INT32,
             "int": ct.INT64, "integer": ct.INT64, "bigint": ct.INT64}  # fmt: skip


def _digits(value: Any, default: int) -> int:
    return default if value is None else int(value)


_FIXED = {
    "float": ct.FLOAT32,
    "double": ct.FLOAT64,
    "real": ct.FLOAT64,
    "date": ct.DATE,
    "time": ct.MICRO_TIME,
    "year": ct.YEAR,
    "json": ct.JSON,
}


def connect_type(
    data_type: str,
    column_type: str,
    precision: Any = None,
    scale: Any = None,
    fraction: Any = None,
) -> ct.ConnectType:
    """The Connect type Debezium gives a column of this information_schema description."""
    kind, full = data_type.lower(), column_type.lower()
    if kind in _SIGNED:
        return (_UNSIGNED if "unsigned" in full else _SIGNED)[kind]
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in _BINARY:
        return ct.BYTES
    return _parametrized(kind, full, column_type, precision, scale, fraction)


def _parametrized(
    kind: str, full: str, column_type: str, precision: Any, scale: Any, fraction: Any
) -> ct.ConnectType:
    """The types whose Connect type depends on the column's digits, width or values."""
    if kind in ("decimal", "numeric"):
        return ct.decimal(_digits(precision, 10), _digits(scale, 0))
    if kind == "bit":
        width = re.search(r"\((\d+)\)", full)
        return ct.bits(int(width.group(1)) if width else 1)
    if kind == "datetime":
        return ct.timestamp(_digits(fraction, 0))
    if kind == "timestamp":
        return ct.zoned_timestamp(_digits(fraction, 0))
    if kind == "enum":
        return ct.enum(quoted_values(column_type[4:]))
    if kind == "set":
        allowed = {"allowed": ",".join(quoted_values(column_type[3:]))}
        return ct.ConnectType("string", "io.debezium.data.EnumSet", 1, allowed, str)
    return ct.STRING


def table_types(rows: Iterable[tuple[Any, ...]]) -> TableTypes:
    """TableTypes from the rows of COLUMNS_SQL."""
    types: dict[str, ct.ConnectType] = {}
    not_null: set[str] = set()
    defaults: dict[str, Any] = {}
    for name, data_type, column_type, nullable, precision, scale, fraction, default in rows:
        kind = connect_type(_text(data_type), _text(column_type), precision, scale, fraction)
        types[str(name)] = kind
        if _text(nullable).upper() == "NO":
            not_null.add(str(name))
        encoded = column_default(None if default is None else _text(default), kind)
        if encoded is not None:
            defaults[str(name)] = encoded
    return TableTypes(types, frozenset(not_null), defaults)


_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def column_default(expression: str | None, kind: ct.ConnectType) -> Any:
    """The default Debezium's schema gives a column: a literal's value, encoded (MariaDB
    quotes string literals in COLUMN_DEFAULT); None for NULL and computed defaults."""
    if expression is None:
        return None
    if len(expression) >= 2 and expression[0] == expression[-1] == "'":
        return ct.encoded_default(kind, expression[1:-1].replace("''", "'"))
    if _NUMBER.match(expression):
        return ct.encoded_default(kind, expression)
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
