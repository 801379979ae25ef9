"""Indexed tables of the in-memory database, so that lookups stay constant-time as it grows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from domain.events import Platform
from domain.model import EntityLink

Row = dict[str, Any]


class Table(dict[int, Row]):
    """Rows by id, with an index per natural key (unique columns or column groups)."""

    def __init__(self, natural_keys: tuple[tuple[str, ...], ...] = ()) -> None:
        super().__init__()
        self.indexes: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = {
            columns: {} for columns in natural_keys
        }

    def __setitem__(self, row_id: int, row: Row) -> None:
        if row_id in self:
            self._unindex(row_id, self[row_id])
        super().__setitem__(row_id, row)
        for columns, index in self.indexes.items():
            values = tuple(row.get(c) for c in columns)
            if None not in values:
                index[values] = row_id

    def pop(self, row_id: int, *default: Any) -> Any:
        if row_id in self:
            self._unindex(row_id, self[row_id])
        return super().pop(row_id, *default)

    def _unindex(self, row_id: int, row: Row) -> None:
        for columns, index in self.indexes.items():
            values = tuple(row.get(c) for c in columns)
            if index.get(values) == row_id:
                del index[values]

    def find(self, values: Mapping[str, Any], besides: int | None = None) -> int | None:
        """The id of a row (other than `besides`) whose columns equal `values`."""
        index = self.indexes.get(tuple(values))
        if index is not None:
            found = index.get(tuple(values.values()))
            return None if found == besides else found
        for row_id, row in self.items():
            if row_id != besides and all(row.get(c) == v for c, v in values.items()):
                return row_id
        return None


class LinkTable:
    """entity_mappings: one link per entity, found by its id on either platform."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[Platform, str, int], EntityLink] = {}

    def get(self, entity_type: str, platform: Platform, row_id: int) -> EntityLink | None:
        return self._by_id.get((platform, entity_type, row_id))

    def put(self, link: EntityLink) -> None:
        self.remove(link.entity_type, link.legacy_id)
        for platform in Platform:
            self._by_id[(platform, link.entity_type, link.id_on(platform))] = link

    def remove(self, entity_type: str, legacy_id: int) -> None:
        old = self._by_id.pop((Platform.LEGACY, entity_type, legacy_id), None)
        if old is not None:
            self._by_id.pop((Platform.REVAMP, entity_type, old.revamp_id), None)

    def __iter__(self) -> Iterator[EntityLink]:
        return (link for (p, _, _), link in self._by_id.items() if p is Platform.LEGACY)
