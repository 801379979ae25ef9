"""PostgreSQL change capture: the slot's pgoutput stream (replication protocol), as Debezium."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import suppress
from typing import Any, TypeVar

import psycopg
import psycopg2

from adapters.capture import pgslot
from adapters.capture.errors import SourceUnavailableError
from adapters.capture.pgchanges import PgChangeDecoder, replica_identity_key
from adapters.capture.pgmessages import Relation, format_lsn
from adapters.capture.pgslot import SlotLag
from adapters.capture.pgstream import ReplicationStream
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
        tombstones: bool = True,
        schemas: bool = True,
        connect_timeout_s: int = 5,
        catch_up_wait_s: float = 2.0,
        stall_timeout_s: float = 60.0,
        pass_s: float = 0.05,
        quiet_s: float = 0.005,
    ) -> None:
        self._conninfo, self.publisher = pgslot.libpq_dsn(dsn), publisher
        self.prefix, self.slot, self.publication = topic_prefix, slot, publication
        self.skip_origins, self.tombstones = tuple(skip_origins), tombstones
        self.schemas = schemas  # the JsonConverter's schema wrapper (schemas.enable)
        self.batch_changes, self.connect_timeout_s = batch_changes, connect_timeout_s
        # a pass reads until the stream reaches the WAL flushed at its start, waiting at most
        # `catch_up_wait_s`; a transaction must not pause for `stall_timeout_s` (the server
        # sends it whole, once committed)
        self.catch_up_wait_s, self.stall_timeout_s = catch_up_wait_s, stall_timeout_s
        self.pass_s, self.quiet_s = pass_s, quiet_s
        self._conn: psycopg.Connection[Any] | None = None  # catalog reads
        self._stream: ReplicationStream | None = None
        self._decoder: PgChangeDecoder | None = None
        self._keys: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}
        self._types: dict[tuple[int, tuple[Any, ...]], TableTypes] = {}
        self.confirmed_lsn = 0  # the slot's confirmed_flush_lsn, as far as this process knows
        self.skipped_transactions = 0  # the sync service's own: never published
        # the last pass ended before it had read all that was committed when it began (the
        # `batch_changes` or `pass_s` limit, or the server was slow to send): read on at once
        self.more_pending = False

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
            pgslot.drop_slot(conn, self.slot)

    def capture_once(self) -> int:
        """Publish every change committed up to now (and what arrives meanwhile, up to
        `batch_changes`), flush, then confirm the slot's new position; the count."""
        return self._translated("capture", self._capture)

    def wait_for_changes(self, timeout_s: float) -> bool:
        """Wait until the stream has something, at most `timeout_s`; False, without waiting,
        when there is no stream (yet) to wait on."""
        if self._stream is None:
            return False
        self._stream.wait(timeout_s)
        return True

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
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
        if conn is not None and not conn.closed:
            with suppress(psycopg.Error):  # already broken: nothing left to release
                conn.close()

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _capture(self) -> int:
        conn, decoder, stream = self._connect()
        upto = pgslot.current_flush_lsn(conn)  # every transaction committed before this pass
        rows = self._read(stream, decoder, upto)
        self.more_pending = rows >= self.batch_changes or not self._reached(upto, stream, decoder)
        stats = decoder.reset()
        self.skipped_transactions += stats.skipped
        if stats.published:
            self.publisher.flush()  # the broker has every event before the slot moves past them
        # between transactions, every message before the stream's position has been read
        # (published or filtered): confirming it loses nothing and frees the WAL
        target = max(stats.last_commit_end or 0, stream.position)
        if target > self.confirmed_lsn:
            stream.confirm(target)
            self.confirmed_lsn = target
        if stats.committed:
            log.debug("captured", extra={
                "slot": self.slot, "published": stats.published, "rows": rows,
                "transactions": stats.committed, "skipped_transactions": stats.skipped,
                "confirmed_lsn": format_lsn(self.confirmed_lsn)})  # fmt: skip
        return stats.published

    def _read(self, stream: ReplicationStream, decoder: PgChangeDecoder, upto: int) -> int:
        """Feed the decoder until the stream reaches `upto` (or `catch_up_wait_s` passed), and
        on while changes keep coming; `pass_s` and `batch_changes` end a pass sooner (then
        `more_pending` says so); always at the end of a transaction. Events reach the broker
        as they are published (the producer's linger), not at the pass's flush, which only
        gates the slot's confirmation."""
        started = last_read = time.monotonic()
        rows = 0
        while True:
            now = time.monotonic()
            if decoder.in_transaction:  # a pass ends between transactions only
                timeout = last_read + self.stall_timeout_s - now
            elif rows >= self.batch_changes or (rows and now >= started + self.pass_s):
                break
            elif self._reached(upto, stream, decoder):
                # caught up with the pass's start: idle, end now; else take what keeps coming
                # (a pause of `quiet_s` ends the pass) for at most `pass_s`, so that the flush,
                # the catalog query and the feedback of a pass serve many transactions
                timeout = min(self.quiet_s, started + self.pass_s - now) if rows else 0.0
            else:
                timeout = started + self.catch_up_wait_s - now
            message = stream.read(max(timeout, 0.0))
            if message is None:
                if not decoder.in_transaction:
                    break
                if time.monotonic() - last_read >= self.stall_timeout_s:
                    raise SourceUnavailableError(
                        f"replication stream of slot {self.slot!r}: nothing for "
                        f"{self.stall_timeout_s:.0f} s inside a transaction"
                    )
                continue  # a keepalive: the rest of the transaction is on its way
            last_read = time.monotonic()
            rows += 1
            decoder.feed(*message)
        return rows

    def _reached(self, lsn: int, stream: ReplicationStream, decoder: PgChangeDecoder) -> bool:
        done = max(self.confirmed_lsn, stream.position, decoder.stats.last_commit_end or 0)
        return done >= lsn

    def _connect(self) -> tuple[psycopg.Connection[Any], PgChangeDecoder, ReplicationStream]:
        conn, decoder, stream = self._conn, self._decoder, self._stream
        if conn is not None and decoder is not None and stream is not None and not conn.broken:
            return conn, decoder, stream
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
        self._stream = ReplicationStream(
            self._conninfo, self.slot, self.publication,
            application_name=f"tandem-cdc-{self.prefix}", connect_timeout_s=self.connect_timeout_s,
        )  # fmt: skip
        log.info("capture connected", extra={
            "slot": self.slot, "db": conn.info.dbname,
            "confirmed_lsn": format_lsn(self.confirmed_lsn)})  # fmt: skip
        return conn, self._decoder, self._stream

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
        except (psycopg.Error, psycopg2.Error) as error:  # SQL, and the replication stream
            self.close()
            translated = pgslot.translate(error, self.slot, action)
            if translated is None:
                raise
            raise translated from error
        except BaseException:  # the stream may have stopped inside a transaction: start over
            self.close()
            raise
