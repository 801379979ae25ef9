"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.processes import TANDEM, drop_slot, run_command, write_env_file


@pytest.fixture
def env_file(
    running_stack: dict[str, str], clean_engines: dict[str, Engine], tmp_path: Path
) -> Iterator[Path]:
    """An env file of the test's own (topics, slot, state), after `tandem migrate` with it."""
    path = write_env_file(running_stack, tmp_path)
    migrated = run_command([*TANDEM, "migrate", "--env-file", str(path)])
    assert migrated.returncode == 0, migrated.stderr
    yield path
    drop_slot(clean_engines["legacy"], path)
