"""Entities of the sync itself: the id mapping between platforms and the failures it keeps."""

from __future__ import annotations

from typing import Any

import attrs

from domain.coercions import to_micros
from domain.events import Platform


@attrs.define
class EntityLink:
    """One entity's ids on both platforms, with the versions that settle conflicts."""

    entity_type: str
    legacy_id: int
    revamp_id: int
    applied_version: int = 0
    """Version of the last change from the other platform applied to this database."""
    rejected_version: int = 0
    """This database's own changes up to this version lost a conflict."""
    deleted: bool = False

    def id_on(self, platform: Platform) -> int:
        return self.legacy_id if platform.is_legacy else self.revamp_id

    @classmethod
    def between(
        cls, entity_type: str, origin: Platform, origin_id: int, target_id: int
    ) -> EntityLink:
        """Link an origin row to the target row created for it."""
        if origin is Platform.LEGACY:
            return cls(entity_type, legacy_id=origin_id, revamp_id=target_id)
        return cls(entity_type, legacy_id=target_id, revamp_id=origin_id)


@attrs.frozen
class StoredRow:
    """A target row as the conflict rules need it."""

    values: dict[str, Any]
    version: int
    source: str | None

    @classmethod
    def of(
        cls, values: dict[str, Any], version_column: str | None, source_column: str
    ) -> StoredRow:
        """Read the version (microseconds) and the writer's `source` off a row."""
        version = values.get(version_column) if version_column else None
        source = values.get(source_column)
        return cls(
            values,
            0 if version is None else to_micros(version),
            None if source is None else str(source),
        )


@attrs.frozen
class Resolution:
    """How an operator settled a dead letter: replayed (applied again), acked (skipped on
    purpose, with a reason) or purged; who did it and when (UTC, ISO 8601)."""

    how: str
    by: str
    at: str
    reason: str = ""


@attrs.frozen
class DeadLetter:
    """A change that could not be applied, with everything needed to replay it."""

    original_event: Any
    key: bytes | None
    topic: str
    partition: int
    offset: int
    error_type: str
    error_message: str
    stack_trace: str
    retry_count: int
    failed_at: str
    id: str = ""
    resolution: Resolution | None = None


@attrs.frozen
class RawMessage:
    """A message as the broker delivered it, before decoding."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0


ParentKey = tuple[str, int]
"""A parent a child waits for: its entity type and its id on the child's origin platform."""


@attrs.frozen
class ParkedChild:
    """A change waiting for its parent, as the target database keeps it past the in-memory
    bound: the message itself (decoded again when released) and what it waits for."""

    message: RawMessage
    event_id: str
    entity_type: str
    entity_key: str
    parent: ParentKey
    deadline: float
    reason: str


# The reference entities of CONTRACT.md §4, for generated traffic and readable tests.
@attrs.define
class User:
    username: str
    email: str
    status: str = "active"


@attrs.define
class Post:
    title: str
    content: str
    author_id: int
    status: str = "draft"


@attrs.define
class Like:
    user_id: int
    post_id: int
