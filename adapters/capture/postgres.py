"""PostgreSQL change capture: pgoutput logical decoding through the SQL interface, as Debezium."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from contextlib import closing, suppress
from typing import Any, TypeVar

import psycopg

from adapters.capture import pgslot
from adapters.capture.pgchanges import PgChangeDecoder, replica_identity_key
from adapters.capture.pgmessages import Relation, format_lsn
from adapters.capture.pgslot import SlotLag
from adapters.capture.pgtypes import column_default, connect_type
from adapters.capture.version import CONNECTOR_VERSION
from adapters.debezium_envelope import TableTypes
from domain.events import SYNC_ORIGIN
from domain.ports import EventPublisher

log = logging.getLogger("tandem.capture.postgres")
T = TypeVar("T")


class PostgresChangeCapture:
    """Publishes the committed changes of the slot's publication as Debezium events."""

    def __init__(
        self,
        dsn: str,
        publisher: EventPublisher,
        *,
        topic_prefix: str = "legacy",
        slot: str = "tandem_legacy",
        publication: str = "tandem_legacy",
        skip_origins: Collection[str] = (SYNC_ORIGIN,),
        batch_changes: int = 5000,
        fetch_rows: int = 1000,
        tombstones: bool = True,
        schemas: bool = True,
        connect_timeout_s: int = 5,
    ) -> None:
        self._conninfo, self.publisher = pgslot.libpq_dsn(dsn), publisher
        self.prefix, self.slot, self.publication = topic_prefix, slot, publication
        self.skip_origins, self.tombstones = tuple(skip_origins), tombstones
        self.schemas = schemas  # the JsonConverter's schema wrapper (schemas.enable)
        self.batch_changes, self.fetch_rows = batch_changes, fetch_rows
        self.connect_timeout_s = connect_timeout_s
        self._conn: psycopg.Connection[Any] | None = None
        self._decoder: PgChangeDecoder | None = None
        self._keys: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}
        self._types: dict[tuple[int, tuple[Any, ...]], TableTypes] = {}
        self.confirmed_lsn = 0  # the slot's confirmed_flush_lsn, as far as this process knows
        self.skipped_transactions = 0  # the sync service's own: never published
        self.more_pending = False  # the last poll stopped at `batch_changes`: poll again now

    def prepare(self) -> str:
        """Create the slot now (as `tandem migrate` does), so capture misses nothing after."""

        def create() -> int:
            with pgslot.connect(self._conninfo, "tandem-migrate", self.connect_timeout_s) as conn:
                return pgslot.ensure_slot(conn, self.slot, self.publication)

        return f"slot {self.slot} at {format_lsn(self._translated('prepare', create))}"

    def drop_slot(self) -> None:
        """Remove the slot (and the WAL it retains): capture starts over from the end."""
        self.close()
        with pgslot.connect(self._conninfo, "tandem-migrate", self.connect_timeout_s) as conn:
            conn.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                " WHERE slot_name = %s",
                (self.slot,),
            )

    def capture_once(self) -> int:
        """Publish every change committed up to now, flush, then advance the slot; the count."""
        return self._translated("capture", self._capture)

    def slot_lag(self) -> SlotLag:
        """How much WAL the slot retains and how much of it is not yet confirmed.

        Uses a connection of its own, so that it may be called from another thread (status).
        """
        try:
            with pgslot.connect(self._conninfo, "tandem-status", self.connect_timeout_s) as conn:
                return pgslot.slot_lag(conn, self.slot)
        except psycopg.Error as error:
            translated = pgslot.translate(error, self.slot, "slot_lag")
            if translated is None:
                raise
            raise translated from error

    def close(self) -> None:
        """Drop the connection; the slot keeps the position last confirmed."""
        conn, self._conn, self._decoder = self._conn, None, None
        if conn is not None and not conn.closed:
            with suppress(psycopg.Error):  # already broken: nothing left to release
                conn.close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _capture(self) -> int:
        conn, decoder = self._connect()
        decoder.reset()  # a failed attempt may have left a half-read transaction behind
        upto = pgslot.current_flush_lsn(conn)  # read BEFORE peeking: see the advance below
        if upto <= self.confirmed_lsn:
            self.more_pending = False
            return 0  # no WAL since the last poll: spare the server a decoding pass
        rows = 0
        peeked = pgslot.peek(
            conn, self.slot, self.publication, upto, self.batch_changes, self.fetch_rows
        )
        with closing(peeked):  # ends the peek's transaction even when publishing fails
            for lsn, data in peeked:
                rows += 1
                decoder.feed(lsn, data)
        if decoder.in_transaction:  # never expected: a peek returns whole transactions
            log.warning("peek ended inside a transaction", extra={"slot": self.slot})
        stats = decoder.reset()
        self.skipped_transactions += stats.skipped
        if stats.published:
            self.publisher.flush()  # the broker has every event before the slot moves past them
        target = stats.last_commit_end or 0
        self.more_pending = rows >= self.batch_changes
        if not self.more_pending:
            # decoding reached `upto`: every transaction that committed before it was just read
            # (published or filtered), so confirming up to it loses nothing and frees the WAL
            target = max(target, upto)
        if target > self.confirmed_lsn:
            pgslot.advance(conn, self.slot, target)
            self.confirmed_lsn = target
        if stats.committed:
            log.debug("captured", extra={
                "slot": self.slot, "published": stats.published, "rows": rows,
                "transactions": stats.committed, "skipped_transactions": stats.skipped,
                "confirmed_lsn": format_lsn(self.confirmed_lsn)})  # fmt: skip
        return stats.published

    def _connect(self) -> tuple[psycopg.Connection[Any], PgChangeDecoder]:
        if self._conn is not None and self._decoder is not None and not self._conn.broken:
            return self._conn, self._decoder
        self.close()
        self._conn = conn = pgslot.connect(
            self._conninfo, f"tandem-cdc-{self.prefix}", self.connect_timeout_s
        )
        self.confirmed_lsn = pgslot.ensure_slot(conn, self.slot, self.publication)
        self._decoder = PgChangeDecoder(
            self.publisher.publish, topic_prefix=self.prefix, database=conn.info.dbname,
            skip_origins=self.skip_origins, primary_key=self._primary_key,
            tombstones=self.tombstones, schemas=self.schemas, table_types=self._table_types,
            version=CONNECTOR_VERSION,
        )  # fmt: skip
        log.info("capture connected", extra={
            "slot": self.slot, "db": conn.info.dbname,
            "confirmed_lsn": format_lsn(self.confirmed_lsn)})  # fmt: skip
        return conn, self._decoder

    def _primary_key(self, relation: Relation) -> Sequence[str]:
        cache_key = (relation.oid, tuple(c.name for c in relation.columns))
        if cache_key not in self._keys:
            assert self._conn is not None
            names = pgslot.primary_key(self._conn, relation.oid)
            if not names and relation.replica_identity == "i":  # a unique index stands in
                names = tuple(replica_identity_key(relation))
            self._keys[cache_key] = names
        return self._keys[cache_key]

    def _table_types(self, relation: Relation) -> TableTypes:
        """Debezium's types of the relation's columns, with nullability and enum labels from
        the catalog, read again whenever the Relation message changes."""
        shape = tuple((c.name, c.type_oid, c.type_modifier) for c in relation.columns)
        cache_key = (relation.oid, shape)
        if cache_key not in self._types:
            assert self._conn is not None
            facts = pgslot.column_facts(self._conn, relation.oid)
            unknown = pgslot.ColumnFacts(False, (), None)
            types = {
                c.name: connect_type(c.type_oid, c.type_modifier, facts.get(c.name, unknown)[1])
                for c in relation.columns
            }
            not_null = frozenset(name for name, fact in facts.items() if fact.not_null)
            defaults = {
                name: encoded
                for name, fact in facts.items()
                if name in types
                and (encoded := column_default(fact.default, types[name], fact.not_null))
                is not None
            }
            self._types[cache_key] = TableTypes(types, not_null, defaults)
        return self._types[cache_key]

    def _translated(self, action: str, work: Callable[[], T]) -> T:
        try:
            return work()
        except psycopg.Error as error:
            translated = pgslot.translate(error, self.slot, action)
            self.close()
            if translated is None:
                raise
            raise translated from error
