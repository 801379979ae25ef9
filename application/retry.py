"""Running a unit of work again after transient failures, with the policy's backoff."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from domain.errors import TransientError
from domain.ports import Clock
from domain.retry import RetryPolicy

T = TypeVar("T")
log = logging.getLogger(__name__)


class RetriesExhaustedError(Exception):
    """Every retry failed; `retries` tells how many were made."""

    def __init__(self, last: TransientError, retries: int) -> None:
        super().__init__(f"{last} (after {retries} retries)")
        self.last = last
        self.retries = retries


def with_retries(
    work: Callable[[], T],
    policy: RetryPolicy,
    clock: Clock,
    on_retry: Callable[[TransientError, float], None] | None = None,
) -> tuple[T, int]:
    """Run `work`; on TransientError wait and run it again. Returns the result and retry count."""
    retries = 0
    delays = policy.delays()
    while True:
        try:
            return work(), retries
        except TransientError as error:
            delay = next(delays, None)
            if delay is None:
                raise RetriesExhaustedError(error, retries) from error
            retries += 1
            log.warning(
                "transient failure, retrying",
                extra={"error": str(error), "retry": retries, "delay_s": delay},
            )
            if on_retry is not None:
                on_retry(error, delay)
            clock.sleep(delay)
