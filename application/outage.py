"""One log line when an outage starts and one when it ends, with how long it lasted, however
many retries fall in between (the client libraries' own chatter is silenced)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping


class OutageLog:
    def __init__(
        self,
        log: logging.Logger,
        labels: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log, self.labels, self.clock = log, dict(labels), clock
        self.since: float | None = None
        self.attempts = 0

    def failed(self, error: Exception, retry_in_s: float) -> None:
        """A failed attempt: logged as an error when it opens an outage, else at debug."""
        self.attempts += 1
        details = {**self.labels, "error": f"{type(error).__name__}: {error}"}
        if self.since is None:
            self.since = self.clock()
            self.log.error("outage started", extra={**details, "retry_in_s": retry_in_s})
        else:
            self.log.debug("still out", extra={**details, "attempt": self.attempts})

    def recovered(self) -> None:
        """An attempt succeeded: ends the outage, if one was open, with its duration."""
        if self.since is None:
            return
        lasted = round(self.clock() - self.since, 1)
        self.log.warning(
            "outage ended", extra={**self.labels, "duration_s": lasted, "attempts": self.attempts}
        )
        self.since, self.attempts = None, 0
