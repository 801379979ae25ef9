"""The poll → handle → commit loop of one direction, with graceful stop and outage backoff."""

from __future__ import annotations

import logging
import threading

from application.sync_service import SyncService
from domain.errors import TransientError
from domain.ports import ChangeSource, Clock
from domain.retry import RetryPolicy

log = logging.getLogger(__name__)


class ConsumerLoop:
    """Drives one SyncService; offsets are committed only after the target committed."""

    def __init__(
        self,
        source: ChangeSource,
        service: SyncService,
        clock: Clock,
        outage_backoff: RetryPolicy,
        batch_size: int = 500,
        poll_timeout_s: float = 0.2,
    ) -> None:
        self.source = source
        self.service = service
        self.clock = clock
        self.outage_backoff = outage_backoff
        self.batch_size = batch_size
        self.poll_timeout_s = poll_timeout_s
        self.failures = 0
        self.last_error: str | None = None  # why the direction is not flowing, for health
        self.stop: threading.Event | None = None

    def step(self) -> int:
        """Poll one batch, apply it and commit; returns how many messages it held."""
        try:
            messages = self.source.poll(self.batch_size, self.poll_timeout_s)
            offsets = self.service.handle(messages, backlogged=len(messages) >= self.batch_size)
            if offsets:
                self.source.commit(offsets)
        except TransientError as error:
            self.failures += 1
            self.last_error = str(error)
            delay = self.outage_backoff.delay_after(self.failures)
            log.error(
                "outage: nothing committed, will redeliver",
                extra={
                    "direction": self.service.direction,
                    "error": str(error),
                    "retry_in_s": delay,
                },
            )
            self._pause(delay)
            self.source.rewind()
            return 0
        self.failures, self.last_error = 0, None
        return len(messages)

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set; the batch in flight is finished and committed first."""
        self.stop = stop
        while not stop.is_set():
            self.step()

    def _pause(self, seconds: float) -> None:
        """Back off; when running, a stop request cuts the wait short."""
        if self.stop is None:
            self.clock.sleep(seconds)
            return
        until = self.clock.now() + seconds
        while not self.stop.is_set() and (left := until - self.clock.now()) > 0:
            self.clock.sleep(min(left, 0.2))

    def drain(self, idle_polls: int = 2) -> int:
        """Process what is available now (and what waits for a parent), then return."""
        total, idle = 0, 0
        while idle < idle_polls:
            handled = self.step()
            total += handled
            idle = 0 if handled else idle + 1
        return total

    def close(self) -> None:
        self.source.close()
