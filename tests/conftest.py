"""Session-wide fixtures: the real local stack (started once) and clean databases per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from adapters.mapping_file import load_mapping
from adapters.sql.engines import open_engine
from adapters.sql.reset import empty_reference_databases
from adapters.sql_migrations import apply_migrations
from domain.mapping import SchemaMapping
from tests.integration.stack_fixture import running_stack, tmp_root  # noqa: F401 - fixtures

# Debezium's JVM in the tests: the quick compiler only and one GC thread, so that starting it
# costs less of a small shared machine (the product keeps the JVM's defaults)
os.environ.setdefault("PYDBZ_JVM_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


@pytest.fixture(scope="session")
def mapping() -> SchemaMapping:
    return load_mapping()


@pytest.fixture(scope="session")
def engines(running_stack: dict[str, str]) -> Iterator[dict[str, Engine]]:  # noqa: F811
    """Both databases, migrated once per session."""
    legacy = open_engine(running_stack["SYNC_LEGACY_DSN"])
    revamp = open_engine(running_stack["SYNC_REVAMP_DSN"])
    apply_migrations(legacy, "legacy")
    apply_migrations(revamp, "revamp")
    yield {"legacy": legacy, "revamp": revamp}
    legacy.dispose()
    revamp.dispose()


def truncate_all(engines: dict[str, Engine]) -> None:
    empty_reference_databases(engines["legacy"], engines["revamp"])


@pytest.fixture
def clean_engines(engines: dict[str, Engine]) -> dict[str, Engine]:
    """Both databases, emptied (ids restart at 1) before the test."""
    truncate_all(engines)
    return engines
