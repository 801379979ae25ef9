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


def check_event(entity: EntityMapping, event: SyncEvent) -> dict[str, Any] | None:
    """Raise InvalidEventError naming the first thing wrong: the key, then every mapped field
    of the row image a write carries, with its type and range; the version column.

    For a write, returns its row as `entity.transform` maps it (each value converted once,
    here); None for a delete or a truncate."""
    if not 0 <= event.position.commit_ts_ms <= _COMMIT_TS_MAX_MS:
        raise InvalidEventError("source.ts_ms", f"{event.position.commit_ts_ms} is out of range")
    if event.operation is Operation.TRUNCATE:
        return None
    _check_key(entity, event)
    if event.operation is Operation.DELETE or event.after is None:
        return None
    mapped: dict[str, Any] = {}
    for field, name, target_name in entity.named_fields(event.origin):
        value = _check_field(entity, field, name, event)
        if value is not UNCHANGED:
            mapped[target_name] = value
    version = entity.version_column(event.origin)
    if version is not None and event.after.get(version) is not None:
        try:
            to_micros(event.after[version])
        except (ValueError, TypeError, OverflowError) as error:
            raise InvalidEventError(f"after.{version}", f"not a version: {error}") from error
    return mapped


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


def _check_field(entity: EntityMapping, field: FieldMapping, name: str, event: SyncEvent) -> Any:
    """The value of column `name` converted for the other platform (UNCHANGED, None as they
    are)."""
    assert event.after is not None
    if name not in event.after:
        raise MissingFieldError(f"after.{name}", f"is missing ({entity.entity_type} maps it)")
    value = event.after[name]
    if value is UNCHANGED:  # not carried by the change (TOAST): left as it is
        return UNCHANGED
    if value is None:
        if not field.nullable:
            raise InvalidEventError(f"after.{name}", "is null but required")
        return None
    _check_type(field, value, name)
    try:
        converted = field.convert(value, event.origin)
    except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
        raise InvalidEventError(f"after.{name}", f"{_short(value)}: {error}") from error
    if field.references is not None and not is_bigint(converted):
        raise InvalidEventError(f"after.{name}", f"{_short(value)} is not a 64-bit id")
    return converted


def _check_type(field: FieldMapping, value: Any, name: str) -> None:
    """A scalar of the field's type, in range: no objects or lists, no booleans for numbers."""
    kind = type(value)
    if kind is str and field.kind != "integer":  # the checks below all pass a str but there
        return
    where = f"after.{name}"
    wanted = _WIRE_TYPES.get(field.kind or "")
    if isinstance(value, _CONTAINERS) or (
        wanted is not None and (isinstance(value, bool) or not isinstance(value, wanted))
    ):
        kind_name = field.kind or "scalar"
        raise InvalidEventError(where, f"{kind.__name__} {_short(value)} is not a {kind_name}")
    if isinstance(value, int) and not isinstance(value, bool) and not is_bigint(value):
        raise InvalidEventError(where, f"{_short(value)} is out of the 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEventError(where, f"{value!r} is not a finite number")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
