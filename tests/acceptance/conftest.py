"""Fixtures of the Gherkin scenarios: the world (chosen by TANDEM_WORLD) and the cast."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.rules import ConflictPolicy
from tests.acceptance.steps.app_steps import *  # noqa: F403
from tests.acceptance.steps.debezium_steps import *  # noqa: F403
from tests.acceptance.steps.pair_checks import *  # noqa: F403
from tests.acceptance.steps.row_checks import *  # noqa: F403
from tests.acceptance.steps.sync_checks import *  # noqa: F403
from tests.acceptance.steps.sync_steps import *  # noqa: F403
from tests.acceptance.vocabulary import Cast
from tests.acceptance.world import InMemoryWorld, World
from tests.support.debezium_messages import DebeziumFeed

WORLD_VARIABLE = "TANDEM_WORLD"
WORLDS = {
    "memory": (),
    "stack": (pytest.mark.integration,),  # real databases and broker, Debezium events fed
    "capture": (pytest.mark.e2e,),  # real databases and broker, built-in capture
    "debezium": (pytest.mark.e2e,),  # real databases and broker, the real Debezium engine
}


def chosen_worlds() -> list[str]:
    """TANDEM_WORLD=memory|stack|capture|debezium runs the scenarios on one world; unset, on
    all."""
    kind = os.environ.get(WORLD_VARIABLE)
    if kind is None:
        return list(WORLDS)
    if kind not in WORLDS:
        raise pytest.UsageError(
            f"{WORLD_VARIABLE}={kind!r}: no such world (known: {', '.join(WORLDS)})"
        )
    return [kind]


def make_world(policy: ConflictPolicy, kind: str = "memory", request: Any = None) -> World:
    """A world of `kind`; the stack worlds take the session's stack and empty databases."""
    if kind == "memory":
        return InMemoryWorld(policy)
    from tests.acceptance.stack_world import StackWorld
    from tests.conftest import truncate_all

    stack = request.getfixturevalue("running_stack")
    truncate_all(request.getfixturevalue("engines"))
    state_dir = request.getfixturevalue("tmp_path")
    if kind == "debezium":
        shared = request.getfixturevalue("shared_debezium")
        return StackWorld(policy, stack, state_dir, capture="debezium", shared=shared)
    return StackWorld(policy, stack, state_dir, capture="builtin" if kind == "capture" else None)


@pytest.fixture(scope="package")
def shared_debezium(running_stack: dict[str, str], engines: Any, tmp_root: Path) -> Iterator[Any]:
    """The [debezium] world's connectors, started once (see debezium_session) and stopped
    when the scenarios are done, before the tests that stop and start the servers."""
    from tests.acceptance.debezium_session import SharedDebezium

    shared = SharedDebezium(running_stack, tmp_root / "debezium")
    yield shared
    shared.close()


@pytest.fixture(params=[pytest.param(k, marks=WORLDS[k], id=k) for k in chosen_worlds()])
def world_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world_factory(
    world_kind: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[ConflictPolicy], World]]:
    """Makes worlds and closes every one of them after the scenario."""
    made: list[World] = []

    def factory(policy: ConflictPolicy) -> World:
        for earlier in made:  # a scenario that picks its policy replaces the default world
            earlier.close()
        made.append(make_world(policy, world_kind, request))
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
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here) and item.name.endswith("[memory]"):
            item.add_marker(pytest.mark.timeout(10))
