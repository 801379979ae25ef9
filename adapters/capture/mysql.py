"""MySQL/MariaDB change capture: the row-based binlog, read as a replica, as Debezium events."""

from __future__ import annotations

import logging
import os
import time
import zlib
from contextlib import suppress
from typing import Any

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    QueryEvent,
    RotateEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from adapters.capture.binlog import (
    BinlogPosition,
    CompletedTransaction,
    RowChange,
    TransactionBuffer,
    debezium_messages,
    truncated_table,
)
from adapters.capture.checkpoint import BinlogCheckpoint, CheckpointFile
from adapters.capture.errors import CaptureConfigurationError, SlotBusyError
from adapters.capture.mysqlserver import (
    BROKEN_STREAM,
    binlog_sizes,
    check_server,
    connection_settings,
    current_position,
    foreign_checkpoint,
    read_table_types,
    row_changes,
    server_identity,
    translate,
)
from adapters.capture.version import CONNECTOR_VERSION
from adapters.debezium_envelope import TableTypes
from domain.events import Operation
from domain.ports import EventPublisher

log = logging.getLogger("tandem.capture.mysql")

_ROWS = (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)
_EVENTS = [GtidEvent, MariadbGtidEvent, QueryEvent, XidEvent, RotateEvent, HeartbeatLogEvent]
_MARIADB_STANDALONE = 1  # GTID event flag: a DDL or other statement with no COMMIT/XID


