"""Kafka Connect column types as Debezium declares them, and their values as JsonConverter
writes them (decimal.handling.mode=precise, binary.handling.mode=bytes, adaptive time)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

EPOCH = datetime(1970, 1, 1)


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class ConnectType:
    """A column's Connect schema (type, semantic name, parameters) and its value encoder."""

    type: str
    name: str | None = None
    version: int | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    encode: Callable[[Any], Any] = _same
    fields: tuple[dict[str, Any], ...] = ()

    def schema(
        self, column: str | None = None, optional: bool = True, default: Any = None
    ) -> dict[str, Any]:
        """The field schema, in the key order JsonConverter writes it; `default`, the column's
        default as encoded, when it has one Debezium carries."""
        out: dict[str, Any] = {"type": self.type}
        if self.fields:
            out["fields"] = list(self.fields)
        out["optional"] = optional
        if default is not None:
            out["default"] = default
        if self.name is not None:
            out["name"] = self.name
        if self.version is not None:
            out["version"] = self.version
        if self.parameters:
            out["parameters"] = dict(self.parameters)
        if column is not None:
            out["field"] = column
        return out

    def value(self, value: Any) -> Any:
        return None if value is None else self.encode(value)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a naive (UTC) or aware datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def time_micros(value: time | timedelta) -> int:
    """Microseconds past midnight (a MySQL TIME arrives as a timedelta)."""
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def zoned_text(moment: datetime, width: int) -> str:
    """ZonedTimestamp: ISO-8601 in UTC with `Z`; exactly `width` fraction digits (1..9), or
    as few as needed (none for whole seconds) when width is 0 or unknown, as Java's
    ISO_OFFSET_DATE_TIME prints them."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") if moment.year >= 1000 else _early(moment)
    digits = f"{moment.microsecond:06d}000"
    fraction = digits[:width] if 0 < width <= 9 else digits.rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def _early(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"


def unscaled_bytes(number: Decimal, scale: int) -> bytes:
    """The unscaled value of `number` at `scale`, as Java's BigInteger.toByteArray."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite decimal: {number}")
    unscaled, shift = int("".join(map(str, digits)) or "0"), exponent + scale
    if shift >= 0:  # integer arithmetic: a Decimal context would round past 28 digits
        unscaled *= 10**shift
    else:
        unscaled, dropped = divmod(unscaled, 10**-shift)
        if dropped:
            raise ValueError(f"{number} has more than {scale} fraction digits")
    unscaled = -unscaled if sign else unscaled
    length = max(1, (unscaled + (unscaled < 0)).bit_length() // 8 + 1)
    return unscaled.to_bytes(length, "big", signed=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def float32(value: float) -> float:
    """The shortest decimal that reads back as the same 32-bit float, as Java prints a float."""
    single = struct.unpack("<f", struct.pack("<f", value))[0]
    for digits in range(1, 10):
        shorter = float(f"{single:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", shorter))[0] == single:
            return shorter
    return float(single)


def _decimal_value(scale: int) -> Callable[[Any], Any]:
    return lambda number: b64(unscaled_bytes(Decimal(number), scale))


def _variable_decimal(number: Any) -> dict[str, Any]:
    exact = Decimal(number)
    exponent = exact.as_tuple().exponent
    scale = max(0, -exponent) if isinstance(exponent, int) else 0
    return {"scale": scale, "value": b64(unscaled_bytes(exact, scale))}


def _bits(value: Any) -> bytes:
    """A bit string as Debezium's Bits: the bits' integer as little-endian bytes."""
    number = int(value, 2) if isinstance(value, str) else int(value)
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "little")


def _bytes(value: Any) -> str:
    return b64(value if isinstance(value, bytes) else bytes(value))


