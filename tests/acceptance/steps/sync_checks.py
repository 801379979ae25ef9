"""What the sync counted, and what it put in the dead-letter queue."""

from __future__ import annotations

from pytest_bdd import parsers, then

from domain.events import Platform
from tests.acceptance.world import World


@then(parsers.parse("the sync skipped {count:d} echo coming back from revamp"))
def echoes_skipped(world: World, count: int) -> None:
    assert world.echoes_stopped(Platform.REVAMP) == count


@then("nothing was applied from revamp to legacy")
def nothing_applied_back(world: World) -> None:
    assert world.stats.total("revamp-to-legacy:applied") == 0
    assert world.stats.total("legacy-to-revamp:applied") > 0


@then(parsers.parse("the sync skipped {count:d} duplicate"))
def duplicates_skipped(world: World, count: int) -> None:
    assert world.stats.total("duplicates_skipped") == count


@then(parsers.parse("the sync retried {count:d} times"))
def retried(world: World, count: int) -> None:
    assert world.stats.total("retries") == count


@then(parsers.parse("the sync waited out {count:d} outage"))
def outages(world: World, count: int) -> None:
    assert world.stats.total("outages") == count
    assert world.stats.total("outage_waits") >= count


@then("the dead-letter queue is empty")
def no_dead_letters(world: World) -> None:
    assert world.dead_letters() == []


@then(
    parsers.parse(
        'the dead-letter queue holds {count:d} change rejected as "{error_type}" '
        'mentioning "{text}"'
    )
)
def dead_letters_hold(world: World, count: int, error_type: str, text: str) -> None:
    letters = world.dead_letters()
    assert [letter.error_type for letter in letters] == [error_type] * count
    for letter in letters:
        assert text in letter.error_message, letter.error_message


@then(parsers.parse('the dead letter came from "{topic}"'))
def dead_letter_origin(world: World, topic: str) -> None:
    (letter,) = world.dead_letters()
    assert letter.topic == world.topic_name(topic)
    assert letter.key is not None and letter.original_event is not None
    assert letter.offset >= 0 and letter.failed_at


@then(parsers.parse("the dead letter was retried {count:d} times"))
def dead_letter_retries(world: World, count: int) -> None:
    (letter,) = world.dead_letters()
    assert letter.retry_count == count
