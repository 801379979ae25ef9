"""The poll → handle → commit loop of one direction, with graceful stop and outage backoff."""

from __future__ import annotations

import logging
import threading
import time
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor

import attrs

from application.outage import OutageLog
from application.sync_service import Decoded, SyncService
from domain.errors import PositionsLostError, TransientError
from domain.model import RawMessage
from domain.ports import ChangeSource, Clock
from domain.retry import RetryPolicy

log = logging.getLogger(__name__)
Batch = tuple[list[RawMessage], list[Decoded] | None]


@attrs.define(eq=False)
class ConsumerLoop:
    """Drives one SyncService; offsets are committed only after the target committed.

    A commit or poll that finds the group rebalanced drops what is not committed and polls
    again at once (which rejoins the group); an outage rewinds and backs off. Neither retries
    a commit: the redelivered batch is skipped as duplicates.

    With `fetch_ahead`, while a batch is written the next one is polled and decoded in a
    second thread; it is waited for before the commit (the source is never used by both
    threads at once), and handled by the next step. Dropped on any failure, it comes again:
    the source seeks back to it.
    """

    source: ChangeSource
    service: SyncService
    clock: Clock
    outage_backoff: RetryPolicy
    # tuning: messages per poll (one target transaction), how long a poll waits, overlap
    batch_size: int = attrs.field(default=500)
    poll_timeout_s: float = attrs.field(default=0.2)
    fetch_ahead: bool = attrs.field(default=False)
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
    _ahead: Future[Batch] | None = attrs.field(default=None, init=False)  # the next batch
    _fetcher: ThreadPoolExecutor | None = attrs.field(default=None, init=False)

    @outages.default
    def _outage_log(self) -> OutageLog:
        return OutageLog(log, {"direction": self.service.direction})

    def step(self) -> int:
        """Poll one batch, apply it and commit; returns how many messages it held."""
        try:
            if self._rewind_due:
                self._drop_ahead()
                self.source.rewind()
                self._rewind_due = False
            messages, decoded = self._next_batch()
            if self.fetch_ahead and messages:
                self._ahead = self._fetch_ahead()
            backlogged = len(messages) >= self.batch_size
            offsets = self.service.handle(messages, backlogged, decoded)
            if self._ahead is not None:
                futures.wait([self._ahead])  # the source is this thread's again
            if offsets:
                self.source.commit(offsets)
        except PositionsLostError as error:
            self._drop_ahead()
            self._positions_lost(error)
            return 0
        except TransientError as error:
            self._drop_ahead()
            self._outage(error)
            return 0
        self.failures = 0
        self.outages.recovered()
        self._note_progress(len(messages))
        return len(messages)

    def _next_batch(self) -> Batch:
        """The batch fetched ahead (its failure is raised now, as a poll's would be), else
        one polled now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            messages, decoded = ahead.result()
            if messages:
                return messages, decoded
        return self.source.poll(self.batch_size, self.poll_timeout_s), None

    def _fetch_ahead(self) -> Future[Batch]:
        if self._fetcher is None:
            name = f"fetch-{self.service.direction}"
            self._fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        return self._fetcher.submit(self._fetch)

    def _fetch(self) -> Batch:
        messages = self.source.poll(self.batch_size, self.poll_timeout_s)
        return messages, self.service.decode_ahead(messages)

    def _drop_ahead(self) -> None:
        """Forget the batch fetched ahead; the source delivers it again (a poll that failed
        delivered nothing)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.exception() is None:
            messages, _ = ahead.result()
            try:
                self.source.redeliver(messages)
            except TransientError:
                self._rewind_due = True  # back to the committed offsets, then

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
        self._drop_ahead()
        if self._fetcher is not None:
            self._fetcher.shutdown(wait=True)
            self._fetcher = None
        self.source.close()