INT8, INT16, INT32 = ConnectType("int8"), ConnectType("int16"), ConnectType("int32")
INT64, FLOAT64 = ConnectType("int64"), ConnectType("float64", encode=float)
FLOAT32 = ConnectType("float32", encode=float32)
BOOLEAN, STRING = ConnectType("boolean", encode=bool), ConnectType("string", encode=str)
BYTES = ConnectType("bytes", encode=_bytes)
JSON = ConnectType("string", "io.debezium.data.Json", 1, encode=str)
UUID = ConnectType("string", "io.debezium.data.Uuid", 1, encode=str)
DATE = ConnectType("int32", "io.debezium.time.Date", 1, encode=lambda d: (d - EPOCH.date()).days)
MICRO_TIME = ConnectType("int64", "io.debezium.time.MicroTime", 1, encode=time_micros)
TIME_MS = ConnectType("int32", "io.debezium.time.Time", 1, encode=lambda t: time_micros(t) // 1000)
MICRO_TIMESTAMP = ConnectType("int64", "io.debezium.time.MicroTimestamp", 1, encode=micros)
TIMESTAMP_MS = ConnectType(
    "int64", "io.debezium.time.Timestamp", 1, encode=lambda t: micros(t) // 1000
)
YEAR = ConnectType("int32", "io.debezium.time.Year", 1)
VARIABLE_DECIMAL = ConnectType(
    "struct",
    "io.debezium.data.VariableScaleDecimal",
    1,
    encode=_variable_decimal,
    fields=(
        {"type": "int32", "optional": False, "field": "scale"},
        {"type": "bytes", "optional": False, "field": "value"},
    ),
)


def decimal(precision: int, scale: int) -> ConnectType:
    params = {"scale": str(scale), "connect.decimal.precision": str(precision)}
    return ConnectType(
        "bytes", "org.apache.kafka.connect.data.Decimal", 1, params, _decimal_value(scale)
    )


def zoned_timestamp(width: int) -> ConnectType:
    return ConnectType(
        "string", "io.debezium.time.ZonedTimestamp", 1, encode=lambda t: zoned_text(t, width)
    )


def timestamp(precision: int) -> ConnectType:
    """Adaptive precision: milliseconds up to 3 fraction digits, else microseconds."""
    return TIMESTAMP_MS if 0 <= precision <= 3 else MICRO_TIMESTAMP


def enum(allowed: tuple[str, ...]) -> ConnectType:
    return ConnectType(
        "string", "io.debezium.data.Enum", 1, {"allowed": ",".join(allowed)}, encode=str
    )


def bits(length: int) -> ConnectType:
    if length <= 1:
        return ConnectType("boolean", encode=lambda v: _bits(v) != b"\x00")
    return ConnectType(
        "bytes", "io.debezium.data.Bits", 1, {"length": str(length)}, lambda v: b64(_bits(v))
    )


def python_type(value: Any) -> ConnectType:
    """The type of a value with no declared column type (in-memory capture, tests)."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INT64
    if isinstance(value, float):
        return FLOAT64
    if isinstance(value, datetime):
        return MICRO_TIMESTAMP
    if isinstance(value, date):
        return DATE
    if isinstance(value, time | timedelta):
        return MICRO_TIME
    if isinstance(value, Decimal):
        return VARIABLE_DECIMAL
    if isinstance(value, bytes):
        return BYTES
    return STRING


def encoded_default(kind: ConnectType, text: str) -> Any:
    """A column default's literal text encoded as the column's values are; None when the
    literal is not one of the column's values (a timestamp's text, say): no `default` then."""
    value: Any = text
    if kind.name == "org.apache.kafka.connect.data.Decimal":
        value = Decimal(text)
    elif kind.name is None and kind.type in ("int8", "int16", "int32", "int64"):
        value = int(text)
    elif kind.name is None and kind.type in ("float32", "float64"):
        value = float(text)
    elif kind.type == "boolean":
        value = text.lower() in ("true", "t", "1")
    try:
        return kind.value(value)
    except (ValueError, TypeError, ArithmeticError):
        return None
