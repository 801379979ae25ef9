"""The change event that flows through the sync, independent of any wire format."""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import uuid
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from domain.errors import InvalidEventError

EVENT_VERSION = "1.0.0"
_EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c2a-8b7e-4f55-9a61-3c0e2d9b7a10")
_NAMESPACE_BYTES = _EVENT_ID_NAMESPACE.bytes

Row = Mapping[str, Any]


class Operation(enum.Enum):
    """Debezium's `op` vocabulary."""

    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"
    TRUNCATE = "t"

    # cached on the member: Python 3.11 finds an enum member on its class through a
    # descriptor (~70 ns a lookup), and the sync asks these for every event
    @functools.cached_property
    def writes_row(self) -> bool:
        return self in (Operation.CREATE, Operation.UPDATE, Operation.READ)


class Platform(enum.Enum):
    """The two databases kept in sync."""

    LEGACY = "legacy"
    REVAMP = "revamp"

    @functools.cached_property
    def is_legacy(self) -> bool:
        return self is Platform.LEGACY

    @functools.cached_property
    def other(self) -> Platform:
        return Platform.REVAMP if self is Platform.LEGACY else Platform.LEGACY

    @functools.cached_property
    def direction(self) -> str:
        """The label of the direction changes of this platform sync in: `legacy-to-revamp`."""
        return f"{self.value}-to-{self.other.value}"


SYNC_SERVICE = "sync_service"
"""The `source` value of every row the sync service writes."""

SYNC_ORIGIN = "tandem_sync"
"""The PostgreSQL replication origin of the sync service's sessions: logical decoding sends it
with each of their transactions (Debezium puts it in `source.origin`). Concurrent sessions of
one direction each take their own: `tandem_sync`, then the numbered `tandem_sync_2` .. `_8`."""
SYNC_ORIGINS = (SYNC_ORIGIN, *(f"{SYNC_ORIGIN}_{n}" for n in range(2, 9)))


def is_sync_origin(name: object, bases: Collection[str] = (SYNC_ORIGIN,)) -> bool:
    """`name` is one of the replication origins `bases`, or a numbered sibling of one."""
    if not isinstance(name, str):
        return False
    base, _, number = name.rpartition("_")
    return name in bases or (number.isdigit() and base in bases)


@attrs.frozen
class SourcePosition:
    """Where a change sits in its database's log: LSN, or binlog file and position."""

    log_position: str
    tx_id: str | None = None
    commit_ts_ms: int = 0


@attrs.frozen
class SyncEvent:
    """One committed row change, captured on `origin`, to be applied on the other platform."""

    event_id: str
    origin: Platform
    table: str
    entity_type: str
    operation: Operation
    key: Row
    before: Row | None
    after: Row | None
    position: SourcePosition
    event_version: str = EVENT_VERSION
    # the replication origin of the source transaction, when the capture names one
    # (Debezium's PostgreSQL `source.origin`): the sync service's own are echoes
    source_origin: str | None = None

    @classmethod
    def captured(
        cls,
        *,
        origin: Platform,
        table: str,
        entity_type: str,
        operation: Operation,
        key: Row,
        before: Row | None,
        after: Row | None,
        position: SourcePosition,
        source_origin: str | None = None,
    ) -> SyncEvent:
        """Build an event whose id is derived from its log position, so redeliveries share it."""
        event = cls(
            event_id=derive_event_id(origin, table, operation, key, position),
            origin=origin,
            table=table,
            entity_type=entity_type,
            operation=operation,
            key=dict(key),
            before=None if before is None else dict(before),
            after=None if after is None else dict(after),
            position=position,
            source_origin=source_origin,
        )
        event.validate()
        return event

    @property
    def row(self) -> Row:
        """The row image that carries the values: `after`, or `before` for a delete."""
        image = self.before if self.operation is Operation.DELETE else self.after
        return image if image is not None else self.key

    @property
    def source_flag(self) -> str | None:
        value = self.row.get("source")
        return None if value is None else str(value)

    def validate(self) -> None:
        """Raise InvalidEventError naming the first field that is wrong."""
        if self.event_version.split(".")[0] != EVENT_VERSION.split(".")[0]:
            raise InvalidEventError("event_version", f"unsupported version {self.event_version}")
        if not self.table:
            raise InvalidEventError("table", "is empty")
        if self.position.commit_ts_ms < 0:
            raise InvalidEventError("source.ts_ms", "is negative")
        if self.operation is Operation.TRUNCATE:
            if self.key or self.before is not None or self.after is not None:
                raise InvalidEventError("op", "a truncate carries no key, before or after")
            return
        self._validate_row_change()

    def _validate_row_change(self) -> None:
        if not self.key:
            raise InvalidEventError("key", "is empty")
        for name, value in self.key.items():
            if value is None:
                raise InvalidEventError(f"key.{name}", "is null")
        if self.operation.writes_row and self.after is None:
            raise InvalidEventError("after", f"is missing for op '{self.operation.value}'")
        if self.operation is Operation.DELETE and self.after is not None:
            raise InvalidEventError("after", "must be null for op 'd'")


@functools.cache
def _quoted(name: str) -> str:
    return json.dumps(name)


def canonical_key(key: Row) -> str:
    """The key as JSON with sorted names; a lone integer key (the usual) without the encoder."""
    if len(key) == 1:
        ((name, value),) = key.items()
        if type(value) is int:  # not a bool, not a subclass with its own repr
            return f"{{{_quoted(name)}: {value}}}"
    return json.dumps(dict(key), sort_keys=True, default=str)


def derive_event_id(
    origin: Platform, table: str, operation: Operation, key: Row, position: SourcePosition
) -> str:
    """A stable id from where the change sits in the log: redelivery yields the same id."""
    name = "|".join(
        (
            origin.value,
            table,
            operation.value,
            canonical_key(key),
            position.log_position,
            position.tx_id or "",
        )
    )
    return _uuid5(name)


def _uuid5(name: str) -> str:
    """str(uuid.uuid5(namespace, name)) without building a UUID object (a few times faster):
    the SHA-1's hex digits, with the version (5) and the RFC 4122 variant bits set."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {digit: f"{int(digit, 16) & 0x3 | 0x8:x}" for digit in "0123456789abcdef"}
