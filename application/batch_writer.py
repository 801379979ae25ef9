"""The creates of a batch written together, in the style of quix-streams' BatchingSink: `add`
while a run of creates lasts, then `flush` writes one multi-row INSERT per entity type with the
links and processed marks; the batch is dropped whatever happens."""

from __future__ import annotations

from typing import Any

import attrs

from domain.events import SyncEvent
from domain.mapping import EntityMapping
from domain.model import EntityLink
from domain.ports import TargetSession


@attrs.frozen
class RowWrite:
    """A create or update that won: the target row's values, and the change's version."""

    entity: EntityMapping
    event: SyncEvent
    values: dict[str, Any]
    origin_id: int
    version: int


class BatchWriter:
    """Collects the creates that need no row of their own read first (not linked yet)."""

    def __init__(self) -> None:
        self.collecting = False
        self.pending: list[RowWrite] = []

    def __len__(self) -> int:
        return len(self.pending)

    def start(self) -> None:
        """From now on, `add` takes creates."""
        self.collecting = True

    def add(self, write: RowWrite) -> bool:
        """Take a create to write at `flush`; False when not collecting (write it now)."""
        if self.collecting:
            self.pending.append(write)
        return self.collecting

    def flush(self, session: TargetSession) -> None:
        """Write what was added, one INSERT per entity type, link and mark each row; a failure
        concerns the whole lot. Collecting stops, and the batch is dropped."""
        pending, self.collecting = self.pending, False
        try:
            for entity_type in dict.fromkeys(w.entity.entity_type for w in pending):
                group = [w for w in pending if w.entity.entity_type == entity_type]
                new_ids = session.insert_many(group[0].entity, [w.values for w in group])
                for write, new_id in zip(group, new_ids, strict=True):
                    origin = write.event.origin
                    link = EntityLink.between(entity_type, origin, write.origin_id, new_id)
                    link.applied_version = write.version
                    session.save_link(link)
                    session.mark_processed(write.event)
        finally:
            self.pending = []

    def drop(self) -> None:
        """Forget what was added (its transaction is rolled back) and stop collecting."""
        self.collecting, self.pending = False, []
