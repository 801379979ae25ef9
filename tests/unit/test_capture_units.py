"""Built-in change capture without databases: pgoutput parsing, echo filtering, checkpoints."""

from __future__ import annotations

import json
import os
import struct
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg2.errors
import psycopg2.extensions
import pytest
from pymysqlreplication.event import MariadbGtidEvent, QueryEvent, RotateEvent, XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent
from sqlalchemy import make_url

from adapters import connect_types
from adapters.capture import pgslot, pgstream, pgtypes, postgres
from adapters.capture.binlog import (
    BinlogPosition,
    RowChange,
    TransactionBuffer,
    debezium_messages,
)
from adapters.capture.checkpoint import BinlogCheckpoint, CheckpointFile
from adapters.capture.errors import (
    CaptureConfigurationError,
    SlotBusyError,
    SourceUnavailableError,
)
from adapters.capture.mysql import MySQLChangeCapture
from adapters.capture.pgchanges import UNAVAILABLE, PgChangeDecoder
from adapters.capture.pgmessages import (
    UNCHANGED,
    Begin,
    Delete,
    Insert,
    Origin,
    PgOutputError,
    Relation,
    Truncate,
    Update,
    format_lsn,
    parse_lsn,
)
from adapters.capture.pgoutput import parse
from adapters.capture.postgres import PostgresChangeCapture
from adapters.capture.runner import CaptureRunner
from adapters.debezium import DebeziumCodec
from adapters.debezium_envelope import TableTypes
from domain.events import Operation

# --- hand-built pgoutput messages -----------------------------------------------------------

USERS_OID = 16392
COMMIT_US = 1_000_000  # one second after 2000-01-01
COMMIT_MS = 946_684_801_000


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def begin(xid: int = 700, final_lsn: int = 0x100) -> bytes:
    return b"B" + struct.pack("!QqI", final_lsn, COMMIT_US, xid)


def commit(end_lsn: int, commit_lsn: int = 0x1F0) -> bytes:
    return b"C" + struct.pack("!BQQq", 0, commit_lsn, end_lsn, COMMIT_US)


def origin(name: str = "tandem_sync") -> bytes:
    return b"O" + struct.pack("!Q", 0) + cstr(name)


USERS_COLUMNS = [("id", 23), ("username", 1043), ("bio", 25), ("active", 16), ("updated_at", 1114)]


def relation(oid: int = USERS_OID, name: str = "legacy_users", identity: bytes = b"f") -> bytes:
    body = struct.pack("!I", oid) + cstr("public") + cstr(name) + identity
    body += struct.pack("!H", len(USERS_COLUMNS))
    for column, type_oid in USERS_COLUMNS:
        body += struct.pack("!B", 1) + cstr(column) + struct.pack("!Ii", type_oid, -1)
    return b"R" + body


