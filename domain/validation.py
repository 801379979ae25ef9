"""An event checked completely against its entity's mapping before anything is written."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from domain.coercions import UNCHANGED, to_micros
from domain.errors import InvalidEventError, MissingFieldError
from domain.events import Operation, SyncEvent
from domain.mapping import EntityMapping, FieldMapping

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
_COMMIT_TS_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_CONTAINERS = (dict, list, tuple, set)
_WIRE_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "string": (str,),
    "timestamp": (int, str, datetime),  # MicroTimestamp, ZonedTimestamp, or decoded already
}


def check_event(entity: EntityMapping, event: SyncEvent) -> None:
    """Raise InvalidEventError naming the first thing wrong: the key, then every mapped field
    of the row image a write carries, with its type and range; the version column."""
    if not 0 <= event.position.commit_ts_ms <= _COMMIT_TS_MAX_MS:
        raise InvalidEventError("source.ts_ms", f"{event.position.commit_ts_ms} is out of range")
    if event.operation is Operation.TRUNCATE:
        return
    _check_key(entity, event)
    if event.operation is Operation.DELETE or event.after is None:
        return
    for field in entity.fields:
        _check_field(entity, field, event)
    version = entity.version_column(event.origin)
    if version is not None and event.after.get(version) is not None:
        try:
            to_micros(event.after[version])
        except (ValueError, TypeError, OverflowError) as error:
            raise InvalidEventError(f"after.{version}", f"not a version: {error}") from error


def is_bigint(value: Any) -> bool:
    """An integer (not a boolean) that a BIGINT column holds."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (BIGINT_MIN <= value <= BIGINT_MAX)
    )


def _check_key(entity: EntityMapping, event: SyncEvent) -> None:
    """The key is exactly the primary key, an integer, equal (same JSON type) to the images'."""
    column = entity.key.on(event.origin)
    if set(event.key) != {column}:
        raise InvalidEventError(
            "key", f"must hold exactly the primary key {column!r}, holds {sorted(event.key)}"
        )
    value = event.key[column]
    if not is_bigint(value):
        raise InvalidEventError(f"key.{column}", f"{value!r} is not a 64-bit integer")
    images = {"before": event.before, "after": event.after}
    for name, image in images.items():
        if image is None:
            continue
        if column not in image:
            if name == "after":
                raise InvalidEventError(f"after.{column}", "the primary key is missing")
            continue  # `before` may be null-keyed under some replica identities
        found = image[column]
        if type(found) is not type(value) or found != value:
            raise InvalidEventError(
                f"key.{column}", f"{value!r} disagrees with {name}.{column} {found!r}"
            )


def _check_field(entity: EntityMapping, field: FieldMapping, event: SyncEvent) -> None:
    assert event.after is not None
    name = field.names.on(event.origin)
    where = f"after.{name}"
    if name not in event.after:
        raise MissingFieldError(where, f"is missing ({entity.entity_type} maps it)")
    value = event.after[name]
    if value is UNCHANGED:  # not carried by the change (TOAST): left as it is
        return
    if value is None:
        if not field.nullable:
            raise InvalidEventError(where, "is null but required")
        return
    _check_type(field, value, where)
    try:
        converted = field.convert(value, event.origin)
    except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
        raise InvalidEventError(where, f"{_short(value)}: {error}") from error
    if field.references is not None and not is_bigint(converted):
        raise InvalidEventError(where, f"{_short(value)} is not a 64-bit id")


def _check_type(field: FieldMapping, value: Any, where: str) -> None:
    """A scalar of the field's type, in range: no objects or lists, no booleans for numbers."""
    wanted = _WIRE_TYPES.get(field.kind or "")
    if isinstance(value, _CONTAINERS) or (
        wanted is not None and (isinstance(value, bool) or not isinstance(value, wanted))
    ):
        kind = field.kind or "scalar"
        raise InvalidEventError(where, f"{type(value).__name__} {_short(value)} is not a {kind}")
    if isinstance(value, int) and not isinstance(value, bool) and not is_bigint(value):
        raise InvalidEventError(where, f"{_short(value)} is out of the 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEventError(where, f"{value!r} is not a finite number")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
