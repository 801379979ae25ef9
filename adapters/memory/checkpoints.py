"""Checkpoints kept in a dict: progress that lasts as long as the process."""

from __future__ import annotations


class InMemoryCheckpoints:
    """Progress per name; instances given the same dict share it, as files share a path."""

    def __init__(self, values: dict[str, int] | None = None) -> None:
        self.values = {} if values is None else values

    def load(self, name: str) -> int:
        return self.values.get(name, 0)

    def save(self, name: str, last_id: int) -> None:
        self.values[name] = last_id

    def clear(self) -> None:
        self.values.clear()
