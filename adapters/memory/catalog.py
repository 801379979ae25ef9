"""A SchemaCatalog whose catalog the test sets: a schema change is an assignment."""

from __future__ import annotations

from domain.catalog import Catalog


class InMemorySchemaCatalog:
    """Reports `catalog`, as it is when read."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.reads = 0

    def read(self) -> Catalog:
        self.reads += 1
        return self.catalog
