"""Column values of Debezium JSON events to Python values, decided by the field's Connect schema
when the event carries one, else by the mapping's declared type and Debezium's documented
default encodings. Nothing is inferred from a value's size: what cannot be decoded is refused."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.events import Platform
from domain.mapping import FieldMapping

EPOCH = datetime(1970, 1, 1)
UNAVAILABLE = "__debezium_unavailable_value"  # Debezium's placeholder for an unsent TOAST value
UNAVAILABLE_BYTES = base64.b64encode(UNAVAILABLE.encode()).decode()


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r:.80}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r:.80}")
    return value


def _base64(value: Any) -> bytes:
    try:
        return base64.b64decode(_text(value), validate=True)
    except binascii.Error as error:
        raise ValueError(f"not base64: {value!r:.80}") from error


def from_epoch(value: Any, unit_per_second: int) -> datetime:
    micros = _int(value) * 1_000_000 // unit_per_second
    return EPOCH + timedelta(microseconds=micros)


def time_of_day(value: Any, unit_per_second: int) -> time:
    micros = _int(value) * 1_000_000 // unit_per_second
    if not 0 <= micros < 86_400_000_000:
        raise ValueError(f"time of day out of range: {value!r}")
    return (EPOCH + timedelta(microseconds=micros)).time()


def zoned(value: Any) -> datetime:
    """A ZonedTimestamp string as a naive UTC datetime (the same instant)."""
    text = _text(value).strip()
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def scaled(value: Any, scale: int) -> Decimal:
    """A Decimal from base64 of its unscaled two's-complement value (precise mode)."""
    unscaled = int.from_bytes(_base64(value), "big", signed=True)
    return Decimal(f"{unscaled}E{-scale}")  # exact: arithmetic would round past 28 digits


def number(value: Any) -> Decimal:
    """A decimal sent as a JSON number or as text (decimal.handling.mode string or double)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a decimal: {value!r:.80}")
    try:
        exact = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"not a decimal: {value!r:.80}") from error
    if not exact.is_finite():
        raise ValueError(f"not a finite decimal: {value!r:.80}")
    return exact


def _decimal(value: Any, params: Mapping[str, Any]) -> Decimal:
    if isinstance(value, str) and "scale" in params:
        return scaled(value, int(params["scale"]))
    return number(value)  # decimal.format=NUMERIC writes a number


def _variable_decimal(value: Any, params: Mapping[str, Any]) -> Decimal:
    if not isinstance(value, dict):
        raise ValueError(f"not a VariableScaleDecimal: {value!r:.80}")
    return scaled(value.get("value"), _int(value.get("scale")))


_NAMED: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "io.debezium.time.MicroTimestamp": lambda v, p: from_epoch(v, 1_000_000),
    "io.debezium.time.Timestamp": lambda v, p: from_epoch(v, 1_000),
    "io.debezium.time.NanoTimestamp": lambda v, p: from_epoch(v, 1_000_000_000),
    "io.debezium.time.ZonedTimestamp": lambda v, p: zoned(v),
    "io.debezium.time.Date": lambda v, p: EPOCH.date() + timedelta(days=_int(v)),
    "io.debezium.time.MicroTime": lambda v, p: time_of_day(v, 1_000_000),
    "io.debezium.time.Time": lambda v, p: time_of_day(v, 1_000),
    "io.debezium.time.NanoTime": lambda v, p: time_of_day(v, 1_000_000_000),
    "io.debezium.time.Year": lambda v, p: _int(v),
    "org.apache.kafka.connect.data.Decimal": _decimal,
    "io.debezium.data.VariableScaleDecimal": _variable_decimal,
    "io.debezium.data.Bits": lambda v, p: _base64(v),
    "io.debezium.data.Json": lambda v, p: _text(v),
    "io.debezium.data.Uuid": lambda v, p: _text(v),
    "io.debezium.data.Enum": lambda v, p: _text(v),
    "io.debezium.data.EnumSet": lambda v, p: _text(v),
}
_PLAIN: dict[str, Callable[[Any], Any]] = {
    "int8": _int, "int16": _int, "int32": _int, "int64": _int,
    "boolean": lambda v: v if isinstance(v, bool) else _fail("a boolean", v),
    "string": _text,
    "bytes": _base64,
    "float32": lambda v: float(v) if isinstance(v, int | float) and not isinstance(v, bool)
    else _fail("a number", v),
}  # fmt: skip
_PLAIN["float64"] = _PLAIN["float32"]


def _fail(what: str, value: Any) -> Any:
    raise ValueError(f"not {what}: {value!r:.80}")


def by_schema(value: Any, schema: Mapping[str, Any]) -> Any:
    """The Python value of a column value whose Connect field schema is known."""
    if value is None:
        return None
    named = _NAMED.get(str(schema.get("name") or ""))
    if named is not None:
        return named(value, schema.get("parameters") or {})
    plain = _PLAIN.get(str(schema.get("type")))
    return value if plain is None else plain(value)


def _timestamp(value: Any, precision: int) -> datetime:
    if isinstance(value, str):
        return zoned(value)  # a timestamp with time zone: ZonedTimestamp
    return from_epoch(value, 1_000 if precision <= 3 else 1_000_000)


def _time(value: Any, precision: int, platform: Platform) -> time:
    """PostgreSQL (time.precision.mode=adaptive): Time (ms) up to 3 digits, else MicroTime;
    MySQL (adaptive_time_microseconds): always MicroTime."""
    if isinstance(value, str):
        return time.fromisoformat(value)
    millis = platform is Platform.LEGACY and precision <= 3
    return time_of_day(value, 1_000 if millis else 1_000_000)


def by_field(value: Any, field: FieldMapping, platform: Platform) -> Any:
    """A value with no schema, decoded by the mapping's declared type for `platform`'s column
    (Debezium's defaults: precise decimals, bytes as base64, adaptive time precision)."""
    kind = field.kind
    if value is None or kind is None:
        return value
    if kind == "timestamp":
        return _timestamp(value, field.precision_on(platform))
    if kind == "time":
        return _time(value, field.precision_on(platform), platform)
    if kind == "date" and not isinstance(value, str):
        return EPOCH.date() + timedelta(days=_int(value))
    if kind == "decimal":
        if isinstance(value, str):
            scale = field.scale_on(platform)
            if scale is None:
                raise ValueError("a base64 decimal without the schema wrapper needs `scale`")
            return scaled(value, scale)
        return number(value)
    if kind == "binary":
        return _base64(value)
    return value


_DECODED_KINDS = {"timestamp", "time", "date", "decimal", "binary"}  # the rest: as they are


def field_decoder(field: FieldMapping, platform: Platform) -> Callable[[Any], Any] | None:
    """`by_field` for one field, decided once; None when it keeps every value as it is."""
    if field.kind not in _DECODED_KINDS:
        return None
    return functools.partial(by_field, field=field, platform=platform)


def unavailable(value: Any, binary: bool = False) -> bool:
    """Whether a value is Debezium's placeholder for a TOASTed column it did not receive."""
    return bool(value == (UNAVAILABLE_BYTES if binary else UNAVAILABLE))


__all__ = ["by_field", "by_schema", "date", "field_decoder", "unavailable"]