def tuple_data(*values: str | object | None) -> bytes:
    out = struct.pack("!H", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is UNCHANGED:
            out += b"u"
        else:
            data = str(value).encode()
            out += b"t" + struct.pack("!i", len(data)) + data
    return out


ROW_1 = ("1", "ann", "hello", "t", "2024-05-06 07:08:09.123456")
ROW_1B = ("1", "anna", "hello", "f", "2024-05-06 07:08:10")


def insert(*values: Any, oid: int = USERS_OID) -> bytes:
    return b"I" + struct.pack("!I", oid) + b"N" + tuple_data(*values)


def update(old: tuple[Any, ...] | None, new: tuple[Any, ...], kind: bytes = b"O") -> bytes:
    old_part = b"" if old is None else kind + tuple_data(*old)
    return b"U" + struct.pack("!I", USERS_OID) + old_part + b"N" + tuple_data(*new)


def delete(*values: Any, kind: bytes = b"O") -> bytes:
    return b"D" + struct.pack("!I", USERS_OID) + kind + tuple_data(*values)


class ListPublisher:
    """EventPublisher fake: keeps what was published and what was flushed."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, bytes | None, bytes | None]] = []
        self.flushed: list[tuple[str, bytes | None, bytes | None]] = []
        self.calls: list[str] = []

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.queued.append((topic, key, value))

    def flush(self) -> None:
        self.calls.append("flush")
        self.flushed.extend(self.queued)
        self.queued.clear()

    def values(self) -> list[dict[str, Any]]:
        """The payloads published, without the schema wrapper."""
        return [payload(v) for _, _, v in self.flushed + self.queued if v is not None]


def payload(raw: bytes | None) -> Any:
    document = json.loads(raw or b"null")
    return document["payload"] if isinstance(document, dict) and "schema" in document else document


# --- pgoutput parsing -----------------------------------------------------------------------


def test_parses_begin_commit_origin_and_relation() -> None:
    assert parse(begin(xid=42, final_lsn=0x10)) == Begin(
        0x10, datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC), 42
    )
    assert parse(commit(0x300)).end_lsn == 0x300
    assert parse(origin("tandem_sync")) == Origin(0, "tandem_sync")
    rel = parse(relation())
    assert isinstance(rel, Relation)
    assert (rel.namespace, rel.name, rel.replica_identity) == ("public", "legacy_users", "f")
    assert [c.name for c in rel.columns] == [name for name, _ in USERS_COLUMNS]
    assert all(c.is_key for c in rel.columns)


def test_parses_tuples_with_nulls_and_unchanged_toast() -> None:
    assert parse(insert("1", None, "x", "t", None)) == Insert(
        USERS_OID, ("1", None, "x", "t", None)
    )
    message = parse(update(ROW_1, ("1", "bob", UNCHANGED, "t", None)))
    assert isinstance(message, Update)
    assert message.old == ROW_1 and not message.old_is_key_only
    assert message.new[2] is UNCHANGED
    assert parse(update(None, ROW_1)) == Update(USERS_OID, None, False, ROW_1)
    assert parse(delete("1", None, None, None, None, kind=b"K")) == Delete(
        USERS_OID, ("1", None, None, None, None), True
    )
    assert parse(b"T" + struct.pack("!IBII", 2, 0, 1, 2)) == Truncate(0, (1, 2))


@pytest.mark.parametrize("data", [b"", b"Z", b"I\x00\x00", insert("1")[:-1], b"O" + b"\0" * 8])
def test_rejects_truncated_or_unknown_messages(data: bytes) -> None:
    with pytest.raises(PgOutputError):
        parse(data)


def test_lsn_text_round_trip() -> None:
    assert format_lsn(0x16_B374D848) == "16/B374D848"
    assert parse_lsn("16/B374D848") == 0x16_B374D848


def test_converts_text_values_by_type_oid() -> None:
    assert pgtypes.convert(pgtypes.INT8, "9000000000") == 9_000_000_000
    assert pgtypes.convert(pgtypes.BOOL, "f") is False
    assert pgtypes.convert(pgtypes.NUMERIC, "12.50") == Decimal("12.50")
    assert pgtypes.convert(pgtypes.TIMESTAMP, "2024-05-06 07:08:09.5") == datetime(
        2024, 5, 6, 7, 8, 9, 500000
    )
    assert pgtypes.convert(pgtypes.TIMESTAMPTZ, "2024-05-06 07:08:09+00") == datetime(
        2024, 5, 6, 7, 8, 9, tzinfo=UTC
    )
    assert pgtypes.convert(pgtypes.TIMESTAMP, "infinity") == "infinity"
    assert pgtypes.convert(pgtypes.DATE, "2024-05-06") == date(2024, 5, 6)
    assert pgtypes.convert(pgtypes.JSONB, '{"a": 1}') == '{"a": 1}'
    assert pgtypes.convert(123456, "whatever") == "whatever"


# --- decoding transactions into Debezium events ---------------------------------------------


def decoder(publisher: ListPublisher, **options: Any) -> PgChangeDecoder:
    return PgChangeDecoder(
        publisher.publish, topic_prefix="legacy", database="legacy",
        primary_key=lambda rel: ["id"], clock=lambda: 1234.5, **options,
    )  # fmt: skip


def feed(dec: PgChangeDecoder, *messages: bytes, lsn: int = 0x100) -> None:
    for offset, message in enumerate(messages):
        dec.feed(lsn + offset, message)


def test_insert_update_delete_become_debezium_events() -> None:
    publisher = ListPublisher()
    dec = decoder(publisher)
    feed(dec, begin(), relation(), insert(*ROW_1), update(ROW_1, ROW_1B), delete(*ROW_1B),
         commit(0x300))  # fmt: skip
    created, updated, deleted = publisher.values()
    assert [e["op"] for e in (created, updated, deleted)] == ["c", "u", "d"]
    assert created["before"] is None
    assert created["after"] == {
        "id": 1, "username": "ann", "bio": "hello", "active": True,
        "updated_at": 1714979289123456,
    }  # fmt: skip
    assert updated["before"]["username"] == "ann" and updated["after"]["username"] == "anna"
    assert deleted["after"] is None and deleted["before"]["active"] is False
    source = created["source"]
    assert source["connector"] == "postgresql" and source["snapshot"] == "false"
    assert (source["name"], source["db"], source["schema"], source["table"]) == (
        "legacy", "legacy", "public", "legacy_users"
    )  # fmt: skip
    assert (source["txId"], source["lsn"], source["ts_ms"]) == (700, 0x102, COMMIT_MS)
    assert created["ts_ms"] == 1_234_500
    assert {(t, json.dumps(payload(k))) for t, k, _ in publisher.queued} == {
        ("legacy.public.legacy_users", '{"id": 1}')
    }
    assert publisher.queued[-1][2] is None  # the tombstone after the delete, as Debezium
    assert dec.stats.last_commit_end == 0x300 and dec.stats.published == 3


def test_events_decode_with_the_consumers_codec() -> None:
    from adapters.mapping_file import load_mapping
    from domain.events import Platform

    publisher = ListPublisher()
    feed(decoder(publisher), begin(), relation(), insert(*ROW_1), commit(0x300))
    codec = DebeziumCodec(
        load_mapping(None), {Platform.LEGACY: "legacy", Platform.REVAMP: "revamp"}
    )
    topic, key, value = publisher.queued[0]
    message = SimpleNamespace(topic=topic, key=key, value=value, partition=0, offset=0)
    event = codec.decode(message)  # type: ignore[arg-type]
    assert event is not None and event.operation is Operation.CREATE
    assert event.key == {"id": 1} and event.position.log_position == f"lsn:{0x102}"


def test_unchanged_toast_is_taken_from_the_old_row_or_marked_unavailable() -> None:
    publisher = ListPublisher()
    feed(decoder(publisher), begin(), relation(),
         update(ROW_1, ("1", "ann", UNCHANGED, "t", None)),
         update(None, ("1", "ann", UNCHANGED, "t", None)), commit(0x300))  # fmt: skip
    with_old, without_old = publisher.values()
    assert with_old["after"]["bio"] == "hello" and with_old["after"]["updated_at"] is None
    assert without_old["before"] is None and without_old["after"]["bio"] == UNAVAILABLE


def test_key_only_old_tuple_gives_a_key_only_before() -> None:
    publisher = ListPublisher()
    rel = relation(identity=b"d").replace(b"\x01username", b"\x00username")
    feed(decoder(publisher), begin(), rel, delete("1", None, None, None, None, kind=b"K"),
         commit(0x300))  # fmt: skip
    assert publisher.values()[0]["before"] == {"id": 1, "bio": None, "active": None,
                                               "updated_at": None}  # fmt: skip


def test_transaction_with_the_sync_origin_is_dropped_whole() -> None:
    publisher = ListPublisher()
    dec = decoder(publisher)
    feed(dec, begin(xid=1), origin("tandem_sync"), relation(), insert(*ROW_1),
         update(ROW_1, ROW_1B), delete(*ROW_1B), commit(0x300))  # fmt: skip
    assert publisher.queued == []
    assert (dec.stats.committed, dec.stats.skipped, dec.stats.last_commit_end) == (1, 1, 0x300)
    # the Relation seen inside the dropped transaction still serves the next one
    feed(dec, begin(xid=2), insert(*ROW_1), commit(0x400), lsn=0x310)
    assert [e["op"] for e in publisher.values()] == ["c"]


def test_other_origins_are_kept() -> None:
    publisher = ListPublisher()
    feed(decoder(publisher), begin(), origin("some_subscription"), relation(), insert(*ROW_1),
         commit(0x300))  # fmt: skip
    assert len(publisher.values()) == 1


def test_a_numbered_sync_origin_of_a_concurrent_consumer_is_dropped_too() -> None:
    publisher = ListPublisher()
    dec = decoder(publisher)
    for xid, name in ((1, "tandem_sync_2"), (2, "tandem_sync_x"), (3, "tandem_syncs_2")):
        feed(dec, begin(xid=xid), origin(name), relation(), insert(*ROW_1),
             commit(0x300 + xid))  # fmt: skip
    assert len(publisher.values()) == 2  # only tandem_sync_<n> belongs to the sync


def test_primary_key_change_is_a_delete_then_a_create() -> None:
    publisher = ListPublisher()
    feed(decoder(publisher, tombstones=True), begin(), relation(),
         update(ROW_1, ("2", *ROW_1[1:])), commit(0x300))  # fmt: skip
    keys_and_ops = [(payload(k), v and payload(v)["op"]) for _, k, v in publisher.queued]
    assert keys_and_ops == [({"id": 1}, "d"), ({"id": 1}, None), ({"id": 2}, "c")]


def test_table_without_primary_key_gets_a_null_key() -> None:
    publisher = ListPublisher()
    dec = PgChangeDecoder(publisher.publish, topic_prefix="legacy", database="legacy",
                          primary_key=lambda rel: ())  # fmt: skip
    feed(dec, begin(), relation(), insert(*ROW_1), commit(0x300))
    assert publisher.queued[0][1] is None
    buffer = TransactionBuffer()
    buffer.add(RowChange("t", Operation.CREATE, None, {"a": 1}, (), "binlog.000001", 4))
    txn = buffer.commit(BinlogPosition("binlog.000001", 99), 0)
    [(_, key, _)] = debezium_messages(txn, prefix="r", database="r", version="v", now_ms=0)
    assert key is None


def test_truncate_is_published_keyless_and_orphan_changes_are_refused() -> None:
    publisher = ListPublisher()
    dec = decoder(publisher)
    feed(dec, begin(), relation(), b"T" + struct.pack("!IBI", 1, 0, USERS_OID), commit(0x300))
    assert dec.stats.truncates == 1
    [(topic, key, value)] = publisher.queued
    assert topic.endswith(".public.legacy_users") and key is None
    payload = json.loads(value)
    payload = payload.get("payload", payload)
    assert (payload["op"], payload["before"], payload["after"]) == ("t", None, None)
    with pytest.raises(PgOutputError):
        dec.feed(0x400, insert(*ROW_1))  # no Begin
    dec.feed(0x400, begin())
    with pytest.raises(PgOutputError):
        dec.feed(0x401, insert(*ROW_1, oid=999))  # no Relation


# --- the PostgreSQL stream: flush before confirming, and where the slot moves to -----------


class FakeReplication:
    """Stands in for the replication stream and pgslot's SQL. `messages`: pgoutput bytes (at
    LSNs 0x100, 0x101...) or an int, a keepalive carrying the server's position."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, messages: list[bytes | int], flush_lsn: int
    ) -> None:
        self.messages, self.flush_lsn, self.position = messages, flush_lsn, 0
        self.log: list[Any] = []
        self.lsn = 0x100
        conn = SimpleNamespace(
            info=SimpleNamespace(dbname="legacy"), broken=False, closed=False, close=lambda: None
        )
        monkeypatch.setattr(pgslot, "connect", lambda *a: conn)
        monkeypatch.setattr(pgslot, "ensure_slot", lambda *a: 0x10)
        monkeypatch.setattr(pgslot, "current_flush_lsn", lambda c: self.flush_lsn)
        monkeypatch.setattr(pgslot, "primary_key", lambda c, oid: ("id",))
        monkeypatch.setattr(pgslot, "column_facts", lambda c, oid: {})
        monkeypatch.setattr(postgres, "ReplicationStream", lambda *a, **k: self)

    def read(self, timeout_s: float) -> tuple[int, bytes] | None:
        while self.messages:
            message = self.messages.pop(0)
            if isinstance(message, int):  # read returns once a keepalive moved the position
                self.position = message
                return None
            self.position, self.lsn = self.lsn, self.lsn + 1
            return self.position, message
        self.log.append("waited")
        return None

    def confirm(self, lsn: int) -> None:
        self.log.append(lsn)

    def close(self) -> None:
        self.log.append("closed")