class MySQLChangeCapture:
    """Publishes committed row changes of one database; its position is kept in `state_file`."""

    def __init__(
        self,
        dsn: str,
        publisher: EventPublisher,
        state_file: str | os.PathLike[str],
        *,
        topic_prefix: str = "revamp",
        marker_table: str = "tandem_sync_marker",
        server_id: int | None = None,
        heartbeat_s: float = 0.01,
        max_batch_s: float = 0.05,
        max_batch_events: int = 5000,
        read_timeout_s: int = 10,
        tombstones: bool = True,
        schemas: bool = True,
        checkpoint_interval_s: float = 1.0,
    ) -> None:
        self._settings, self.database = connection_settings(dsn)
        self.publisher, self.prefix, self.tombstones = publisher, topic_prefix, tombstones
        self.schemas = schemas  # the JsonConverter's schema wrapper (schemas.enable)
        self._types: dict[str, tuple[int, TableTypes]] = {}  # by table: its table id, types
        self.checkpoint = CheckpointFile(state_file)
        path_hash = zlib.crc32(str(self.checkpoint.path.resolve()).encode())
        self.server_id = server_id or 100_000 + path_hash % 2**30  # unlike the server's own
        self.heartbeat_s, self.max_batch_s = heartbeat_s, max_batch_s
        self.max_batch_events, self.read_timeout_s = max_batch_events, read_timeout_s
        # the checkpoint is written (with fsync) at most this often, and when the capture
        # closes: after a crash the changes since are read and published again, and skipped
        # as duplicates by their event ids (as Kafka Connect commits offsets on an interval)
        self.checkpoint_interval_s = checkpoint_interval_s
        self.buffer = TransactionBuffer(marker_table)
        self._stream: BinLogStreamReader | None = None
        self._saved: BinlogPosition | None = None  # durable in the state file
        self._done: BinlogPosition | None = None  # just after the last transaction handed on
        self._acknowledged: BinlogPosition | None = None  # the broker has everything before it
        self._saved_at = float("-inf")
        self._identity: dict[str, Any] = {}  # of the server, recorded with each checkpoint
        self.more_pending = False  # the last call stopped at a batch limit, not when caught up
        self.skipped_transactions = 0  # the sync service's own: never published

    @property
    def position(self) -> BinlogPosition | None:
        """The position saved in the state file: where a restart resumes."""
        return self._saved

    def prepare(self) -> str:
        """Record the starting position now (as `tandem migrate` does) if there is none."""
        try:
            self.checkpoint.lock()
        except SlotBusyError:
            return f"in use by a running capture ({self.checkpoint.path})"
        try:
            check_server(self._settings, self.server_id)
            saved = self._load_own_checkpoint()
            position = saved.position if saved else current_position(self._settings)
            if saved is None:
                self._save(position)
        except (pymysql.err.OperationalError, *BROKEN_STREAM) as error:
            raise translate(error, None, str(self.checkpoint.path)) from error
        finally:
            self.checkpoint.unlock()
        return f"binlog position {position.file}:{position.pos}"

    def capture_once(self) -> int:
        """Publish what the binlog holds (until idle or a batch limit), flush, save position."""
        published, self.more_pending = 0, True
        try:
            stream = self._connect()
            deadline = time.monotonic() + self.max_batch_s
            while published < self.max_batch_events and time.monotonic() < deadline:
                asked = time.monotonic()
                event = stream.fetchone()
                if isinstance(event, HeartbeatLogEvent):
                    # the server sends one when it had nothing else for heartbeat_s; it says we
                    # are caught up only if we had to wait for it, not when it sat in a buffer
                    if time.monotonic() - asked < self.heartbeat_s / 2:
                        continue
                    event = None
                if event is None:
                    self.more_pending = False
                    break
                done = self._handle(stream, event)
                if done is not None:
                    published += self._publish(done)
        except (pymysql.err.OperationalError, *BROKEN_STREAM) as error:
            with suppress(Exception):  # keep what was read before the break: no re-publishing
                self._save_progress(published)
            self.close()
            raise translate(error, self._saved, str(self.checkpoint.path)) from error
        self._save_progress(published)
        return published

    def _save_progress(self, published: int) -> None:
        if published:
            self.publisher.flush()
        self._acknowledged = self._done
        if time.monotonic() - self._saved_at >= self.checkpoint_interval_s:
            self._save_acknowledged()

    def _save_acknowledged(self) -> None:
        """Save the position the broker has everything before, if it moved."""
        if self._acknowledged is not None and self._acknowledged != self._saved:
            self._save(self._acknowledged)
            self._saved = self._acknowledged
            self._saved_at = time.monotonic()

    def _save(self, position: BinlogPosition) -> None:
        self.checkpoint.save(BinlogCheckpoint.at(position, self._identity))

    def _load_own_checkpoint(self) -> BinlogCheckpoint | None:
        """The saved checkpoint, refused when it was taken from another server."""
        self._identity = server_identity(self._settings)
        saved = self.checkpoint.load()
        if saved is None:
            return None
        why = foreign_checkpoint(saved, self._identity, binlog_sizes(self._settings))
        if why is not None:
            raise CaptureConfigurationError(
                f"capture checkpoint {self.checkpoint.path} is not this server's ({why}): "
                "remove it to capture from the current end, then run `tandem reconcile --repair`"
            )
        return saved

    def check_checkpoint(self) -> None:
        """Refuse, at start, a checkpoint taken from another server."""
        try:
            self._load_own_checkpoint()
        except (pymysql.err.OperationalError, *BROKEN_STREAM) as error:
            raise translate(error, None, str(self.checkpoint.path)) from error

    def close(self) -> None:
        """Disconnect; an unfinished transaction is read again after the next connect."""
        stream, self._stream = self._stream, None
        self.buffer.abandon()
        if stream is not None:
            with suppress(OSError):  # the file is kept as it was: those changes come again
                self._save_acknowledged()
        self.checkpoint.unlock()
        if stream is not None:
            with suppress(pymysql.Error, OSError):
                stream.close()

    @property
    def closed(self) -> bool:
        return self._stream is None

    def _handle(self, stream: BinLogStreamReader, event: Any) -> CompletedTransaction | None:
        end = BinlogPosition(stream.log_file, event.packet.log_pos)
        if isinstance(event, _ROWS):
            if self.buffer.skips(event.table):
                return None
            self._note_table(event.table, event.table_id)
            start = event.packet.log_pos - event.packet.event_size
            for change in row_changes(event, stream.log_file, start):
                self.buffer.add(change)
        elif isinstance(event, MariadbGtidEvent):  # MariaDB: the GTID event begins the group
            self.buffer.note_gtid(event.gtid)
            if not event.flags & _MARIADB_STANDALONE:
                self.buffer.begin()
        elif isinstance(event, GtidEvent):  # MySQL: the GTID event precedes BEGIN
            self.buffer.note_gtid(event.gtid)
        elif isinstance(event, XidEvent):
            return self.buffer.commit(end, event.timestamp * 1000, event.packet.server_id)
        elif isinstance(event, QueryEvent):
            return self._query(stream, event, end)
        elif isinstance(event, RotateEvent) and not self.buffer.open:
            self._done = BinlogPosition(event.next_binlog, event.position)
        return None

    def _query(
        self, stream: BinLogStreamReader, event: QueryEvent, end: BinlogPosition
    ) -> CompletedTransaction | None:
        """BEGIN, COMMIT, a TRUNCATE (Debezium's op "t", a transaction of its own) or other DDL."""
        statement = event.query.strip().upper()
        table = truncated_table(event.query, self.database, _text(getattr(event, "schema", "")))
        if statement in ("BEGIN", "START TRANSACTION"):
            self.buffer.begin()
        elif table is not None:
            start = event.packet.log_pos - event.packet.event_size
            self.buffer.begin()
            self.buffer.add(
                RowChange(table, Operation.TRUNCATE, None, None, (), stream.log_file, start)
            )
            return self.buffer.commit(end, event.timestamp * 1000, event.packet.server_id)
        elif statement == "COMMIT" or not self.buffer.open:  # COMMIT, or DDL on its own
            return self.buffer.commit(end, event.timestamp * 1000, event.packet.server_id)
        return None

    def _publish(self, txn: CompletedTransaction) -> int:
        self._done = txn.position
        self.skipped_transactions += txn.skipped
        if txn.skipped or not txn.changes:
            return 0
        now_ms = int(time.time() * 1000)
        messages = debezium_messages(
            txn, prefix=self.prefix, database=self.database, version=CONNECTOR_VERSION,
            now_ms=now_ms, tombstones=self.tombstones, schemas=self.schemas,
            types_of=self._table_types,
        )  # fmt: skip
        for topic, key, value in messages:
            self.publisher.publish(topic, key, value)
        return len(txn.changes)

    def _note_table(self, table: str, table_id: int) -> None:
        """Read a table's column types when first seen and whenever its table id changes
        (an ALTER gives it a new one)."""
        known = self._types.get(table)
        if known is None or known[0] != table_id:
            self._types[table] = (table_id, read_table_types(self._settings, self.database, table))

    def _table_types(self, table: str) -> TableTypes:
        known = self._types.get(table)
        return known[1] if known is not None else TableTypes({})

    def _connect(self) -> BinLogStreamReader:
        if self._stream is not None:
            return self._stream
        self.buffer.abandon()
        self.checkpoint.lock()  # one capture per state file, as PostgreSQL allows one per slot
        check_server(self._settings, self.server_id)
        saved = self._load_own_checkpoint()
        if saved is None:  # like Debezium's snapshot.mode=never: from the end of the binlog
            self._saved = current_position(self._settings)
            self._save(self._saved)
            log.info("no capture checkpoint: starting at the end of the binlog",
                     extra={"file": self._saved.file, "pos": self._saved.pos})  # fmt: skip
        else:
            self._saved = saved.position
        self._done = self._acknowledged = self._saved
        self._stream = BinLogStreamReader(
            dict(self._settings, read_timeout=self.read_timeout_s, connect_timeout=5),
            server_id=self.server_id, resume_stream=True, blocking=True,
            log_file=self._saved.file, log_pos=self._saved.pos,
            only_events=[*_EVENTS, *_ROWS], only_schemas=[self.database],
            slave_heartbeat=self.heartbeat_s, enable_logging=False,
            # table map parsed once per table id (2.5x faster): an ALTER gives the table a new
            # id, and the library forgets all ids at each binlog rotation (server restart)
            freeze_schema=True,
        )  # fmt: skip
        log.info("binlog capture connected", extra={
            "db": self.database, "file": self._saved.file, "pos": self._saved.pos,
            "server_id": self.server_id})  # fmt: skip
        return self._stream


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
