"""Fixtures of the Gherkin scenarios: the world (chosen by TANDEM_WORLD) and the cast."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from domain.rules import ConflictPolicy
from tests.acceptance.debezium_messages import DebeziumFeed
from tests.acceptance.steps.app_steps import *  # noqa: F403
from tests.acceptance.steps.debezium_steps import *  # noqa: F403
from tests.acceptance.steps.pair_checks import *  # noqa: F403
from tests.acceptance.steps.row_checks import *  # noqa: F403
from tests.acceptance.steps.sync_checks import *  # noqa: F403
from tests.acceptance.steps.sync_steps import *  # noqa: F403
from tests.acceptance.vocabulary import Cast
from tests.acceptance.world import InMemoryWorld, World

WORLD_VARIABLE = "TANDEM_WORLD"


def make_world(policy: ConflictPolicy) -> World:
    """The world named by TANDEM_WORLD: `memory` (default) runs on the in-memory adapters."""
    kind = os.environ.get(WORLD_VARIABLE, "memory")
    if kind == "memory":
        return InMemoryWorld(policy)
    raise pytest.UsageError(f"{WORLD_VARIABLE}={kind!r}: no such world (known: memory)")


@pytest.fixture
def world_factory() -> Iterator[Callable[[ConflictPolicy], World]]:
    """Makes worlds and closes every one of them after the scenario."""
    made: list[World] = []

    def factory(policy: ConflictPolicy) -> World:
        made.append(make_world(policy))
        return made[-1]

    yield factory
    for world in made:
        world.close()


@pytest.fixture
def world(world_factory: Callable[[ConflictPolicy], World]) -> World:
    return world_factory(ConflictPolicy.LAST_WRITER_WINS)


@pytest.fixture
def cast() -> Cast:
    return Cast()


@pytest.fixture
def debezium() -> DebeziumFeed:
    return DebeziumFeed()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In memory a scenario takes milliseconds: a sync that never settles (a loop) fails fast."""
    if os.environ.get(WORLD_VARIABLE, "memory") != "memory":
        return
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.timeout(10))
