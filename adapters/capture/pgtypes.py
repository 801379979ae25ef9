"""PostgreSQL columns as Debezium's PostgreSQL connector types them, and their pgoutput text.

The capture session sets DateStyle=ISO and TimeZone=UTC: pgoutput formats values with the
decoding session's settings, so the formats parsed here are the ones that session produces.
Types follow Debezium's defaults: decimal.handling.mode=precise, binary.handling.mode=bytes,
time.precision.mode=adaptive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters import connect_types as ct

BOOL, BYTEA, INT8, INT2, INT4, TEXT, OID = 16, 17, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, BPCHAR, VARCHAR = 114, 700, 701, 1042, 1043
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, BIT, VARBIT = 1082, 1083, 1114, 1184, 1560, 1562
NUMERIC, UUID, JSONB = 1700, 2950, 3802


def _bool(text: str) -> bool:
    return text == "t"


def _numeric(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _timestamp(text: str) -> datetime | str:
    """`2024-01-02 03:04:05.123456[+00]`; infinities and BC dates stay text."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


def _date(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def _time(text: str) -> time | str:
    try:
        return time.fromisoformat(text)
    except ValueError:  # 24:00:00
        return text


def _bytea(text: str) -> bytes | str:
    """bytea's hex output (`\\x00ff`), the server default since PostgreSQL 9.0."""
    return bytes.fromhex(text[2:]) if text.startswith("\\x") else text


_PARSERS: dict[int, Callable[[str], Any]] = {
    BOOL: _bool, INT2: int, INT4: int, INT8: int, OID: int, FLOAT4: float, FLOAT8: float,
    NUMERIC: _numeric, TIMESTAMP: _timestamp, TIMESTAMPTZ: _timestamp, DATE: _date,
    TIME: _time, BYTEA: _bytea,
    # text, varchar, bpchar, uuid, json, jsonb, bit strings and enums stay text
}  # fmt: skip
_FIXED: dict[int, ct.ConnectType] = {
    BOOL: ct.BOOLEAN, INT2: ct.INT16, INT4: ct.INT32, INT8: ct.INT64, OID: ct.INT64,
    FLOAT4: ct.FLOAT32, FLOAT8: ct.FLOAT64, BYTEA: ct.BYTES, DATE: ct.DATE,
    JSON: ct.JSON, JSONB: ct.JSON, UUID: ct.UUID,
}  # fmt: skip


def convert(type_oid: int, text: str) -> Any:
    """The Python value of a text-format column value; unknown types stay strings."""
    parser = _PARSERS.get(type_oid)
    return text if parser is None else parser(text)


def _fraction_digits(type_modifier: int) -> int:
    return 6 if type_modifier < 0 else type_modifier


def connect_type(
    type_oid: int, type_modifier: int, enum_labels: tuple[str, ...] = ()
) -> ct.ConnectType:
    """The Connect type Debezium gives a column of this type and modifier (atttypmod)."""
    if type_oid in _FIXED:
        return _FIXED[type_oid]
    if enum_labels:
        return ct.enum(enum_labels)
    if type_oid == NUMERIC:
        if type_modifier < 0:  # numeric with no precision: the scale varies value by value
            return ct.VARIABLE_DECIMAL
        precision, scale = ((type_modifier - 4) >> 16) & 0xFFFF, (type_modifier - 4) & 0xFFFF
        return ct.decimal(precision, scale)
    if type_oid == TIMESTAMP:
        return ct.timestamp(_fraction_digits(type_modifier))
    if type_oid == TIMESTAMPTZ:
        return ct.zoned_timestamp(_fraction_digits(type_modifier))
    if type_oid == TIME:
        return ct.TIME_MS if _fraction_digits(type_modifier) <= 3 else ct.MICRO_TIME
    if type_oid in (BIT, VARBIT):
        return ct.bits(max(type_modifier, 1))
    return ct.STRING


_LITERAL = re.compile(r"^\(?'((?:[^']|'')*)'(?:::[\w\s\"\[\]().]+)?\)?$")
_NUMBER = re.compile(r"^\(?(-?\d+(?:\.\d+)?)\)?(?:::[\w\s\"\[\]().]+)?$")


def column_default(expression: str | None, kind: ct.ConnectType, not_null: bool) -> Any:
    """The default Debezium's schema gives a column, encoded as its values are: a literal's
    value; for a NOT NULL integer whose default is computed (a sequence), Debezium's
    fallback 0; None (no `default`) for other computed defaults such as now()."""
    if expression is None:
        return None
    literal, number = _LITERAL.match(expression), _NUMBER.match(expression)
    if literal is not None:
        return ct.encoded_default(kind, literal.group(1).replace("''", "'"))
    if number is not None:
        return ct.encoded_default(kind, number.group(1))
    if expression in ("true", "false"):
        return ct.encoded_default(kind, expression)
    return 0 if not_null and kind in (ct.INT16, ct.INT32, ct.INT64) else None
