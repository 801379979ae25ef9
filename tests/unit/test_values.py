"""Value coercions: every temporal encoding Debezium and the drivers produce, and case rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.coercions import change_case, to_integer, to_micros, to_text, to_timestamp

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678901)
MICROS = 1_767_323_045_678_901


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-02T03:04:05.678901Z",  # io.debezium.time.ZonedTimestamp
        "2026-01-02T04:04:05.678901+01:00",
        "2026-01-02 03:04:05.678901",  # a driver's text form
        MOMENT.replace(tzinfo=UTC),
        MOMENT.replace(hour=1, tzinfo=timezone(timedelta(hours=-2))),
        MOMENT,
    ],
)
def test_every_encoding_of_one_moment_gives_the_same_naive_utc_time(value: Any) -> None:
    assert to_timestamp(value) == MOMENT
    assert to_timestamp(value).tzinfo is None


@pytest.mark.parametrize("value", [MICROS, MICROS // 1000, 45_000_000_000_500])
def test_an_integer_is_never_read_as_a_timestamp_here(value: int) -> None:
    """Its unit is the decoder's to know (schema or mapping): 1971 in microseconds and 3422
    in milliseconds are the same integer, so the domain refuses rather than guesses."""
    with pytest.raises(ValueError, match="not a timestamp"):
        to_timestamp(value)


def test_to_micros_gives_microseconds_since_the_epoch() -> None:
    assert to_micros(MOMENT) == MICROS
    assert to_micros(datetime(1971, 6, 15, 12, 0, 0, 500000)) == 45_835_200_500_000


@pytest.mark.parametrize("value", [True, 1.5, "not a date", None, [2026]])
def test_anything_else_is_not_a_timestamp(value: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        to_timestamp(value)


def test_integers_and_texts_are_checked() -> None:
    assert to_integer("12") == 12 and to_integer(7) == 7
    assert to_text("x") == "x"
    for bad in (True, 1.0, None):
        with pytest.raises(ValueError, match="not an integer"):
            to_integer(bad)
    with pytest.raises(ValueError, match="not a string"):
        to_text(5)


@pytest.mark.parametrize(
    ("value", "case", "expected"),
    [
        ("active", "title", "Active"),
        ("BANNED", "title", "Banned"),
        ("Draft", "lower", "draft"),
        ("Published", "upper", "PUBLISHED"),
        ("", "title", ""),
    ],
)
def test_case_rules(value: str, case: str, expected: str) -> None:
    assert change_case(value, case) == expected


def test_an_unknown_case_rule_is_named() -> None:
    with pytest.raises(ValueError, match="shout"):
        change_case("x", "shout")
