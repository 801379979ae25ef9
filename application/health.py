"""Readiness of the parts of a running service: each is ready only while it makes progress or
has nothing to do; an outage, a stall or a part that keeps dying says which and why."""

from __future__ import annotations

import attrs


@attrs.frozen
class PartCondition:
    """What a part says about itself at one moment (seconds are since the last progress)."""

    running: bool = True
    failures: int = 0  # consecutive failed attempts (an outage in progress)
    last_error: str = ""
    seconds_since_progress: float = 0.0
    recent_restarts: int = 0  # deaths within the stall window
    out_of_touch: bool = False  # cannot even tell whether work is waiting (broker unreachable)


@attrs.frozen
class PartReadiness:
    ready: bool
    state: str  # ok, down, dying, outage, unreachable, stalled
    last_error: str

    def as_dict(self) -> dict[str, object]:
        return {"ready": self.ready, "state": self.state, "last_error": self.last_error}


DYING_AFTER = 3  # restarts within the stall window


def judge(condition: PartCondition, stall_s: float) -> PartReadiness:
    """Ready, or the first reason it is not: down, dying, outage, unreachable, stalled."""
    error = condition.last_error
    if not condition.running:
        return PartReadiness(False, "down", error or "not running")
    if condition.recent_restarts >= DYING_AFTER:
        return PartReadiness(
            False, "dying", f"{condition.recent_restarts} restarts in {stall_s:g} s: {error}"
        )
    if condition.failures:
        return PartReadiness(False, "outage", error or "failing")
    if condition.out_of_touch:
        return PartReadiness(False, "unreachable", error or "the broker does not answer")
    if condition.seconds_since_progress > stall_s:
        stalled = f"no progress for {condition.seconds_since_progress:.0f} s with work waiting"
        return PartReadiness(False, "stalled", f"{stalled}; last error: {error or 'none'}")
    return PartReadiness(True, "ok", error)


def readiness(conditions: dict[str, PartCondition], stall_s: float) -> dict[str, object]:
    """The /readyz body: `ready`, each part's readiness, and the failing ones with why."""
    parts = {name: judge(condition, stall_s) for name, condition in conditions.items()}
    failing = {name: f"{p.state}: {p.last_error}" for name, p in parts.items() if not p.ready}
    return {
        "ready": not failing,
        "failing": failing,
        "parts": {name: p.as_dict() for name, p in parts.items()},
    }
