"""The poll → handle → commit loop of one direction, with graceful stop and outage backoff."""

from __future__ import annotations

import logging
import threading
import time

import attrs

from application.outage import OutageLog
from application.sync_service import SyncService
from domain.errors import PositionsLostError, TransientError
from domain.ports import ChangeSource, Clock
from domain.retry import RetryPolicy

log = logging.getLogger(__name__)


@attrs.define(eq=False)
class ConsumerLoop:
    """Drives one SyncService; offsets are committed only after the target committed.

    A commit or poll that finds the group rebalanced drops what is not committed and polls
    again at once (which rejoins the group); an outage rewinds and backs off. Neither retries
    a commit: the redelivered batch is skipped as duplicates.
    """

    source: ChangeSource
    service: SyncService
    clock: Clock
    outage_backoff: RetryPolicy
    batch_size: int = 500
    poll_timeout_s: float = 0.2
    failures: int = attrs.field(default=0, init=False)  # consecutive outages
    rebalances: int = attrs.field(default=0, init=False)
    last_error: str = attrs.field(default="", init=False)
    # applied a batch, or had nothing to do
    last_progress: float = attrs.field(factory=time.monotonic, init=False)
    # the source could not tell its backlog (broker unreachable)
    out_of_touch: bool = attrs.field(default=False, init=False)
    # the last poll was empty and nothing waits behind it
    caught_up: bool = attrs.field(default=False, init=False)
    stop: threading.Event | None = attrs.field(default=None, init=False)
    outages: OutageLog = attrs.field(init=False)
    _rewind_due: bool = attrs.field(default=False, init=False)

    @outages.default
    def _outage_log(self) -> OutageLog:
        return OutageLog(log, {"direction": self.service.direction})

    def step(self) -> int:
        """Poll one batch, apply it and commit; returns how many messages it held."""
        try:
            if self._rewind_due:
                self.source.rewind()
                self._rewind_due = False
            messages = self.source.poll(self.batch_size, self.poll_timeout_s)
            offsets = self.service.handle(messages, backlogged=len(messages) >= self.batch_size)
            if offsets:
                self.source.commit(offsets)
        except PositionsLostError as error:
            self._positions_lost(error)
            return 0
        except TransientError as error:
            self._outage(error)
            return 0
        self.failures = 0
        self.outages.recovered()
        self._note_progress(len(messages))
        return len(messages)

    def _note_progress(self, handled: int) -> None:
        backlog = self.source.backlog() if not handled else None
        self.out_of_touch = not handled and backlog is None
        self.caught_up = not handled and backlog == 0
        if handled or backlog == 0:
            self.last_progress = time.monotonic()

    def _positions_lost(self, error: PositionsLostError) -> None:
        self.rebalances += 1
        self.service.forget_uncommitted()
        log.warning(
            "consumer group rebalanced: uncommitted batch dropped, it will be redelivered",
            extra={"direction": self.service.direction, "error": str(error)},
        )

    def _outage(self, error: TransientError) -> None:
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        delay = self.outage_backoff.delay_after(self.failures)
        self.outages.failed(error, delay)  # nothing committed: the batch comes again
        self.service.forget_uncommitted()
        self._rewind_due = True
        self._pause(delay)

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
