"""The target rows a sync transaction has read (and locked) or written, with an index from each
parent row to the known rows that reference it, so that a delete's cascade costs what it
reaches, not a scan of everything known."""

from __future__ import annotations

from collections import defaultdict

from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.model import StoredRow

RowKey = tuple[str, int]  # entity type, row id on the target


class KnownRows:
    """Row id -> the row as it stands now in the transaction, or None when it does not exist.
    A `partial` row was only locked: its values hold the key and the foreign keys alone."""

    def __init__(self, mapping: SchemaMapping, platform: Platform) -> None:
        self.rows: dict[RowKey, StoredRow | None] = {}
        # entity type -> (referenced entity type, column) of each of its foreign keys
        self.references = {
            e.entity_type: [(f.references, f.names.on(platform)) for f in e.foreign_keys]
            for e in mapping.entities
        }
        # parent -> rows that referenced it when they became known (checked again on use)
        self.children: defaultdict[RowKey, set[RowKey]] = defaultdict(set)
        self.partial: set[RowKey] = set()

    def __contains__(self, key: RowKey) -> bool:
        return key in self.rows

    def get(self, key: RowKey, default: object = None) -> StoredRow | object | None:
        return self.rows.get(key, default)

    def __getitem__(self, key: RowKey) -> StoredRow | None:
        return self.rows[key]

    def complete(self, key: RowKey) -> bool:
        """Whether the row is known with all its values (or known not to exist)."""
        return key in self.rows and key not in self.partial

    def remember(self, key: RowKey, row: StoredRow | None, partial: bool = False) -> None:
        self.rows[key] = row
        if partial and row is not None:
            self.partial.add(key)
        else:
            self.partial.discard(key)
        if row is None:
            return
        for parent_type, column in self.references[key[0]]:
            parent_id = row.values.get(column)
            if parent_id is not None and parent_type is not None:
                self.children[(parent_type, parent_id)].add(key)

    def forget(self, key: RowKey) -> None:
        self.rows.pop(key, None)
        self.partial.discard(key)

    def clear(self) -> None:
        self.rows.clear()
        self.children.clear()
        self.partial.clear()

    def deleted(self, key: RowKey) -> set[str]:
        """Mark a row deleted, and the known rows its delete cascades to (ON DELETE CASCADE of
        the reference schemas), as the database will; returns the entity types touched."""
        self.rows[key] = None
        self.partial.discard(key)
        touched = {key[0]}
        for child in self.children.pop(key, ()):
            row = self.rows.get(child)
            if row is not None and any(
                parent_type == key[0] and row.values.get(column) == key[1]
                for parent_type, column in self.references[child[0]]
            ):
                touched |= self.deleted(child)
        return touched
