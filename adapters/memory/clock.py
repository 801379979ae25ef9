"""A fake clock whose sleep advances time instead of waiting."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.current = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += seconds

    def advance(self, seconds: float) -> None:
        self.current += seconds
