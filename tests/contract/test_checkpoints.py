"""One checkpoints contract, run against the in-memory checkpoints and the JSON file."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import pytest

from adapters.checkpoint_file import JsonFileCheckpoints
from adapters.memory.checkpoints import InMemoryCheckpoints
from domain.ports import Checkpoints


class CheckpointsContract(ABC):
    """What a resumable snapshot relies on."""

    @abstractmethod
    def create_checkpoints(self) -> Checkpoints:
        """Checkpoints over this test's storage: each call a new instance, as after a restart."""

    def test_a_name_never_saved_is_at_zero(self) -> None:
        assert self.create_checkpoints().load("legacy->revamp:user") == 0

    def test_the_last_save_of_a_name_is_what_loads(self) -> None:
        checkpoints = self.create_checkpoints()
        checkpoints.save("legacy->revamp:user", 500)
        checkpoints.save("legacy->revamp:user", 1000)
        assert checkpoints.load("legacy->revamp:user") == 1000

    def test_names_are_independent(self) -> None:
        checkpoints = self.create_checkpoints()
        checkpoints.save("legacy->revamp:user", 7)
        checkpoints.save("legacy->revamp:post", 9)
        assert checkpoints.load("legacy->revamp:user") == 7
        assert checkpoints.load("revamp->legacy:user") == 0

    def test_cleared_progress_starts_over_at_zero(self) -> None:
        checkpoints = self.create_checkpoints()
        checkpoints.save("legacy->revamp:user", 7)
        checkpoints.clear()
        assert checkpoints.load("legacy->revamp:user") == 0
        assert self.create_checkpoints().load("legacy->revamp:user") == 0

    def test_progress_outlives_the_instance_that_saved_it(self) -> None:
        self.create_checkpoints().save("revamp->legacy:like", 42)
        assert self.create_checkpoints().load("revamp->legacy:like") == 42


class TestInMemoryCheckpoints(CheckpointsContract):
    @pytest.fixture(autouse=True)
    def _storage(self) -> None:
        self.values: dict[str, int] = {}

    def create_checkpoints(self) -> Checkpoints:
        return InMemoryCheckpoints(self.values)


class TestJsonFileCheckpoints(CheckpointsContract):
    @pytest.fixture(autouse=True)
    def _storage(self, tmp_path: Path) -> None:
        self.path = tmp_path / "state" / "snapshot.json"

    def create_checkpoints(self) -> Checkpoints:
        return JsonFileCheckpoints(self.path, {"legacy": "postgresql:1", "revamp": "mariadb:1"})
