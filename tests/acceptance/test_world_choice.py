"""TANDEM_WORLD chooses the world the scenarios run on."""

from __future__ import annotations

import pytest

from domain.rules import ConflictPolicy
from tests.acceptance.conftest import chosen_worlds, make_world
from tests.acceptance.world import InMemoryWorld


def test_the_in_memory_world_is_the_default() -> None:
    world = make_world(ConflictPolicy.REVAMP_WINS)
    assert isinstance(world, InMemoryWorld)
    world.close()


def test_every_world_runs_unless_one_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TANDEM_WORLD", raising=False)
    assert chosen_worlds() == ["memory", "stack", "capture", "debezium"]
    monkeypatch.setenv("TANDEM_WORLD", "capture")
    assert chosen_worlds() == ["capture"]


def test_an_unknown_world_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDEM_WORLD", "mars")
    with pytest.raises(pytest.UsageError, match="TANDEM_WORLD='mars'"):
        chosen_worlds()
