"""The TargetStore of a SQL database: rows, links and processed events in one transaction."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from adapters.sql import waiting
from adapters.sql.driver_sql import DriverSql
from adapters.sql.errors import translated
from adapters.sql.known_rows import KnownRows
from adapters.sql.marking import MySQLMarking, PostgresMarking
from adapters.sql.row_writes import PendingRowWrites
from adapters.sql.tables import SchemaTables
from domain.errors import ConstraintViolationError
from domain.events import SYNC_SERVICE, Platform, SyncEvent
from domain.mapping import EntityMapping, SchemaMapping
from domain.model import EntityLink, ParentKey, ParkedChild, StoredRow

Marking = PostgresMarking | MySQLMarking


def marking_for(engine: Engine, tables: SchemaTables) -> Marking:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return PostgresMarking(use_origin=PostgresMarking.origin_exists(conn))
    return MySQLMarking(tables)


class SqlTargetStore:
    """A PostgreSQL or MySQL database as the sync writes to it."""

    def __init__(self, engine: Engine, platform: Platform, mapping: SchemaMapping) -> None:
        self.engine = engine
        self.platform = platform
        self.mapping = mapping
        self.tables = SchemaTables(mapping, platform)
        self.sql = DriverSql(engine.dialect, self.tables)
        self._marking: Marking | None = None

    @property
    def marking(self) -> Marking:
        if self._marking is None:
            with translated(f"{self.platform.value} database"):
                self._marking = marking_for(self.engine, self.tables)
        return self._marking

    @contextmanager
    def transaction(self) -> Iterator[SqlSession]:
        where = f"{self.platform.value} database"
        marking = self.marking
        with translated(where), self.engine.connect() as conn:
            try:
                with conn.begin():
                    marking.begin(conn)
                    session = SqlSession(conn, self.tables, marking, self.platform, self.sql)
                    yield session
                    session.flush()
                    marking.close(conn)
            finally:
                if not conn.invalidated:
                    marking.end(conn)

    def read_links(
        self, entity_type: str, platform: Platform, ids: Collection[int]
    ) -> dict[int, EntityLink]:
        if not ids:
            return {}
        with translated(f"{self.platform.value} entity_mappings"), self.engine.connect() as conn:
            return self.sql.links(conn, entity_type, platform, ids)

    def read_many_links(
        self, platform: Platform, wanted: Mapping[str, Collection[int]]
    ) -> dict[str, dict[int, EntityLink]]:
        wanted = {entity_type: ids for entity_type, ids in wanted.items() if ids}
        if not wanted:
            return {}
        with translated(f"{self.platform.value} entity_mappings"), self.engine.connect() as conn:
            return {kind: self.sql.links(conn, kind, platform, ids) for kind, ids in wanted.items()}

    def all_links(self, entity_type: str) -> list[EntityLink]:
        with translated(f"{self.platform.value} entity_mappings"), self.engine.connect() as conn:
            return list(self.sql.links(conn, entity_type, Platform.LEGACY, None).values())

    def parked_count(self) -> int:
        with translated(f"{self.platform.value} waiting children"), self.engine.connect() as conn:
            return waiting.count(conn, self.tables)

    def parked_for(
        self,
        parents: Collection[ParentKey],
        linked_from: Platform | None,
        expired_before: float | None,
    ) -> list[ParkedChild]:
        with translated(f"{self.platform.value} waiting children"), self.engine.connect() as conn:
            return waiting.released(conn, self.tables, parents, linked_from, expired_before)

    def parked_keys(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], ParentKey]:
        with translated(f"{self.platform.value} waiting children"), self.engine.connect() as conn:
            return waiting.keys(conn, self.tables, keys)

    def parked_ids(self, event_ids: Collection[str]) -> set[str]:
        with translated(f"{self.platform.value} waiting children"), self.engine.connect() as conn:
            return waiting.ids(conn, self.tables, event_ids)

    def parked_offsets(self) -> dict[tuple[str, int], int]:
        with translated(f"{self.platform.value} waiting children"), self.engine.connect() as conn:
            return waiting.lowest_offsets(conn, self.tables)

    def last_processed_at(self) -> datetime | None:
        processed = self.tables.processed
        newest = select(func.max(processed.c.processed_at))
        with translated(f"{self.platform.value} processed_events"), self.engine.connect() as conn:
            last = conn.execute(newest).scalar()
        return None if last is None else last.replace(tzinfo=UTC)  # stored as naive UTC

    def forget_links(self, entity_type: str, platform: Platform, ids: Collection[int]) -> int:
        if not ids:
            return 0
        links = self.tables.links
        id_column = links.c.legacy_id if platform is Platform.LEGACY else links.c.revamp_id
        condition = and_(links.c.entity_type == entity_type, id_column.in_(list(ids)))
        with translated(f"{self.platform.value} entity_mappings"), self.engine.begin() as conn:
            return int(conn.execute(links.delete().where(condition)).rowcount)


LinkKey = tuple[str, Platform, int]
_PLATFORMS = tuple(Platform)  # iterating the enum itself is several times slower


class SqlSession:
    """One sync transaction, the TargetSession of SQL (ProcessedEvents, EntityLinks, TargetRows,
    WaitingChildren, TransactionControl). Links are cached and, like processed events,
    written at flush in one multi-row statement each; an undo log keeps both right when a
    savepoint rolls back. Updates and deletes of rows read in the transaction are held back
    and written set-based before anything that could see them (a read, an insert, a
    savepoint, the commit)."""

    def __init__(
        self,
        conn: Connection,
        tables: SchemaTables,
        marking: Marking,
        platform: Platform,
        sql: DriverSql | None = None,
    ) -> None:
        self.conn = conn
        self.tables = tables
        self.marking = marking
        self.platform = platform
        self.sql = sql or DriverSql(conn.dialect, tables)
        self.pending_processed: list[tuple[str, str, str]] = []  # event id, entity type, origin
        self.pending_links: dict[tuple[str, int], EntityLink] = {}
        self.known_links: dict[LinkKey, EntityLink | None] = {}
        # (entity type, legacy id) -> whether the database holds that link (as read here)
        self.stored_links: dict[tuple[str, int], bool] = {}
        self.undo: list[Callable[[], object]] = []
        self.savepoints = 0  # open savepoints: only their rollback needs the undo log
        # rows read in this transaction: locked FOR UPDATE, so only our own writes change them
        self.known_rows = KnownRows(tables.mapping, platform)
        # entity type -> (natural key columns, values) -> the row id holding them, or None
        self.known_keys: dict[str, dict[tuple[tuple[str, ...], tuple[Any, ...]], int | None]] = {}
        self.row_writes = PendingRowWrites(conn, tables, platform, self.sql)

    def processed(self, event_ids: Collection[str]) -> set[str]:
        if not event_ids:
            return set()
        found = self.sql.processed(self.conn, list(event_ids))
        if self.pending_processed:
            found |= {p[0] for p in self.pending_processed} & set(event_ids)
        return found

    def mark_processed(self, event: SyncEvent) -> None:
        self.pending_processed.append((event.event_id, event.entity_type, event.origin.value))
        if self.savepoints:
            self.undo.append(self.pending_processed.pop)

    def links(
        self, entity_type: str, platform: Platform, ids: Collection[int]
    ) -> dict[int, EntityLink]:
        if len(ids) == 1:  # the usual call, once per event: without the comprehensions
            (row_id,) = ids
            key = (entity_type, platform, row_id)
            if key in self.known_links:
                link = self.known_links[key]
                return {} if link is None else {row_id: _copied(link)}
        unknown = [i for i in ids if (entity_type, platform, i) not in self.known_links]
        if unknown:
            found = self.sql.links(self.conn, entity_type, platform, unknown, lock=True)
            for row_id in unknown:
                self._remember((entity_type, platform, row_id), found.get(row_id))
            self._note_stored(entity_type, platform, unknown, found.values())
        return {
            i: _copied(link)
            for i in ids
            if (link := self.known_links[(entity_type, platform, i)]) is not None
        }

    def all_links(self, entity_type: str) -> list[EntityLink]:
        found = self.sql.links(self.conn, entity_type, Platform.LEGACY, None, lock=True)
        for link in found.values():
            for platform in _PLATFORMS:
                self._remember((entity_type, platform, link.id_on(platform)), link)
        self._note_stored(entity_type, Platform.REVAMP, (), found.values())
        return [_copied(link) for link in found.values()]

    def _note_stored(
        self,
        entity_type: str,
        platform: Platform,
        ids: Collection[int],
        found: Collection[EntityLink],
    ) -> None:
        """Which links the database holds, by their (entity type, legacy id) key: saving one
        updates it then, else inserts it (MySQL: no ON DUPLICATE KEY, which the other unique
        key, (entity type, revamp id), could send to another row)."""
        if platform is Platform.LEGACY:
            for row_id in ids:
                self.stored_links.setdefault((entity_type, row_id), False)
        for link in found:
            self.stored_links[(entity_type, link.legacy_id)] = True

    def save_link(self, link: EntityLink) -> None:
        saved = _copied(link)
        self._set_undoably(self.pending_links, (link.entity_type, link.legacy_id), saved)
        replaced = self.known_links.get((link.entity_type, Platform.LEGACY, link.legacy_id))
        if replaced is not None and replaced.revamp_id != link.revamp_id:
            self._remember((link.entity_type, Platform.REVAMP, replaced.revamp_id), None)
        for platform in _PLATFORMS:
            self._remember((link.entity_type, platform, link.id_on(platform)), saved)

    def _remember(self, key: LinkKey, link: EntityLink | None) -> None:
        self._set_undoably(self.known_links, key, link)

    def _set_undoably(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        """table[key] = value, with an undo that a savepoint's rollback runs (outside any
        savepoint a failure rolls the whole transaction back, and the session with it)."""
        if not self.savepoints:
            table[key] = value
            return
        had, previous = key in table, table.get(key)
        table[key] = value

        def forget() -> None:
            if had:
                table[key] = previous
            else:
                table.pop(key, None)

        self.undo.append(forget)

    def rows(self, entity: EntityMapping, ids: Collection[int]) -> dict[int, StoredRow]:
        kind = entity.entity_type
        unknown = [i for i in ids if not self.known_rows.complete((kind, i))]
        if unknown:
            self.write_pending()
            key = entity.key.on(self.platform)
            version = entity.version_column(self.platform)
            rows = self.sql.select_rows(self.conn, self.tables.of(entity), key, unknown)
            found = {int(r[key]): StoredRow.of(r, version, entity.source_column) for r in rows}
            for row_id in unknown:
                self.known_rows.remember((kind, row_id), found.get(row_id))
        return {i: row for i in ids if (row := self.known_rows[(kind, i)]) is not None}

    def existing(self, entity: EntityMapping, ids: Collection[int]) -> set[int]:
        """Locked as `rows` locks them, reading only the key and the foreign keys (what a
        delete's cascade in the session follows); `rows` reads the rest when asked."""
        kind = entity.entity_type
        unknown = [i for i in ids if (kind, i) not in self.known_rows]
        if unknown:
            self.write_pending()
            key = entity.key.on(self.platform)
            columns = [key, *(f.names.on(self.platform) for f in entity.foreign_keys)]
            table = self.tables.of(entity)
            rows = self.sql.select_rows(self.conn, table, key, unknown, columns)
            found = {int(r[key]): r for r in rows}
            for row_id in unknown:
                values = found.get(row_id)
                row = None if values is None else StoredRow(values, 0, None)
                self.known_rows.remember((kind, row_id), row, partial=True)
        return {i for i in ids if self.known_rows[(kind, i)] is not None}

    def find_by(self, entity: EntityMapping, values: Mapping[str, Any]) -> int | None:
        columns, wanted = tuple(values), tuple(values.values())
        known = self.known_keys.get(entity.entity_type, {})
        if (columns, wanted) not in known:
            self.find_many(entity, columns, [wanted])
        return self.known_keys[entity.entity_type][(columns, wanted)]

    def find_many(
        self, entity: EntityMapping, columns: tuple[str, ...], values: Collection[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], int]:
        self.write_pending()
        table = self.tables.of(entity)
        key = entity.key.on(self.platform)
        found = self.sql.find_keys(self.conn, table, key, columns, values) if values else {}
        known = self.known_keys.setdefault(entity.entity_type, {})
        loose: set[tuple[Any, ...]] | None = None  # the found values, loosely: once
        for wanted in values:
            match = found.get(wanted)
            if match is None and found:
                loose = {_loose(v) for v in found} if loose is None else loose
            if match is None and loose is not None and _loose(wanted) in loose:
                # a row equal but for case, accents or trailing spaces: whether it matches is
                # the column collation's to say (utf8mb4_bin: no; a *_ci one: yes)
                match = self._find_one(entity, columns, wanted)
            known[(columns, wanted)] = match
        return {v: i for v in values if (i := known[(columns, v)])}

    def _find_one(
        self, entity: EntityMapping, columns: tuple[str, ...], wanted: tuple[Any, ...]
    ) -> int | None:
        table = self.tables.of(entity)
        key = table.c[entity.key.on(self.platform)]
        equal = and_(*(table.c[c] == v for c, v in zip(columns, wanted, strict=True)))
        found = self.conn.execute(select(key).where(equal).limit(1).with_for_update()).first()
        return None if found is None else int(found[0])

    def insert(self, entity: EntityMapping, values: Mapping[str, Any]) -> int:
        self.write_pending()
        result = self.conn.execute(self.tables.of(entity).insert().values(**values))
        row_id = int(result.inserted_primary_key[0])
        self._inserted(entity, row_id, values)
        return row_id

    def insert_many(self, entity: EntityMapping, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """One multi-row INSERT .. RETURNING where the server has it (PostgreSQL, MariaDB
        10.5+); one INSERT per row on MySQL 8."""
        self.write_pending()
        dialect = self.conn.dialect
        if len(rows) < 2 or not dialect.insert_returning:
            return [self.insert(entity, values) for values in rows]
        key = entity.key.on(self.platform)
        new_ids = self.sql.insert_returning(self.conn, self.tables.of(entity), key, rows)
        if len(new_ids) != len(rows) or len(set(new_ids)) != len(rows):
            raise ConstraintViolationError(f"{entity.entity_type}: multi-row insert lost rows")
        for row_id, values in zip(new_ids, rows, strict=True):
            self._inserted(entity, row_id, values)
        return new_ids

    def _inserted(self, entity: EntityMapping, row_id: int, values: Mapping[str, Any]) -> None:
        # as the triggers keep a sync write: its own values, written by the sync service
        row = {**values, entity.key.on(self.platform): row_id, entity.source_column: SYNC_SERVICE}
        version = entity.version_column(self.platform)
        self.known_rows.remember(
            (entity.entity_type, row_id), StoredRow.of(row, version, entity.source_column)
        )
        known = self.known_keys.setdefault(entity.entity_type, {})
        for columns in entity.natural_keys(self.platform):
            if all(values.get(c) is not None for c in columns):
                known[(columns, tuple(values[c] for c in columns))] = row_id

    def update(self, entity: EntityMapping, row_id: int, values: Mapping[str, Any]) -> bool:
        known = self.known_rows.get((entity.entity_type, row_id), _UNKNOWN)
        if known is None:
            return False
        if isinstance(known, StoredRow):  # read and locked here: held back, written set-based
            self.row_writes.update(entity, row_id, dict(values))
            row = {**known.values, **values, entity.source_column: SYNC_SERVICE}
            version = entity.version_column(self.platform)
            key = (entity.entity_type, row_id)
            self.known_rows.remember(
                key,
                StoredRow.of(row, version, entity.source_column),
                partial=key in self.known_rows.partial,  # still not read whole
            )
            self.known_keys.pop(entity.entity_type, None)
            return True
        self.write_pending()
        table = self.tables.of(entity)
        key = table.c[entity.key.on(self.platform)]
        result = self.conn.execute(table.update().where(key == row_id).values(**values))
        self.known_rows.forget((entity.entity_type, row_id))
        self.known_keys.pop(entity.entity_type, None)
        return bool(result.rowcount)  # MySQL counts matched rows (CLIENT_FOUND_ROWS)

    def delete(self, entity: EntityMapping, row_id: int) -> bool:
        known = self.known_rows.get((entity.entity_type, row_id), _UNKNOWN)
        if known is None:
            return False
        if isinstance(known, StoredRow):  # read and locked here: held back, written set-based
            self.row_writes.delete(entity, row_id)
            for touched in self.known_rows.deleted((entity.entity_type, row_id)):
                self.known_keys.pop(touched, None)
            return True
        self.write_pending()
        table = self.tables.of(entity)
        key = table.c[entity.key.on(self.platform)]
        deleted = bool(self.conn.execute(table.delete().where(key == row_id)).rowcount)
        self.known_rows.clear()  # the delete may have cascaded to other tables
        self.known_keys.clear()
        return deleted

    def write_pending(self) -> None:
        """Send the updates and deletes held back."""
        if self.row_writes:
            self.row_writes.send()

    def park_children(self, children: Sequence[ParkedChild]) -> None:
        if children:
            waiting.park(self.conn, self.tables, self.marking, children)

    def unpark_children(self, event_ids: Collection[str]) -> None:
        if event_ids:
            waiting.unpark(self.conn, self.tables, event_ids)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.write_pending()  # what came before is not this scope's
        mark = len(self.undo)
        self.savepoints += 1
        try:
            with translated(f"{self.platform.value} database"), self.conn.begin_nested():
                yield
                self.write_pending()
        except BaseException:
            self.row_writes.discard()
            while len(self.undo) > mark:
                self.undo.pop()()
            self.known_rows.clear()  # what the rolled-back writes changed is read again
            self.known_keys.clear()
            raise
        finally:
            self.savepoints -= 1

    def flush(self) -> None:
        """Write the links and processed events of the transaction, one statement each."""
        self.write_pending()
        now = _utcnow()
        if self.pending_links:
            links = list(self.pending_links.values())
            self.sql.save_links(self.conn, links, now, self.stored_links)
        if self.pending_processed:
            self.sql.mark_processed(self.conn, self.pending_processed, now)
        self.pending_links, self.pending_processed, self.undo = {}, [], []


_UNKNOWN = object()


def _copied(link: EntityLink) -> EntityLink:
    """A copy the caller may change (copy.copy of a slotted class is several times slower)."""
    return EntityLink(
        link.entity_type, link.legacy_id, link.revamp_id, link.applied_version,
        link.rejected_version, link.deleted,
    )  # fmt: skip


def _loose(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values ignoring case, accents and trailing spaces."""
    return tuple(
        "".join(c for c in unicodedata.normalize("NFKD", v) if not unicodedata.combining(c))
        .casefold()
        .rstrip()
        if isinstance(v, str)
        else v
        for v in values
    )


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
