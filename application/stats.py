"""Counters of what the sync did, read by the live view, the metrics endpoint and status."""

from __future__ import annotations

import enum
import threading
from collections import Counter

import attrs


class Outcome(enum.Enum):
    """What became of one consumed message."""

    APPLIED = "applied"
    ECHO_SKIPPED = "echoes_skipped"
    DUPLICATE_SKIPPED = "duplicates_skipped"
    STALE_SKIPPED = "stale_skipped"
    ALREADY_ABSENT = "already_absent"
    CONFLICT_WON = "conflicts_won"
    CONFLICT_LOST = "conflicts_lost"
    TOMBSTONE = "tombstones"
    WAITING = "waiting_for_parent"
    DEAD_LETTERED = "dead_lettered"


@attrs.define
class SyncStats:
    """Thread-safe counts per direction label."""

    counts: Counter[str] = attrs.field(factory=Counter)
    last_applied: dict[str, str] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, direction: str, what: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[f"{direction}:{what}"] += amount
            self.counts[what] += amount

    def record(self, direction: str, outcome: Outcome) -> None:
        self.add(direction, outcome.value)

    def total(self, what: str) -> int:
        with self._lock:
            return self.counts[what]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    @property
    def conflicts(self) -> int:
        return self.total(Outcome.CONFLICT_WON.value) + self.total(Outcome.CONFLICT_LOST.value)
