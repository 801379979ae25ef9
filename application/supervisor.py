"""Runs parts (capture, consumers) in threads; a part that dies is restarted with backoff."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import attrs

from domain.retry import RetryPolicy

log = logging.getLogger(__name__)
Part = Callable[[threading.Event], None]
"""Runs until the event is set; returning or raising before that counts as dying."""


@attrs.define
class PartState:
    restarts: int = 0
    last_error: str = ""
    running: bool = False
    died_at: list[float] = attrs.field(factory=list)  # monotonic times, the latest few

    def recent_restarts(self, window_s: float) -> int:
        """How many times the part died within the last `window_s` seconds."""
        since = time.monotonic() - window_s
        return sum(1 for moment in self.died_at if moment >= since)


class Supervisor:
    def __init__(self, parts: dict[str, Part], backoff: RetryPolicy) -> None:
        self.parts = parts
        self.backoff = backoff
        self.states = {name: PartState() for name in parts}
        self.threads: list[threading.Thread] = []

    def start(self, stop: threading.Event) -> None:
        for name, part in self.parts.items():
            thread = threading.Thread(
                target=self._keep_alive, args=(name, part, stop), name=name, daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def join(self, timeout_s: float | None = None) -> list[str]:
        """Wait for the parts to end, at most `timeout_s` in all; the names still running."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return [thread.name for thread in self.threads if thread.is_alive()]

    def _keep_alive(self, name: str, part: Part, stop: threading.Event) -> None:
        state = self.states[name]
        failures = 0
        while not stop.is_set():
            state.running = True
            try:
                part(stop)
                if stop.is_set():
                    break
                raise RuntimeError("returned before being asked to stop")
            except Exception as error:
                failures += 1
                state.restarts += 1
                state.died_at = [*state.died_at[-9:], time.monotonic()]
                state.last_error = f"{type(error).__name__}: {error}"
                delay = self.backoff.delay_after(failures)
                log.error(
                    "part died, restarting",
                    extra={"part": name, "error": state.last_error, "restart_in_s": delay},
                    exc_info=True,
                )
            finally:
                state.running = False
            stop.wait(delay)
        log.info("part stopped", extra={"part": name})
