"""Exponential backoff, as the seeds specify: 3 retries, 1 s first, doubling, capped at 30 s."""

from __future__ import annotations

from collections.abc import Iterator

import attrs


@attrs.frozen
class RetryPolicy:
    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    initial_delay_s: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    multiplier: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    max_delay_s: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))

    def delays(self) -> Iterator[float]:
        """The wait before each retry: 1, 2, 4 with the defaults."""
        delay = self.initial_delay_s
        for _ in range(self.max_retries):
            yield min(delay, self.max_delay_s)
            delay *= self.multiplier

    def delay_after(self, failures: int) -> float:
        """The wait after `failures` consecutive failures, for loops that never give up."""
        return float(
            min(self.initial_delay_s * self.multiplier ** max(failures - 1, 0), self.max_delay_s)
        )
