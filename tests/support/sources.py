"""Polling a change source in tests."""

from __future__ import annotations

import time

from domain.model import RawMessage
from domain.ports import ChangeSource


def poll(source: ChangeSource, count: int, within_s: float = 30.0) -> list[RawMessage]:
    """Exactly `count` messages (a group join may come first), then nothing more pending."""
    got: list[RawMessage] = []
    deadline = time.monotonic() + within_s
    while len(got) < count and time.monotonic() < deadline:
        got += source.poll(100, 0.5)
    assert len(got) == count, f"got {len(got)} of {count} messages"
    assert source.poll(100, 0.5) == []
    return got
