"""Both databases of the reference mapping, in memory or as the real engines, by platform."""

from __future__ import annotations

from sqlalchemy import Engine

from adapters.memory.database import InMemoryDatabase
from domain.events import Platform
from domain.mapping import SchemaMapping

NOW = 1_800_000_000.0


def memory_databases(mapping: SchemaMapping) -> dict[Platform, InMemoryDatabase]:
    """An empty in-memory database per platform, without capture, on a stopped clock."""
    return {p: InMemoryDatabase(p, mapping, None, lambda: NOW) for p in Platform}


def by_platform(engines: dict[str, Engine]) -> dict[Platform, Engine]:
    """The `clean_engines` fixture's engines keyed by platform."""
    return {p: engines[p.value] for p in Platform}
