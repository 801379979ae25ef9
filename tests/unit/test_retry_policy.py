"""Backoff: 1, 2, 4 seconds by default, capped; and running work again on transient errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.memory.clock import FakeClock
from application.retry import RetriesExhaustedError, with_retries
from domain.errors import PermanentError, TransientError
from domain.retry import RetryPolicy


def test_the_default_policy_waits_1_2_4_seconds() -> None:
    assert list(RetryPolicy().delays()) == [1.0, 2.0, 4.0]


def test_delays_are_capped() -> None:
    policy = RetryPolicy(max_retries=6, initial_delay_s=4, multiplier=3, max_delay_s=30)
    assert list(policy.delays()) == [4, 12, 30, 30, 30, 30]
    assert [policy.delay_after(n) for n in (0, 1, 2, 3, 10)] == [4, 4, 12, 30, 30]


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(multiplier=0.5)


def failing(times: int, error: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return calls, work


def test_transient_failures_are_retried_after_the_policy_delays() -> None:
    clock = FakeClock()
    calls, work = failing(2, TransientError("lock timeout"))
    assert with_retries(work, RetryPolicy(), clock) == ("done", 2)
    assert len(calls) == 3 and clock.slept == [1.0, 2.0]


def test_after_the_last_retry_the_error_comes_out_with_the_count() -> None:
    clock = FakeClock()
    calls, work = failing(10, TransientError("lock timeout"))
    with pytest.raises(RetriesExhaustedError) as raised:
        with_retries(work, RetryPolicy(), clock)
    assert raised.value.retries == 3 and len(calls) == 4
    assert "lock timeout" in str(raised.value)


def test_permanent_errors_are_not_retried() -> None:
    calls, work = failing(1, PermanentError("bad row"))
    with pytest.raises(PermanentError):
        with_retries(work, RetryPolicy(), FakeClock())
    assert len(calls) == 1
