"""Polling loops around the captures: retries with backoff, stop on request, structured logs."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Protocol

from adapters.capture.mysql import MySQLChangeCapture
from adapters.capture.pgslot import SlotLag
from adapters.capture.postgres import PostgresChangeCapture
from application.outage import OutageLog
from domain.errors import TransientError
from domain.ports import EventPublisher

log = logging.getLogger("tandem.capture")


class ChangeCapture(Protocol):
    def capture_once(self) -> int:
        """Publish what is available, flush, then record the position; return the count."""

    publisher: EventPublisher

    def prepare(self) -> str:
        """Create the starting position (slot, checkpoint) if absent; describe it."""

    def close(self) -> None:
        """Release connections; the recorded position stays."""

    @property
    def more_pending(self) -> bool:
        """Whether the last capture_once ended with more already there to read."""


class CaptureRunner:
    """Runs a capture until stopped: polls when idle, backs off on transient errors."""

    def __init__(
        self,
        capture: ChangeCapture,
        *,
        name: str,
        poll_interval_s: float = 0.05,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.capture, self.name = capture, name
        self.poll_interval_s, self.max_backoff_s = poll_interval_s, max_backoff_s
        self.published = 0
        self.outages = OutageLog(log, {"capture": name})
        self.failures = 0  # consecutive transient failures
        self.recoveries = 0  # times it came back after transient failures
        self.last_error: str | None = None
        self.last_progress = time.monotonic()  # a pass completed (published, or caught up)
        self._closed = False

    def run_once(self, max_s: float = 30.0) -> int:
        """Process what is available now (passes until caught up, at most `max_s` seconds);
        return how many change events were published."""
        deadline, count = time.monotonic() + max_s, self._pass()
        while self.capture.more_pending and time.monotonic() < deadline:
            count += self._pass()
        return count

    def _pass(self) -> int:
        if self._closed:
            raise RuntimeError(f"{self.name} capture runner is closed")
        count = self.capture.capture_once()
        self.published += count
        return count

    def run(self, stop: threading.Event) -> None:
        """Capture until `stop` is set; transient errors are logged and retried with backoff."""
        log.info("capture started", extra={"capture": self.name})
        try:
            while not stop.is_set():
                try:
                    count = self._pass()  # one pass: stop is checked between passes
                except TransientError as error:
                    self._failed(error, stop)
                    continue
                except Exception as error:
                    log.error("capture failed, not retrying", exc_info=True, extra={
                        "capture": self.name, "error_type": type(error).__name__})  # fmt: skip
                    raise
                if self.failures:
                    self.outages.recovered()
                    self.failures, self.last_error = 0, None
                    self.recoveries += 1
                self.last_progress = time.monotonic()
                if count == 0 and self.poll_interval_s > 0 and not self.capture.more_pending:
                    self._idle(stop)
        finally:
            self.capture.close()  # connections only: a supervisor may call run again
            log.info("capture stopped", extra={"capture": self.name, "published": self.published})

    def _idle(self, stop: threading.Event) -> None:
        """Caught up: wait for the next change where the capture can (a stream's socket wakes
        the wait as soon as one arrives), else sleep the poll interval."""
        wait_on_stream = getattr(self.capture, "wait_for_changes", None)
        if wait_on_stream is None or not wait_on_stream(self.poll_interval_s):
            stop.wait(self.poll_interval_s)

    def _failed(self, error: TransientError, stop: threading.Event) -> None:
        self.capture.close()
        self.failures += 1
        self.last_error = f"{type(error).__name__}: {error}"
        delay = min(self.max_backoff_s, 0.1 * 2 ** min(self.failures - 1, 10))
        self.outages.failed(error, delay)
        stop.wait(delay)

    def prepare(self) -> str:
        return self.capture.prepare()

    def close(self) -> None:
        """Release the capture's connections (idempotent)."""
        if not self._closed:
            self._closed = True
            self.capture.close()
            close_publisher = getattr(self.capture.publisher, "close", None)
            if close_publisher is not None:
                close_publisher()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> CaptureRunner:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class PostgresCaptureRunner(CaptureRunner):
    """Capture of the legacy PostgreSQL database (slot `tandem_legacy`, pgoutput); `options`
    are PostgresChangeCapture's (topic_prefix, slot, publication, ...)."""

    capture: PostgresChangeCapture

    def __init__(
        self,
        dsn: str,
        publisher: EventPublisher,
        *,
        max_backoff_s: float = 5.0,
        **options: Any,
    ) -> None:
        capture = PostgresChangeCapture(dsn, publisher, **options)
        super().__init__(
            capture, name=capture.prefix, poll_interval_s=0.1, max_backoff_s=max_backoff_s
        )

    def slot_lag(self) -> SlotLag:
        """WAL retained for the slot and WAL not yet confirmed, in bytes."""
        return self.capture.slot_lag()


class MySQLCaptureRunner(CaptureRunner):
    """Capture of the revamp MySQL/MariaDB database; its position lives in `state_file`;
    `options` are MySQLChangeCapture's (topic_prefix, marker_table, server_id, ...)."""

    capture: MySQLChangeCapture

    def __init__(
        self,
        dsn: str,
        publisher: EventPublisher,
        state_file: str | os.PathLike[str],
        *,
        max_backoff_s: float = 5.0,
        **options: Any,
    ) -> None:
        capture = MySQLChangeCapture(dsn, publisher, state_file, **options)
        # no sleep between polls: an idle capture_once already waits for the server's heartbeat
        super().__init__(
            capture, name=capture.prefix, poll_interval_s=0.0, max_backoff_s=max_backoff_s
        )
