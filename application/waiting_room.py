"""Children whose parent has not arrived wait here, indexed by that parent, without blocking
other keys; they leave when the parent is applied or their deadline passes."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import attrs

from domain.events import SyncEvent, canonical_key
from domain.model import ParentKey, RawMessage

KeyOf = tuple[str, str]
"""An entity's identity across batches: its type and its key as canonical JSON."""


def key_of(event: SyncEvent) -> KeyOf:
    return event.entity_type, canonical_key(event.key)


@attrs.define(eq=False)
class Waiting:
    """A parked change. Later changes of its key wait for the same parent behind it, so a key's
    changes always leave together and in order."""

    message: RawMessage
    event: SyncEvent
    deadline: float
    reason: str
    parent: ParentKey
    in_database: bool = False


@attrs.define
class WaitingRoom:
    """In memory, bounded by `capacity` (the rest waits in the target database)."""

    wait_s: float
    capacity: int = 10_000
    _by_id: dict[str, Waiting] = attrs.field(factory=dict)
    _by_parent: dict[ParentKey, list[Waiting]] = attrs.field(factory=dict)
    _by_key: dict[KeyOf, list[Waiting]] = attrs.field(factory=dict)
    _deadlines: list[tuple[float, int, Waiting]] = attrs.field(factory=list)
    _seq: int = 0

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def has_room(self) -> bool:
        return len(self._by_id) < self.capacity

    def holds(self, event_id: str) -> bool:
        return event_id in self._by_id

    def parent_of_key(self, event: SyncEvent) -> ParentKey | None:
        """The parent an earlier parked change of the same key waits for, if any."""
        queued = self._by_key.get(key_of(event))
        return queued[0].parent if queued else None

    def park(self, waiting: Waiting) -> None:
        """Keep it until its parent is released; a second copy of one event is ignored."""
        if waiting.event.event_id in self._by_id:
            return
        self._by_id[waiting.event.event_id] = waiting
        self._by_parent.setdefault(waiting.parent, []).append(waiting)
        self._by_key.setdefault(key_of(waiting.event), []).append(waiting)
        self._seq += 1
        heapq.heappush(self._deadlines, (waiting.deadline, self._seq, waiting))

    def missing_parents(self) -> dict[str, set[int]]:
        """Per parent entity type, the ids still awaited."""
        missing: dict[str, set[int]] = {}
        for entity_type, parent_id in self._by_parent:
            missing.setdefault(entity_type, set()).add(parent_id)
        return missing

    def release(self, parents: Iterable[ParentKey]) -> list[Waiting]:
        """Take out every change waiting for one of `parents`, in arrival order."""
        released: list[Waiting] = []
        for parent in parents:
            for waiting in self._by_parent.pop(parent, ()):
                del self._by_id[waiting.event.event_id]
                key = key_of(waiting.event)
                queued = self._by_key[key]
                queued.remove(waiting)
                if not queued:
                    del self._by_key[key]
                released.append(waiting)
        return released

    def expired_parents(self, now: float) -> set[ParentKey]:
        """The parents of every change whose deadline has passed."""
        parents: set[ParentKey] = set()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, waiting = heapq.heappop(self._deadlines)
            if waiting.event.event_id in self._by_id:
                parents.add(waiting.parent)
        self._compact()
        return parents

    def _compact(self) -> None:
        """Drop heap entries of released changes once they are most of the heap."""
        if len(self._deadlines) > 2 * len(self._by_id) + 64:
            self._deadlines = [d for d in self._deadlines if d[2].event.event_id in self._by_id]
            heapq.heapify(self._deadlines)

    def lowest_offsets(self) -> dict[tuple[str, int], int]:
        """Per partition, the first offset that must be redelivered after a crash."""
        lowest: dict[tuple[str, int], int] = {}
        for w in self._by_id.values():
            where = (w.message.topic, w.message.partition)
            lowest[where] = min(lowest.get(where, w.message.offset), w.message.offset)
        return lowest
