"""Running the sync, letting time pass, injecting faults, re-driving messages."""

from __future__ import annotations

from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from domain.events import Platform
from domain.rules import ConflictPolicy
from tests.acceptance.vocabulary import ENTITIES, Cast, all_rows, step
from tests.acceptance.world import World


@given("the legacy and revamp databases are empty and in sync")
def empty_and_in_sync(world: World) -> None:
    for platform in Platform:
        for entity in ENTITIES:
            assert world.side(platform).app_ids(entity) == [], f"{platform.value} has {entity}s"
    assert world.differing_rows() == 0


@given(parsers.parse('the sync resolves conflicts by "{policy}"'), target_fixture="world")
def world_with_policy(world_factory: Callable[[ConflictPolicy], World], policy: str) -> World:
    return world_factory(ConflictPolicy(policy))


@given("the sync has run")
@when("the sync runs")
@when("the sync runs again")
def sync_runs(world: World) -> None:
    world.sync()


@when(parsers.parse("{seconds:d} seconds pass"))
def time_passes(world: World, seconds: int) -> None:
    world.pause(seconds)


@when("every change message is delivered again")
def redeliver_everything(world: World) -> None:
    world.redeliver_everything()


@when("the dead letters are replayed")
def replay_dead_letters(world: World) -> None:
    world.replay_dead_letters()


@given(step("the {platform:Side} database will fail the next {count:d} transactions"))
def failing_transactions(world: World, platform: Platform, count: int) -> None:
    world.fail_next_transactions(platform, count)


@when("I note the rows on both sides")
def note_rows(world: World, cast: Cast) -> None:
    cast.noted["rows"] = all_rows(world)
    cast.noted["applied"] = world.stats.total("applied")


@then("no row changed on either side")
def no_row_changed(world: World, cast: Cast) -> None:
    assert all_rows(world) == cast.noted["rows"]


@then("nothing new was applied")
def nothing_new_applied(world: World, cast: Cast) -> None:
    assert world.stats.total("applied") == cast.noted["applied"]
