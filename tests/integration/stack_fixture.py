"""A running local stack for integration tests: given SYNC_* servers, else a private one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack import down, up
from devstack.stack_env import KEYS


@contextmanager
def stack_session(tmp_root: Path) -> Iterator[dict[str, str]]:
    """Yield SYNC_* settings: the environment's when all three are set, else a fresh private
    stack in `tmp_root/stack`, stopped and deleted afterwards. os.environ is not changed."""
    if all(os.environ.get(key) for key in KEYS):
        given = {key: os.environ[key] for key in KEYS}
        if os.environ.get("TANDEM_STACK_DIR"):  # a stack of ours: tests may kill its servers
            given["TANDEM_STACK_DIR"] = os.environ["TANDEM_STACK_DIR"]
        yield given
        return
    stack_dir = tmp_root / "stack"
    try:
        values = up(stack_dir, environ={})
        yield values
    finally:
        down(stack_dir, purge=True)


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tandem")


@pytest.fixture(scope="session")
def running_stack(tmp_root: Path) -> Iterator[dict[str, str]]:
    """Session fixture: the SYNC_LEGACY_DSN, SYNC_REVAMP_DSN, SYNC_KAFKA_BOOTSTRAP (and, for a
    private stack, TANDEM_STACK_DIR) of a running stack."""
    with stack_session(tmp_root) as values:
        yield values
