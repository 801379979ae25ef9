"""PostgreSQL text-format column values (as pgoutput sends them) to Python values, by type OID.

The capture session sets DateStyle=ISO and TimeZone=UTC: pgoutput formats values with the
decoding session's settings, so the formats parsed here are the ones that session produces.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

BOOL, BYTEA, INT8, INT2, INT4, TEXT, OID = 16, 17, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, BPCHAR, VARCHAR = 114, 700, 701, 1042, 1043
DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC, UUID, JSONB = 1082, 1114, 1184, 1700, 2950, 3802


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


def _bytea(text: str) -> str:
    return text[2:] if text.startswith("\\x") else text


_CONVERTERS: dict[int, Callable[[str], Any]] = {
    BOOL: _bool,
    INT2: int,
    INT4: int,
    INT8: int,
    OID: int,
    FLOAT4: float,
    FLOAT8: float,
    NUMERIC: _numeric,
    TIMESTAMP: _timestamp,
    TIMESTAMPTZ: _timestamp,
    DATE: _date,
    BYTEA: _bytea,
    # text, varchar, bpchar, uuid, json and jsonb stay strings: Debezium sends JSON as a string
}


def convert(type_oid: int, text: str) -> Any:
    """The Python value of a text-format column value; unknown types stay strings."""
    converter = _CONVERTERS.get(type_oid)
    return text if converter is None else converter(text)
