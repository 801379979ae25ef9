"""Applying one decoded change inside a target transaction: ids, conflicts, bookkeeping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from application.batch_writer import BatchWriter, RowWrite
from application.stats import Outcome
from domain.coercions import to_micros
from domain.errors import PermanentError
from domain.events import SYNC_SERVICE, Operation, Platform, SyncEvent
from domain.mapping import EntityMapping, FieldMapping, SchemaMapping
from domain.model import EntityLink, ParentKey, StoredRow
from domain.ports import EntityLinks, TargetRows, TargetSession, TargetStore
from domain.rules import ConflictPolicy, IncomingChange, TargetRowState, Verdict, resolve


class ParentPendingError(PermanentError):
    """The row references a parent the target does not know yet."""

    def __init__(self, message: str, parent: ParentKey) -> None:
        super().__init__(message)
        self.parent = parent


class KeyHeldError(ParentPendingError):
    """A create's natural key is held on the target by another entity, still linked: it waits
    for that entity (its `parent`) to change or go."""


class ParentDeletedError(PermanentError):
    """The row references a parent deleted on the target: the delete wins, the child goes."""


_VERDICT_OUTCOMES = {
    Verdict.APPLY: Outcome.APPLIED,
    Verdict.STALE: Outcome.STALE_SKIPPED,
    Verdict.CONFLICT_WON: Outcome.CONFLICT_WON,
    Verdict.CONFLICT_LOST: Outcome.CONFLICT_LOST,
}


class ChangeApplier:
    """Writes changes from `origin` to the target, idempotently and conflict-aware."""

    def __init__(
        self, mapping: SchemaMapping, origin_store: TargetStore, policy: ConflictPolicy
    ) -> None:
        self.mapping = mapping
        self.origin_store = origin_store
        self.policy = policy
        self.origin_links: dict[tuple[str, Platform, int], EntityLink | None] = {}
        self.writer = BatchWriter()  # the creates of a run, written together

    def prefetch(self, session: TargetSession, events: Sequence[SyncEvent]) -> None:
        """Read the links a batch needs in one query per entity type and database, instead
        of a round trip per event; call at the start of each target transaction."""
        self.origin_links = {}
        wanted: dict[str, set[int]] = defaultdict(set)
        own: dict[str, set[int]] = defaultdict(set)  # the events' own keys, by entity type
        for event in events:
            if event.operation is Operation.TRUNCATE:
                continue
            entity = self.mapping.entity(event.entity_type)
            origin = event.origin
            row_id = int(event.key[entity.key.on(origin)])
            wanted[entity.entity_type].add(row_id)
            own[entity.entity_type].add(row_id)
            for field in entity.foreign_keys:
                parent_id = event.row.get(field.names.on(origin)) if event.row else None
                if field.references is not None and isinstance(parent_id, int):
                    wanted[field.references].add(parent_id)
        for origin in {event.origin for event in events}:
            on_origin = self.origin_store.read_many_links(origin, wanted)
            for entity_type, ids in wanted.items():
                links = session.links(entity_type, origin, ids)
                found = on_origin.get(entity_type, {})
                for row_id in ids:
                    self.origin_links[(entity_type, origin, row_id)] = found.get(row_id)
                links |= {i: link for i, link in found.items() if i not in links}
                self._lock_rows(session, entity_type, origin, links, own[entity_type])
        self._prefetch_natural_keys(session, events)

    def _lock_rows(
        self,
        session: TargetRows,
        entity_type: str,
        origin: Platform,
        links: dict[int, EntityLink],
        own: set[int],
    ) -> None:
        """The current rows of the events' own keys, read whole for the conflict rules, and
        the parents only referenced, locked without their values: two queries at most."""
        entity = self.mapping.entity(entity_type)
        target = origin.other
        current = [link.id_on(target) for i, link in links.items() if i in own]
        parents = [link.id_on(target) for i, link in links.items() if i not in own]
        if current:
            session.rows(entity, current)
        if parents:
            session.existing(entity, parents)

    def _prefetch_natural_keys(self, session: TargetRows, events: Sequence[SyncEvent]) -> None:
        """The rows a create could adopt, for natural keys without foreign keys (emails)."""
        wanted: dict[tuple[str, tuple[str, ...]], set[tuple[Any, ...]]] = defaultdict(set)
        for event in events:
            if event.operation is not Operation.CREATE or event.after is None:
                continue
            entity = self.mapping.entity(event.entity_type)
            target = event.origin.other
            for group in entity.natural_key_fields:
                if any(f.references for f in group):
                    continue
                try:
                    values = tuple(f.convert(event.after.get(f.names.on(event.origin)),
                                             event.origin) for f in group)  # fmt: skip
                except (ValueError, TypeError):
                    continue  # the apply reports it
                if None not in values:
                    columns = tuple(f.names.on(target) for f in group)
                    wanted[(entity.entity_type, columns)].add(values)
        for (entity_type, columns), keys in wanted.items():
            session.find_many(self.mapping.entity(entity_type), columns, keys)

    def _origin_link(self, entity_type: str, platform: Platform, row_id: int) -> EntityLink | None:
        key = (entity_type, platform, row_id)
        if key not in self.origin_links:
            found = self.origin_store.read_links(entity_type, platform, [row_id])
            self.origin_links[key] = found.get(row_id)
        return self.origin_links[key]

    def apply(
        self,
        session: TargetSession,
        event: SyncEvent,
        force: bool = False,
        values: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Apply the event in `session`; raises ParentPendingError or a PermanentError.

        `force` skips conflict resolution: repairs copy the side that reconcile chose.
        `values`: the event's row as `entity.transform` maps it, when `check_event` did it.
        """
        entity = self.mapping.entity(event.entity_type)
        if event.operation is Operation.TRUNCATE:
            return self._truncate(session, entity, event)
        origin = event.origin
        origin_id = int(event.key[entity.key.on(origin)])
        link = self._find_link(session, entity.entity_type, origin, origin_id)
        origin_link = self._origin_link(entity.entity_type, origin, origin_id)
        if event.operation is Operation.DELETE:
            return self._delete(session, entity, event, link)
        try:
            mapped = entity.transform(event.row, origin) if values is None else dict(values)
            row = self._translate_references(session, entity, origin, mapped)
        except ParentDeletedError:
            session.mark_processed(event)
            return Outcome.CONFLICT_LOST
        if link is None:
            link = self._adopt(session, entity, origin, origin_id, row)
            if link is not None:
                session.save_link(link)  # the twins stay one entity whatever the verdict
        return self._upsert(session, entity, event, row, link, origin_link, force)

    def _upsert(
        self,
        session: TargetSession,
        entity: EntityMapping,
        event: SyncEvent,
        values: dict[str, Any],
        link: EntityLink | None,
        origin_link: EntityLink | None,
        force: bool,
    ) -> Outcome:
        """Create or update the target row of a create or update, as the verdict says."""
        if link is not None and link.deleted and not force:
            return Outcome.CONFLICT_LOST  # delete wins over a concurrent update
        target = event.origin.other
        current = (
            None
            if link is None
            else session.rows(entity, [link.id_on(target)]).get(link.id_on(target))
        )
        if link is not None and current is None:
            if not force:
                return Outcome.CONFLICT_LOST  # deleted on the target; that delete is on its way
            link = None  # a repair re-creates the row and links it anew
        version = self._version(entity, event.origin, event.row, event)
        verdict = (
            Verdict.APPLY if force else self._verdict(event, version, current, link, origin_link)
        )
        write = RowWrite(
            entity, event, values, int(event.key[entity.key.on(event.origin)]), version
        )
        if verdict.applies and link is None:
            _refuse_partial_create(entity, event.origin, write.origin_id, values)
        if verdict.applies and link is None and self.writer.add(write):
            return Outcome.APPLIED  # written, linked and marked by the writer's flush
        if verdict.applies:
            link = self._write(session, write, link)
            link.applied_version = max(link.applied_version, version)
            if verdict is Verdict.CONFLICT_WON and current is not None:
                link.rejected_version = max(link.rejected_version, current.version)
            session.save_link(link)
            session.mark_processed(event)
        return _VERDICT_OUTCOMES[verdict]

    def _verdict(
        self,
        event: SyncEvent,
        version: int,
        current: StoredRow | None,
        link: EntityLink | None,
        origin_link: EntityLink | None,
    ) -> Verdict:
        rejected_on_origin = bool(origin_link and origin_link.rejected_version >= version)
        return resolve(
            self.policy,
            IncomingChange(event.origin, version, rejected_on_origin=rejected_on_origin),
            None if current is None else self._state(current, link, origin_link),
        )

    def _delete(
        self,
        session: TargetSession,
        entity: EntityMapping,
        event: SyncEvent,
        link: EntityLink | None,
    ) -> Outcome:
        session.mark_processed(event)
        if link is None or link.deleted:
            return Outcome.ALREADY_ABSENT
        existed = session.delete(entity, link.id_on(event.origin.other))
        link.deleted = True
        link.applied_version = max(link.applied_version, event.position.commit_ts_ms * 1000)
        session.save_link(link)
        return Outcome.APPLIED if existed else Outcome.ALREADY_ABSENT

    def _truncate(self, session: TargetSession, entity: EntityMapping, event: SyncEvent) -> Outcome:
        """The origin table was emptied: delete every row linked to one of its rows (the links
        of both databases: each direction keeps the links of the rows it created) and mark
        the links deleted. Rows never synced are left alone."""
        session.mark_processed(event)
        links = {link.legacy_id: link for link in self.origin_store.all_links(entity.entity_type)}
        links |= {link.legacy_id: link for link in session.all_links(entity.entity_type)}
        target = event.origin.other
        for link in links.values():
            if link.deleted:
                continue
            session.delete(entity, link.id_on(target))
            link.deleted = True
            link.applied_version = max(link.applied_version, event.position.commit_ts_ms * 1000)
            session.save_link(link)
        return Outcome.APPLIED

    @staticmethod
    def _write(session: TargetRows, write: RowWrite, link: EntityLink | None) -> EntityLink:
        """Insert the row and link it, or update the linked row."""
        entity, origin = write.entity, write.event.origin
        if link is None:
            new_id = session.insert(entity, write.values)
            return EntityLink.between(entity.entity_type, origin, write.origin_id, new_id)
        if not session.update(entity, link.id_on(origin.other), write.values):
            raise PermanentError(f"{entity.entity_type} {write.origin_id}: target row vanished")
        return link

    def _adopt(
        self,
        session: TargetSession,
        entity: EntityMapping,
        origin: Platform,
        origin_id: int,
        values: dict[str, Any],
    ) -> EntityLink | None:
        """Link a create to an unlinked target row with the same natural key.

        Both applications created the same thing (a user with one email, one like) before
        either heard of the other's; the pair then converges by the conflict policy instead
        of the second insert failing on the unique constraint.
        """
        target = origin.other
        for columns in entity.natural_keys(target):
            wanted = {c: values.get(c) for c in columns}
            if None in wanted.values():
                continue
            existing = session.find_by(entity, wanted)
            if existing is None:
                continue
            holder = session.links(entity.entity_type, target, [existing]).get(existing) or (
                self._origin_link(entity.entity_type, target, existing)
            )
            if holder is None:
                return EntityLink.between(entity.entity_type, origin, origin_id, existing)
            if not holder.deleted:
                # Another entity holds the key; its delete may be on another partition, not
                # applied yet (deleted and created again on the origin): wait for it.
                raise KeyHeldError(
                    f"{entity.entity_type} {origin_id}: {', '.join(columns)} = "
                    f"{tuple(wanted.values())} is held on {target.value} by "
                    f"{entity.entity_type} {holder.id_on(origin)} of {origin.value}",
                    (entity.entity_type, holder.id_on(origin)),
                )
            return None  # the holder is gone: the insert fails and says why
        return None

    def _find_link(
        self, session: EntityLinks, entity_type: str, platform: Platform, row_id: int
    ) -> EntityLink | None:
        """The target database's link, else the one the other direction stored on the origin."""
        link = session.links(entity_type, platform, [row_id]).get(row_id)
        if link is None:
            link = self._origin_link(entity_type, platform, row_id)
            if link is not None:
                link = EntityLink(entity_type, link.legacy_id, link.revamp_id, deleted=link.deleted)
        return link

    def _translate_references(
        self,
        session: TargetSession,
        entity: EntityMapping,
        origin: Platform,
        values: dict[str, Any],
    ) -> dict[str, Any]:
        for field in entity.foreign_keys:
            column = field.names.on(origin.other)
            parent_id = values.get(column)
            if parent_id is None or field.references is None:
                continue
            parent = self._find_link(session, field.references, origin, int(parent_id))
            if parent is None:
                missing = (field.references, int(parent_id))
                where = _where(entity, field, origin, parent_id)
                raise ParentPendingError(f"{where} is not on {origin.other.value} yet", missing)
            target_id = parent.id_on(origin.other)
            parent_entity = self.mapping.entity(field.references)
            if parent.deleted or not session.existing(parent_entity, [target_id]):
                raise ParentDeletedError(
                    f"{_where(entity, field, origin, parent_id)} was deleted on "
                    f"{origin.other.value}"
                )
            values[column] = target_id
        return values

    @staticmethod
    def _version(entity: EntityMapping, platform: Platform, row: Any, event: SyncEvent) -> int:
        column = entity.version_column(platform)
        if column is not None and row.get(column) is not None:
            return to_micros(row[column])
        return event.position.commit_ts_ms * 1000

    @staticmethod
    def _state(
        current: StoredRow, link: EntityLink | None, origin_link: EntityLink | None
    ) -> TargetRowState:
        return TargetRowState(
            version=current.version,
            written_by_sync=current.source == SYNC_SERVICE,
            local_change_synced=bool(
                origin_link and origin_link.applied_version >= current.version
            ),
            local_change_rejected=bool(link and link.rejected_version >= current.version),
        )


def _where(entity: EntityMapping, field: FieldMapping, origin: Platform, parent_id: Any) -> str:
    """The reference a child holds, as its errors name it."""
    return (
        f"{entity.entity_type}.{field.names.on(origin)}: {field.references} "
        f"{parent_id} of {origin.value}"
    )


def _refuse_partial_create(
    entity: EntityMapping, origin: Platform, origin_id: int, values: dict[str, Any]
) -> None:
    """A row cannot be created from a change that did not carry every column (a TOASTed value
    left out under REPLICA IDENTITY DEFAULT): refused rather than created with NULLs."""
    if len(values) == len(entity.fields):  # it holds the fields' columns only: every one
        return
    missing = [f.names.on(origin) for f in entity.fields if f.names.on(origin.other) not in values]
    if missing:
        raise PermanentError(
            f"{entity.entity_type} {origin_id}: {', '.join(missing)} not carried by the change "
            f"(unchanged TOASTed value) and the row is not on {origin.other.value} to keep "
            "them: set REPLICA IDENTITY FULL, then tandem reconcile --repair"
        )
