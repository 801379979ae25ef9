"""Runs parts (capture, consumers) in threads; a part that dies is restarted with backoff."""

from __future__ import annotations

import logging
import threading
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

    def join(self, timeout_s: float | None = None) -> None:
        for thread in self.threads:
            thread.join(timeout_s)

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
