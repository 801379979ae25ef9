"""Stopwatches around the real adapters: they time calls and pass everything through."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


class TimedTarget:
    """A TargetStore whose transactions (the batch's writes and COMMIT) are timed."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.durations: list[float] = []

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        started = time.perf_counter()
        with self.store.transaction() as session:
            yield session
        self.durations.append(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class TimedSource:
    """A ChangeSource whose offset commits are timed."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.durations: list[float] = []

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        started = time.perf_counter()
        self.source.commit(offsets)
        self.durations.append(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


class TimedPublisher:
    """An EventPublisher noting, per message key, when the broker acknowledged it: the moment
    the flush that covered it returned."""

    def __init__(self, publisher: Any) -> None:
        self.publisher = publisher
        self.acknowledged: dict[tuple[str, Any], float] = {}
        self._queued: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.publisher.publish(topic, key, value)
        with self._lock:
            self._queued.append((topic, _key_id(key)))

    def flush(self) -> None:
        with self._lock:
            covered, self._queued = self._queued, []
        self.publisher.flush()
        now = time.monotonic()
        with self._lock:
            for where in covered:
                self.acknowledged.setdefault(where, now)

    def acknowledged_at(self, topic: str, row_id: int) -> float | None:
        with self._lock:
            return self.acknowledged.get((topic, row_id))

    def close(self) -> None:
        self.publisher.close()


def _key_id(key: bytes | None) -> Any:
    """The `id` of a Debezium JSON key, else the raw key."""
    try:
        decoded = json.loads(key or b"null")
    except ValueError:
        return key
    if isinstance(decoded, dict) and "payload" in decoded:
        decoded = decoded["payload"]
    return decoded.get("id", key) if isinstance(decoded, dict) else key
