"""A SchemaCatalog whose catalog the test sets: a schema change is an assignment."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from domain.catalog import Catalog


class InMemorySchemaCatalog:
    """Reports `catalog`, as it is when read."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.reads = 0

    def read(self, tables: Collection[str] | None = None) -> Catalog:
        self.reads += 1
        if tables is None:
            return self.catalog
        return attrs.evolve(
            self.catalog, tables=tuple(t for t in self.catalog.tables if t.name in tables)
        )
