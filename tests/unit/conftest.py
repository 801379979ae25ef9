"""Fixtures of the unit tests: the reference mapping, a fake clock, in-memory pipelines."""

from __future__ import annotations

import pytest

from adapters.mapping_file import load_mapping
from adapters.memory.clock import FakeClock
from demo.in_memory import InMemoryPipeline, in_memory_pipeline
from domain.mapping import SchemaMapping
from tests.support.debezium_messages import DebeziumFeed


@pytest.fixture(scope="session")
def mapping() -> SchemaMapping:
    return load_mapping()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pipeline(mapping: SchemaMapping, clock: FakeClock) -> InMemoryPipeline:
    return in_memory_pipeline(mapping, clock)


@pytest.fixture
def feed() -> DebeziumFeed:
    return DebeziumFeed()
