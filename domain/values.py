"""Normalisation of column values so both databases compare equal: temporal encodings above all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


COERCIONS = {"timestamp": to_timestamp, "integer": to_integer, "string": to_text}
