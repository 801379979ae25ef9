"""Where children wait for their parents: the in-memory room, and past its capacity a table of
the target database. A child leaves when its parent is applied (in a batch of this consumer,
by a snapshot or by another process) or when its deadline passes; never wholesale."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import attrs

from application.waiting_room import KeyOf, Waiting, WaitingRoom, key_of
from domain.events import Operation, Platform, SyncEvent
from domain.mapping import SchemaMapping
from domain.model import ParentKey, ParkedChild
from domain.ports import EventCodec, TargetStore

LINK_SCAN_INTERVAL_S = 1.0
"""How often the children kept in the database are matched against all links (snapshots and
other processes); those whose parent this consumer applies are released at once."""


@attrs.define(eq=False)
class Waitlist:
    """The waiting children of one direction: `room` in memory, the rest in `target`."""

    origin: Platform
    mapping: SchemaMapping
    codec: EventCodec
    origin_store: TargetStore
    target: TargetStore
    room: WaitingRoom
    kept: int | None = attrs.field(default=None, init=False)  # in the database; None: not counted
    last_scan: float = attrs.field(default=float("-inf"), init=False)

    @property
    def wait_s(self) -> float:
        return self.room.wait_s

    def __len__(self) -> int:
        return len(self.room) + (self.kept or 0)

    def in_database(self) -> int:
        if self.kept is None:
            self.kept = self.target.parked_count()
        return self.kept

    def release(self, arriving: Iterable[SyncEvent], now: float, backlogged: bool) -> list[Waiting]:
        """The children to try again in this batch, in arrival order per partition: those of
        the parents arriving in it, of parents linked since, and (unless a backlog may still
        hold their parents) of parents one of whose children ran out of time."""
        parents = self._arriving(arriving)
        parents |= self._linked(self.room.missing_parents(), parents)
        expired = set() if backlogged else self.room.expired_parents(now)
        released = self.room.release(parents | expired)
        if self.in_database():
            released += self._released_from_database(parents, now, backlogged)
        released.sort(key=lambda w: (w.message.topic, w.message.partition, w.message.offset))
        return released

    def _arriving(self, events: Iterable[SyncEvent]) -> set[ParentKey]:
        arriving = set()
        for event in events:
            if event.operation.writes_row or event.operation is Operation.DELETE:
                entity = self.mapping.entity(event.entity_type)
                arriving.add((entity.entity_type, int(event.key[entity.key.on(self.origin)])))
        return arriving

    def _linked(
        self, missing: dict[str, set[int]], arriving: Collection[ParentKey]
    ) -> set[ParentKey]:
        """One read per parent entity type and database for the parents still missing."""
        linked: set[ParentKey] = set()
        for entity_type, ids in missing.items():
            unknown = {i for i in ids if (entity_type, i) not in arriving}
            for store in (self.target, self.origin_store):
                if unknown:
                    found = store.read_links(entity_type, self.origin, unknown)
                    linked |= {(entity_type, i) for i in found}
                    unknown -= set(found)
        return linked

    def _released_from_database(
        self, parents: set[ParentKey], now: float, backlogged: bool
    ) -> list[Waiting]:
        scan = now - self.last_scan >= LINK_SCAN_INTERVAL_S
        if scan:
            self.last_scan, self.kept = now, self.target.parked_count()
        kept = self.target.parked_for(
            parents, self.origin if scan else None, None if backlogged else now
        )
        released = []
        for child in kept:
            event = self.codec.decode(child.message)
            if event is not None:
                released.append(
                    Waiting(child.message, event, child.deadline, child.reason, child.parent, True)
                )
        return released

    def held_keys(
        self, events: Iterable[SyncEvent], released: Collection[Waiting]
    ) -> dict[KeyOf, ParentKey]:
        """The keys of `events` behind which an earlier change waits, with its parent (those
        `released` for this batch hold nothing)."""
        held: dict[KeyOf, ParentKey] = {}
        keys = set()
        leaving = {key_of(w.event) for w in released}
        for event in events:
            key = key_of(event)
            if key in leaving:
                continue
            keys.add(key)
            parent = self.room.parent_of_key(event)
            if parent is not None:
                held[key] = parent
        if self.in_database() and keys - set(held):
            held |= self.target.parked_keys(keys - set(held))
        return held

    def already_waiting(self, events: Iterable[SyncEvent], held: Collection[KeyOf]) -> set[str]:
        """Of `events` (redelivered after a restart or a rewind), those waiting already."""
        behind = [e for e in events if key_of(e) in held]
        found = {e.event_id for e in behind if self.room.holds(e.event_id)}
        rest = [e.event_id for e in behind if e.event_id not in found]
        if rest and self.in_database():
            found |= self.target.parked_ids(rest)
        return found

    def forget_in_memory(self) -> None:
        """Drop the children waiting in memory: their messages are delivered again."""
        self.room = WaitingRoom(self.room.wait_s, self.room.capacity)

    def keep_in_memory(self, waiting: Waiting) -> None:
        self.room.park(waiting)

    def kept_in_database(self, added: int, removed: int) -> None:
        """What a committed transaction added to and removed from the database's table."""
        self.kept = max(0, self.in_database() + added - removed)

    def parked_child(self, waiting: Waiting) -> ParkedChild:
        _, entity_key = key_of(waiting.event)
        return ParkedChild(
            waiting.message,
            waiting.event.event_id,
            waiting.event.entity_type,
            entity_key,
            waiting.parent,
            waiting.deadline,
            waiting.reason,
        )

    def lowest_offsets(self) -> dict[tuple[str, int], int]:
        """Per partition, the first offset a crash must redeliver: the first waiting child."""
        lowest = self.room.lowest_offsets()
        if self.in_database():
            for where, offset in self.target.parked_offsets().items():
                lowest[where] = min(offset, lowest.get(where, offset))
        return lowest
