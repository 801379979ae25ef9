"""Children whose parent has not arrived wait here, bounded, without blocking other keys."""

from __future__ import annotations

import attrs

from domain.events import SyncEvent
from domain.model import RawMessage


@attrs.define
class Waiting:
    message: RawMessage
    event: SyncEvent
    deadline: float
    reason: str


@attrs.define
class WaitingRoom:
    """Parked events in arrival order; later changes of a parked key queue behind it."""

    wait_s: float
    _parked: list[Waiting] = attrs.field(factory=list)

    def __len__(self) -> int:
        return len(self._parked)

    def holds_key(self, event: SyncEvent) -> bool:
        return any(_same_key(w.event, event) for w in self._parked)

    def park(self, message: RawMessage, event: SyncEvent, now: float, reason: str) -> None:
        self._parked.append(Waiting(message, event, now + self.wait_s, reason))

    def take_all(self) -> list[Waiting]:
        parked, self._parked = self._parked, []
        return parked

    def put_back(self, waiting: Waiting) -> None:
        self._parked.append(waiting)

    def lowest_offsets(self) -> dict[tuple[str, int], int]:
        """Per partition, the first offset that must be redelivered after a crash."""
        lowest: dict[tuple[str, int], int] = {}
        for w in self._parked:
            where = (w.message.topic, w.message.partition)
            lowest[where] = min(lowest.get(where, w.message.offset), w.message.offset)
        return lowest


def _same_key(a: SyncEvent, b: SyncEvent) -> bool:
    return a.entity_type == b.entity_type and dict(a.key) == dict(b.key)