def two_transactions(monkeypatch: pytest.MonkeyPatch, flush_lsn: int) -> FakeReplication:
    """A stream of two one-row transactions, committed at 0x300 and 0x400."""
    first = [begin(), relation(), insert(*ROW_1), commit(0x300)]
    return FakeReplication(monkeypatch, [*first, begin(), insert(*ROW_1), commit(0x400)], flush_lsn)


def test_publishes_flushes_then_confirms_where_the_stream_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = FakeReplication(
        monkeypatch, [begin(), relation(), insert(*ROW_1), commit(0x300)], 0x500
    )
    stream.messages.append(0x500)  # the server's keepalive: it has sent all before 0x500
    publisher = ListPublisher()
    capture = PostgresChangeCapture("postgresql://x/legacy", publisher)
    publisher.flush = lambda: (stream.log.append("flush"), ListPublisher.flush(publisher))[0]
    assert capture.capture_once() == 1
    assert stream.log == ["flush", 0x500] and capture.confirmed_lsn == 0x500
    assert capture.capture_once() == 0
    assert stream.log[-1] == "waited"  # nothing new: nothing confirmed again
    stream.flush_lsn = 0x600  # WAL of other tables or databases only: the server says so
    stream.messages.append(0x600)
    assert capture.capture_once() == 0
    assert stream.log[-1] == 0x600  # the slot follows the WAL


