"""Normalisation of column values so both databases compare equal: temporal encodings above all."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

_EPOCH = datetime(1970, 1, 1)


class _Unchanged:
    """A column the change did not carry (a TOASTed value Debezium did not receive)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""Stands for such a column in a row: the column is left as it is on the target."""


def to_timestamp(value: Any) -> datetime:
    """Naive UTC datetime from a datetime or ISO text. An integer is refused: its unit
    (milli-, micro- or nanoseconds) is the decoder's to know, never to be guessed here."""
    if isinstance(value, datetime):
        moment: datetime = value
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        return to_timestamp(datetime.fromisoformat(text))
    raise ValueError(f"not a timestamp: {value!r}")


def to_micros(value: Any) -> int:
    """Microseconds since the epoch of any value `to_timestamp` accepts."""
    delta = to_timestamp(value) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not an integer: {value!r}")
    return int(value)


def to_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value


def change_case(value: str, case: str) -> str:
    """Apply one of the case rules a mapping may name."""
    if case == "lower":
        return value.lower()
    if case == "upper":
        return value.upper()
    if case == "title":
        return value[:1].upper() + value[1:].lower()
    raise ValueError(f"unknown case rule {case!r}")


def to_boolean(value: Any) -> bool:
    """A boolean from True/False, MySQL's 0/1 (tinyint(1)) or their text forms."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value.strip().lower()]
    raise ValueError(f"not a boolean: {value!r}")


def to_decimal(value: Any) -> Decimal:
    """An exact decimal from a Decimal, an integer or text (as Debezium's string mode sends)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValueError(f"not a decimal: {value!r}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as error:
        raise ValueError(f"not a decimal: {value!r}") from error
    if not number.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return number


def to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, float | int | Decimal | str):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def to_time(value: Any) -> time:
    """A time of day from a time or ISO text (an integer's unit is the decoder's to know)."""
    if isinstance(value, time):
        return value
    if isinstance(value, timedelta) and timedelta(0) <= value < timedelta(days=1):
        return (_EPOCH + value).time()
    if isinstance(value, str):
        return time.fromisoformat(value.strip())
    raise ValueError(f"not a time of day: {value!r:.80}")


def to_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"not binary: {value!r:.80}")
    return bytes(value)


def to_json(value: Any) -> str:
    """A JSON document as text (Debezium sends JSON columns as strings); checked to parse."""
    if not isinstance(value, str):
        raise ValueError(f"not a JSON document: {value!r:.80}")
    json.loads(value)
    return value


def to_date(value: Any) -> date:
    """A date from a date, Debezium's io.debezium.time.Date (days since the epoch) or ISO text."""
    if isinstance(value, datetime):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return _EPOCH.date() + timedelta(days=value)
    if isinstance(value, str):
        return date.fromisoformat(value.strip()[:10])
    raise ValueError(f"not a date: {value!r}")


_BOOLEAN_TEXT = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}

COERCIONS = {
    "timestamp": to_timestamp,
    "integer": to_integer,
    "string": to_text,
    "boolean": to_boolean,
    "decimal": to_decimal,
    "float": to_float,
    "date": to_date,
    "time": to_time,
    "binary": to_bytes,
    "json": to_json,
    "uuid": to_text,
}
