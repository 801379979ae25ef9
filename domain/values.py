"""Normalisation of column values so both databases compare equal: temporal encodings above all."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

_EPOCH = datetime(1970, 1, 1)
_MICROS_THRESHOLD = 10**14  # above: microseconds since epoch; below: milliseconds


def to_timestamp(value: Any) -> datetime:
    """Naive UTC datetime from a datetime, a MicroTimestamp or Timestamp int, or ISO text."""
    if isinstance(value, datetime):
        moment: datetime = value
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int):
        micros = value if abs(value) >= _MICROS_THRESHOLD else value * 1000
        return _EPOCH + timedelta(microseconds=micros)
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
}
