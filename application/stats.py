"""Counters of what the sync did, read by the live view, the metrics endpoint and status."""

from __future__ import annotations

import enum
import threading
from collections import Counter
from collections.abc import Mapping

import attrs

from domain.ports import MetricsSink


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
    """Thread-safe counts per direction label (and per table), the commit time of the last
    change applied per direction, and measurements passed on to a MetricsSink if one is set."""

    counts: Counter[str] = attrs.field(factory=Counter)
    by_table: Counter[tuple[str, str, str]] = attrs.field(factory=Counter)
    """(direction, table, outcome) -> events."""
    last_applied: dict[str, dict[str, object]] = attrs.field(factory=dict)
    """direction -> the last change applied: entity, operation, key, position, times."""
    last_applied_commit_ms: dict[str, int] = attrs.field(factory=dict)
    sink: MetricsSink | None = None
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, direction: str, what: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[f"{direction}:{what}"] += amount
            self.counts[what] += amount

    def record(self, direction: str, outcome: Outcome, table: str = "") -> None:
        self.add(direction, outcome.value)
        if table:
            with self._lock:
                self.by_table[(direction, table, outcome.value)] += 1

    def applied(self, direction: str, commit_ts_ms: int, now_s: float) -> None:
        """A change committed on its source at `commit_ts_ms` is now on the other side."""
        with self._lock:
            latest = self.last_applied_commit_ms.get(direction, 0)
            self.last_applied_commit_ms[direction] = max(latest, commit_ts_ms)
        if commit_ts_ms > 0:
            lag = max(0.0, now_s - commit_ts_ms / 1000)
            self.observe("source_to_target_seconds", {"direction": direction}, lag)

    def observe(self, name: str, labels: Mapping[str, str], value: float) -> None:
        if self.sink is not None:
            self.sink.observe(name, labels, value)

    def tables(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self.by_table)

    def total(self, what: str) -> int:
        with self._lock:
            return self.counts[what]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    @property
    def conflicts(self) -> int:
        return self.total(Outcome.CONFLICT_WON.value) + self.total(Outcome.CONFLICT_LOST.value)