def test_a_pass_takes_the_changes_that_keep_coming_in_one_flush(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = two_transactions(monkeypatch, flush_lsn=0x300)
    publisher = ListPublisher()
    publisher.flush = lambda: (stream.log.append("flush"), ListPublisher.flush(publisher))[0]
    capture = PostgresChangeCapture("postgresql://x/legacy", publisher)
    assert capture.capture_once() == 2  # the second committed after the pass began
    assert stream.log == ["waited", "flush", 0x400]


def test_a_pass_ends_after_pass_s_even_while_changes_keep_coming(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = two_transactions(monkeypatch, flush_lsn=0x300)
    capture = PostgresChangeCapture("postgresql://x/legacy", ListPublisher(), pass_s=0)
    assert capture.capture_once() == 1 and stream.log == [0x300]
    assert capture.capture_once() == 1 and stream.log == [0x300, 0x400]


def test_a_pass_ends_between_transactions_at_the_batch_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = [begin(), origin(), relation(), insert(*ROW_1), commit(0x300)]
    stream = FakeReplication(monkeypatch, [*first, begin(), insert(*ROW_1), commit(0x400)], 0x900)
    capture = PostgresChangeCapture(
        "postgresql://x/legacy", ListPublisher(), batch_changes=3, catch_up_wait_s=0
    )
    assert capture.capture_once() == 0  # the sync's own transaction: read whole, not published
    assert stream.log == [0x300] and capture.more_pending  # the runner reads on at once
    assert capture.capture_once() == 1
    assert stream.log == [0x300, 0x400]
    assert capture.capture_once() == 0 and capture.more_pending  # 0x900 not reached yet
    assert stream.log[-1] == "waited"
    stream.messages.append(0x900)  # the server's keepalive: it has sent all before 0x900
    assert capture.capture_once() == 0 and not capture.more_pending
    assert stream.log[-1] == 0x900


def test_run_once_publishes_all_committed_before_it_though_a_pass_ends_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = two_transactions(monkeypatch, flush_lsn=0x400)
    capture = PostgresChangeCapture("postgresql://x/legacy", ListPublisher(), pass_s=0)
    assert capture.capture_once() == 1 and capture.more_pending  # 0x400 committed before it
    runner = CaptureRunner(capture, name="capture-legacy")
    assert runner.run_once() == 1 and not capture.more_pending
    assert stream.log == [0x300, 0x400]


def test_failed_flush_leaves_the_slot_where_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = FakeReplication(
        monkeypatch, [begin(), relation(), insert(*ROW_1), commit(0x300)], 0x300
    )
    publisher = ListPublisher()

    def broken_flush() -> None:
        raise SourceUnavailableError("broker down")

    publisher.flush = broken_flush  # type: ignore[method-assign]
    capture = PostgresChangeCapture("postgresql://x/legacy", publisher)
    with pytest.raises(SourceUnavailableError):
        capture.capture_once()
    assert [entry for entry in stream.log if isinstance(entry, int)] == []


def test_a_stream_silent_inside_a_transaction_is_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = FakeReplication(monkeypatch, [begin(), relation(), insert(*ROW_1)], 0x300)
    capture = PostgresChangeCapture("postgresql://x/legacy", ListPublisher(), stall_timeout_s=0)
    with pytest.raises(SourceUnavailableError, match="inside a transaction"):
        capture.capture_once()
    assert stream.log == ["waited", "closed"] and capture.closed


def test_a_keepalive_inside_a_transaction_does_not_end_it(monkeypatch: pytest.MonkeyPatch) -> None:
    txn: list[bytes | int] = [begin(), relation(), insert(*ROW_1), 0x200, commit(0x300)]
    stream = FakeReplication(monkeypatch, txn, 0x300)
    capture = PostgresChangeCapture("postgresql://x/legacy", ListPublisher())
    assert capture.capture_once() == 1 and stream.log == ["waited", 0x300]  # then caught up


def test_the_replication_session_keeps_the_users_options_and_fixes_the_formats() -> None:
    dsn = pgstream.replication_dsn("host=h dbname=legacy options='-c search_path=app'")
    params = psycopg2.extensions.parse_dsn(dsn)
    assert params["options"].startswith("-c search_path=app -c DateStyle=ISO")
    assert "TimeZone=UTC" in params["options"] and params["dbname"] == "legacy"


def test_the_replication_streams_errors_translate_as_the_sql_connections_do() -> None:
    busy = pgslot.translate(psycopg2.errors.ObjectInUse("busy"), "s", "capture")
    gone = pgslot.translate(psycopg2.OperationalError("gone"), "s", "capture")
    broke_off = pgslot.translate(psycopg2.DatabaseError("lost"), "s", "capture")  # no SQLSTATE
    assert isinstance(busy, SlotBusyError) and isinstance(gone, SourceUnavailableError)
    assert isinstance(broke_off, SourceUnavailableError)
    assert pgslot.translate(psycopg2.errors.UndefinedObject("no slot"), "s", "capture") is None


def test_sqlalchemy_url_becomes_a_libpq_uri() -> None:
    assert pgslot.libpq_dsn("postgresql+psycopg://u:p%40w@h:5433/legacy") == (
        "postgresql://u:p%40w@h:5433/legacy"
    )
    assert pgslot.libpq_dsn("host=h dbname=legacy") == "host=h dbname=legacy"
    engine_url = make_url("postgresql+psycopg://u:p%40w@h:5433/legacy")  # an engine's `url`
    assert pgslot.libpq_dsn(engine_url) == "postgresql://u:p%40w@h:5433/legacy"


# --- the MySQL transaction buffer ------------------------------------------------------------


def change(
    table: str, op: Operation = Operation.CREATE, row_id: int = 1, pos: int = 100
) -> RowChange:
    after = None if op is Operation.DELETE else {"id": row_id, "name": "x"}
    before = None if op is Operation.CREATE else {"id": row_id, "name": "w"}
    return RowChange(table, op, before, after, ("id",), "binlog.000001", pos)


def test_buffer_keeps_an_application_transaction() -> None:
    buffer = TransactionBuffer()
    buffer.note_gtid("0-1-5")
    buffer.begin()
    buffer.add(change("revamp_users"))
    buffer.add(change("revamp_posts", Operation.DELETE))
    done = buffer.commit(BinlogPosition("binlog.000001", 900), 5000, server_id=1)
    assert not done.skipped and [c.table for c in done.changes] == ["revamp_users", "revamp_posts"]
    assert done.position == BinlogPosition("binlog.000001", 900, "0-1-5")
    assert not buffer.open


@pytest.mark.parametrize("marker_at", [0, 1, 2])
def test_buffer_drops_a_transaction_that_wrote_the_marker(marker_at: int) -> None:
    buffer = TransactionBuffer()
    buffer.begin()
    rows = [change("revamp_users"), change("revamp_likes", Operation.DELETE)]
    rows.insert(marker_at, change("tandem_sync_marker", Operation.UPDATE))
    for row in rows:
        buffer.add(row)
    done = buffer.commit(BinlogPosition("binlog.000001", 900), 5000)
    assert done.skipped and done.changes == ()
    assert done.position.pos == 900  # the position still moves past it
    buffer.begin()
    buffer.add(change("revamp_users"))
    assert not buffer.commit(BinlogPosition("binlog.000001", 990), 5000).skipped


def test_buffer_begin_semantics() -> None:
    buffer = TransactionBuffer()
    buffer.add(change("revamp_users"))  # rows with no BEGIN seen: a transaction of their own
    assert buffer.open
    buffer.begin()  # a BEGIN after rows: the old rows are dropped, a new transaction starts
    buffer.begin()  # MariaDB: GTID event then BEGIN query: still the same, empty, transaction
    buffer.add(change("revamp_posts"))
    assert [c.table for c in buffer.commit(BinlogPosition("f", 4), 0).changes] == ["revamp_posts"]


def test_mysql_envelopes() -> None:
    buffer = TransactionBuffer()
    buffer.begin()
    row = RowChange("revamp_users", Operation.UPDATE, {"id": 7, "tags": {"a", "b"}},
                    {"id": 7, "doc": {b"k": [b"v", 1]}, "at": datetime(2024, 1, 1)}, ("id",),
                    "binlog.000002", 4321, 3)  # fmt: skip
    buffer.add(row)
    txn = buffer.commit(BinlogPosition("binlog.000002", 5000, "0-1-9"), 1_700_000_000_000, 1)
    [(topic, key, value)] = debezium_messages(
        txn, prefix="revamp", database="revamp", version="t", now_ms=1, schemas=False
    )
    event = json.loads(value or b"")
    assert topic == "revamp.revamp.revamp_users" and key == b'{"id":7}'
    assert event["before"]["tags"] == "a,b" and event["after"]["doc"] == '{"k":["v",1]}'
    assert event["after"]["at"] == 1_704_067_200_000_000
    assert (event["ts_ms"], event["ts_us"], event["ts_ns"]) == (1, 1000, 1_000_000)
    assert event["source"] == {
        "version": "t", "connector": "mysql", "name": "revamp", "ts_ms": 1_700_000_000_000,
        "snapshot": "false", "db": "revamp", "sequence": None,
        "ts_us": 1_700_000_000_000_000, "ts_ns": 1_700_000_000_000_000_000,
        "table": "revamp_users", "server_id": 1, "gtid": "0-1-9", "file": "binlog.000002",
        "pos": 4321, "row": 3, "thread": None, "query": None,
    }  # fmt: skip


def test_a_mysql_change_carries_its_rows_event_time_as_debezium_does() -> None:
    """A statement begun in one second and committed in the next: Debezium's source.ts_ms is
    the rows event's (the statement's) time, so the built-in capture's is too."""
    buffer = TransactionBuffer()
    buffer.begin()
    buffer.add(RowChange("revamp_users", Operation.CREATE, None, {"id": 1}, ("id",),
                         "binlog.000001", 400, 0, 1_700_000_000_000))  # fmt: skip
    txn = buffer.commit(BinlogPosition("binlog.000001", 900), 1_700_000_001_000, 1)
    [(_, _, value), *_] = debezium_messages(
        txn, prefix="revamp", database="revamp", version="t", now_ms=1, schemas=False
    )
    source = json.loads(value or b"")["source"]
    assert (source["ts_ms"], source["ts_us"]) == (1_700_000_000_000, 1_700_000_000_000_000)


# --- the MySQL capture loop with fake binlog events -----------------------------------------


def fake(cls: type, end: int, size: int = 50, **attrs: Any) -> Any:
    """A library event object built without a packet."""
    event = cls.__new__(cls)
    event.packet = SimpleNamespace(log_pos=end, event_size=size, server_id=1)
    event.timestamp = 1_700_000_000
    for name, value in attrs.items():
        setattr(event, name, value)
    return event


def rows_event(cls: type, table: str, end: int, *rows: dict[str, Any]) -> Any:
    event = fake(cls, end, table=table, primary_key="id", table_id=1)
    event._RowsEvent__rows = list(rows)
    return event


class FakeStream:
    def __init__(self, events: list[Any]) -> None:
        self.events, self.log_file = list(events), "binlog.000001"

    def fetchone(self) -> Any:
        return self.events.pop(0) if self.events else None

    def close(self) -> None:
        pass


def mysql_capture(tmp_path: Path, events: list[Any]) -> tuple[MySQLChangeCapture, ListPublisher]:
    publisher = ListPublisher()
    capture = MySQLChangeCapture("mysql+pymysql://root@h/revamp", publisher, tmp_path / "o.json")
    capture._stream = FakeStream(events)  # type: ignore[assignment]
    capture._saved = capture._done = BinlogPosition("binlog.000001", 4)
    capture._types = {"revamp_users": (1, TableTypes({"id": connect_types.INT32}))}
    return capture, publisher


def test_capture_drops_marked_transactions_and_checkpoints_past_them(tmp_path: Path) -> None:
    user = {"id": 1, "user_name": "a"}
    events = [
        fake(MariadbGtidEvent, 150, gtid="0-1-1", flags=12),
        rows_event(WriteRowsEvent, "revamp_users", 200, {"values": user}),
        fake(XidEvent, 230),
        fake(MariadbGtidEvent, 280, gtid="0-1-2", flags=12),
        rows_event(UpdateRowsEvent, "tandem_sync_marker", 330, {"before_values": {"id": 1},
                                                                 "after_values": {"id": 1}}),
        rows_event(DeleteRowsEvent, "revamp_users", 380, {"values": user}),
        fake(XidEvent, 410),
        fake(MariadbGtidEvent, 450, gtid="0-1-3", flags=41),  # standalone DDL
        fake(QueryEvent, 520, query="ALTER TABLE revamp_users ADD x INT"),
    ]  # fmt: skip
    capture, publisher = mysql_capture(tmp_path, events)
    assert capture.capture_once() == 1
    [(topic, key, value)] = publisher.flushed
    event = payload(value)
    assert (topic, payload(key), event["op"]) == ("revamp.revamp.revamp_users", {"id": 1}, "c")
    assert (event["source"]["pos"], event["source"]["gtid"]) == (150, "0-1-1")
    saved = json.loads((tmp_path / "o.json").read_text())
    assert saved == {"file": "binlog.000001", "pos": 520, "gtid": "0-1-3"}


def test_capture_of_only_filtered_transactions_still_moves_the_checkpoint(tmp_path: Path) -> None:
    events = [
        fake(QueryEvent, 100, query="BEGIN"),
        rows_event(WriteRowsEvent, "tandem_sync_marker", 150, {"values": {"id": 1}}),
        fake(XidEvent, 180),
        fake(RotateEvent, 0, next_binlog="binlog.000002", position=4),
    ]
    capture, publisher = mysql_capture(tmp_path, events)
    assert capture.capture_once() == 0 and publisher.calls == []  # nothing to flush
    assert capture.position == BinlogPosition("binlog.000002", 4)


def test_capture_keeps_an_unfinished_transaction_for_the_next_call(tmp_path: Path) -> None:
    capture, _publisher = mysql_capture(tmp_path, [
        fake(QueryEvent, 100, query="BEGIN"),
        rows_event(WriteRowsEvent, "revamp_users", 150, {"values": {"id": 3}}),
    ])  # fmt: skip
    assert capture.capture_once() == 0 and capture.position == BinlogPosition("binlog.000001", 4)
    capture._stream.events.append(fake(XidEvent, 180))  # type: ignore[union-attr]
    assert capture.capture_once() == 1
    assert capture.position == BinlogPosition("binlog.000001", 180)


def test_checkpoint_is_written_at_most_every_interval_and_when_closing(tmp_path: Path) -> None:
    def transaction(start: int) -> list[Any]:
        return [
            fake(QueryEvent, start, query="BEGIN"),
            rows_event(WriteRowsEvent, "revamp_users", start + 50, {"values": {"id": start}}),
            fake(XidEvent, start + 80),
        ]

    capture, publisher = mysql_capture(tmp_path, transaction(100))
    capture.checkpoint_interval_s = 3600
    assert capture.capture_once() == 1 and capture.position == BinlogPosition("binlog.000001", 180)
    capture._stream.events += transaction(200)  # type: ignore[union-attr]
    assert capture.capture_once() == 1 and len(publisher.flushed) == 2
    assert capture.position == BinlogPosition("binlog.000001", 180)  # the broker has more
    capture.close()
    assert capture.position == BinlogPosition("binlog.000001", 280)
    assert json.loads((tmp_path / "o.json").read_text())["pos"] == 280


# --- checkpoint file ------------------------------------------------------------------------


def test_checkpoint_round_trip_and_missing_file(tmp_path: Path) -> None:
    checkpoint = CheckpointFile(tmp_path / "deep" / "revamp.offset")
    assert checkpoint.load() is None
    saved = BinlogCheckpoint("binlog.000001", 4, server={"server_uuid": None, "server_id": 1})
    checkpoint.save(saved)
    assert checkpoint.load() == saved
    assert checkpoint.load().position == BinlogPosition("binlog.000001", 4)  # type: ignore[union-attr]
    assert os.listdir(tmp_path / "deep") == ["revamp.offset"]


def test_checkpoint_failed_write_keeps_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = CheckpointFile(tmp_path / "revamp.offset")
    checkpoint.save(BinlogCheckpoint("binlog.000001", 1))

    def crash(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        checkpoint.save(BinlogCheckpoint("binlog.000001", 2))
    assert checkpoint.load() == BinlogCheckpoint("binlog.000001", 1)
    assert os.listdir(tmp_path) == ["revamp.offset"]  # no temporary file left behind


def test_checkpoint_lock_admits_one_capture_at_a_time(tmp_path: Path) -> None:
    first, second = CheckpointFile(tmp_path / "o"), CheckpointFile(tmp_path / "o")
    first.lock()
    first.lock()  # held already: a no-op
    with pytest.raises(SlotBusyError):
        second.lock()
    first.unlock()
    second.lock()
    second.unlock()


def test_checkpoint_corrupt_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "revamp.offset"
    for document in ("{not json", '{"file": 3, "pos": 4}', '{"file": "b.1"}', '{"pos": "4"}'):
        path.write_text(document)
        with pytest.raises(CaptureConfigurationError, match=r"revamp\.offset"):
            CheckpointFile(path).load()
    path.write_text('{"file": "b.1", "pos": 4, "gtid": null}')  # written before servers were
    assert CheckpointFile(path).load() == BinlogCheckpoint("b.1", 4)


# --- runner -----------------------------------------------------------------------------------


class ClosablePublisher:
    closed = False

    def close(self) -> None:
        self.closed = True


class ScriptedCapture:
    def __init__(
        self,
        results: list[int | Exception],
        stop: threading.Event,
        pending: list[bool] | None = None,
    ) -> None:
        self.results, self.stop, self.closes = results, stop, 0
        self.pending, self.more_pending = pending or [], False
        self.publisher = ClosablePublisher()

    def capture_once(self) -> int:
        self.more_pending = self.pending.pop(0) if self.pending else False
        if not self.results:
            self.stop.set()
            return 0
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def close(self) -> None:
        self.closes += 1


def test_runner_retries_transient_errors_and_stops(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    down = SourceUnavailableError("down")
    capture = ScriptedCapture([3, down, down, down, 2], stop)
    runner = CaptureRunner(capture, name="legacy", poll_interval_s=0.001, max_backoff_s=0.001)
    with caplog.at_level("DEBUG", logger="tandem.capture"):
        runner.run(stop)
    assert runner.published == 5 and not runner.closed and capture.closes >= 2
    said = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
    assert said == ["outage started", "outage ended"]  # one outage of three failed attempts
    started, ended = (r for r in caplog.records if r.getMessage().startswith("outage"))
    assert "SourceUnavailableError: down" in started.error  # type: ignore[attr-defined]
    assert ended.attempts == 3 and ended.duration_s >= 0  # type: ignore[attr-defined]
    runner.close()
    assert runner.closed and capture.publisher.closed
    with pytest.raises(RuntimeError):
        runner.run_once()


def test_run_once_makes_passes_until_caught_up() -> None:
    capture = ScriptedCapture([2, 0, 5, 1], threading.Event(), pending=[True, True, False])
    assert CaptureRunner(capture, name="x").run_once() == 7
    assert capture.results == [1]


def test_runner_lets_permanent_errors_through() -> None:
    stop = threading.Event()
    runner = CaptureRunner(ScriptedCapture([CaptureConfigurationError("no slot")], stop), name="x")
    with pytest.raises(CaptureConfigurationError):
        runner.run(stop)
    assert runner.capture.closes == 1  # connections released; the runner itself stays usable


def test_a_runner_runs_again_after_dying_as_a_supervisor_restarts_it() -> None:
    stop = threading.Event()
    capture = ScriptedCapture([CaptureConfigurationError("no slot yet"), 4], stop)
    runner = CaptureRunner(capture, name="x", poll_interval_s=0.001)
    with pytest.raises(CaptureConfigurationError):
        runner.run(stop)
    runner.run(stop)
    assert runner.published == 4


class StreamingCapture(ScriptedCapture):
    """A capture with a stream to wait on once it is connected (after its first pass)."""

    def __init__(self, results: list[int | Exception], stop: threading.Event) -> None:
        super().__init__(results, stop)
        self.waits: list[float] = []
        self.connected = False

    def capture_once(self) -> int:
        result = super().capture_once()
        self.connected = True
        return result

    def wait_for_changes(self, timeout_s: float) -> bool:
        self.waits.append(timeout_s)
        return self.connected


def test_an_idle_runner_waits_on_the_capture_stream_when_it_has_one() -> None:
    stop = threading.Event()
    capture = StreamingCapture([0, 0, 5, 0], stop)  # then a 0 that sets `stop`
    sleeps: list[float] = []
    stop_wait = stop.wait
    stop.wait = lambda timeout=None: (sleeps.append(timeout), stop_wait(0))[1]  # type: ignore
    CaptureRunner(capture, name="x", poll_interval_s=0.25).run(stop)
    assert capture.waits == [0.25] * 4  # after each pass that found nothing, not after 5
    assert sleeps == []  # never slept blind: the stream wakes the wait
