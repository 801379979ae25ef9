"""Built-in change capture against the real local stack (PostgreSQL, MariaDB, Kafka broker)."""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
from sqlalchemy import Engine, make_url

from adapters.capture import CaptureRunner, MySQLCaptureRunner, PostgresCaptureRunner
from adapters.capture.pgslot import drop_slot_at, libpq_dsn
from adapters.debezium import DebeziumCodec
from adapters.mapping_file import load_mapping
from domain.events import Operation, Platform
from domain.model import RawMessage

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

LEGACY_USERS, REVAMP_USERS = "legacy.public.legacy_users", "revamp.revamp.revamp_users"


class ListPublisher:
    """EventPublisher fake: records each message with the moment it was published."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes | None, bytes | None, float]] = []
        self.lock = threading.Lock()

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        with self.lock:
            self.messages.append((topic, key, value, time.monotonic()))

    def flush(self) -> None:
        pass

    def events(self, topic: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            found = [(t, v) for t, _, v, _ in self.messages if v is not None]
        return [payload(v) for t, v in found if topic is None or t == topic]


def payload(raw: bytes | None) -> Any:
    """A message's payload, without the JsonConverter's schema wrapper."""
    document = json.loads(raw or b"null")
    return document["payload"] if isinstance(document, dict) and "schema" in document else document


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def created_ids(events: list[dict[str, Any]]) -> list[int]:
    return [e["after"]["id"] for e in events if e["op"] == "c"]


@contextmanager
def running(runner: CaptureRunner) -> Iterator[CaptureRunner]:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the capture runner did not stop"


# --- database access, as an application and as the sync service ------------------------------


class Legacy:
    def __init__(self, dsn: str) -> None:
        self.dsn = libpq_dsn(dsn)
        self.conn = psycopg.connect(self.dsn, autocommit=True)

    def add_user(self, name: str) -> int:
        row = self.conn.execute(
            "INSERT INTO legacy_users (username, email) VALUES (%s, %s) RETURNING id",
            (name, f"{name}.{uuid.uuid4().hex[:8]}@example.com"),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def run(self, sql: str, *params: Any) -> None:
        self.conn.execute(sql, params)

    def as_sync_service(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """One transaction under the replication origin, as the sync service writes."""
        with psycopg.connect(self.dsn) as conn:
            conn.execute("SELECT pg_replication_origin_session_setup('tandem_sync')")
            for sql, params in statements:
                conn.execute(sql, params)
            conn.commit()
            conn.execute("SELECT pg_replication_origin_session_reset()")
            conn.commit()


class Revamp:
    def __init__(self, dsn: str) -> None:
        url = make_url(dsn)
        self.conn = pymysql.connect(
            host=url.host, port=url.port or 3306, user=url.username or "root",
            password=url.password or "", database=url.database, autocommit=True,
        )  # fmt: skip

    def add_user(self, name: str) -> int:
        with self.conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO revamp_users (user_name, email_address) VALUES (%s, %s)",
                (name, f"{name}.{uuid.uuid4().hex[:8]}@example.com"),
            )
            return int(cursor.lastrowid)

    def run(self, sql: str, *params: Any) -> None:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)

    def as_sync_service(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """One transaction that writes the marker row first, as the sync service does."""
        self.conn.begin()
        with self.conn.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tandem_sync_marker (id, txn_token, written_at)"
                " VALUES (1, %s, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE"
                " txn_token = VALUES(txn_token), written_at = VALUES(written_at)",
                (uuid.uuid4().hex,),
            )
            for sql, params in statements:
                cursor.execute(sql, params)
        self.conn.commit()


@pytest.fixture
def dsns(clean_engines: dict[str, Engine], running_stack: dict[str, str]) -> dict[str, str]:
    return running_stack


@pytest.fixture
def slot(dsns: dict[str, str]) -> Iterator[str]:
    """A replication slot of this test only, dropped afterwards (slots retain WAL)."""
    name = f"tandem_test_{uuid.uuid4().hex[:10]}"
    yield name
    drop_slot_at(dsns["SYNC_LEGACY_DSN"], name)


@pytest.fixture
def legacy(dsns: dict[str, str]) -> Iterator[Legacy]:
    db = Legacy(dsns["SYNC_LEGACY_DSN"])
    yield db
    db.conn.close()


@pytest.fixture
def revamp(dsns: dict[str, str]) -> Iterator[Revamp]:
    db = Revamp(dsns["SYNC_REVAMP_DSN"])
    yield db
    db.conn.close()


def pg_runner(
    dsns: dict[str, str], slot: str, publisher: Any, **options: Any
) -> PostgresCaptureRunner:
    return PostgresCaptureRunner(dsns["SYNC_LEGACY_DSN"], publisher, slot=slot, **options)


def my_runner(
    dsns: dict[str, str], state: Path, publisher: Any, **options: Any
) -> MySQLCaptureRunner:
    return MySQLCaptureRunner(dsns["SYNC_REVAMP_DSN"], publisher, state, **options)


def codec() -> DebeziumCodec:
    return DebeziumCodec(load_mapping(), {Platform.LEGACY: "legacy", Platform.REVAMP: "revamp"})


# --- PostgreSQL -------------------------------------------------------------------------------


def test_pg_insert_update_delete(dsns: dict[str, str], slot: str, legacy: Legacy) -> None:
    publisher = ListPublisher()
    with pg_runner(dsns, slot, publisher) as runner:
        runner.run_once()  # creates the slot: capture starts here
        user = legacy.add_user("ann")
        legacy.run("UPDATE legacy_users SET status = 'banned' WHERE id = %s", user)
        legacy.run("DELETE FROM legacy_users WHERE id = %s", user)
        assert runner.run_once() == 3
    created, updated, deleted = publisher.events(LEGACY_USERS)
    assert [e["op"] for e in (created, updated, deleted)] == ["c", "u", "d"]
    assert created["before"] is None and created["after"]["username"] == "ann"
    assert isinstance(created["after"]["created_at"], int)  # MicroTimestamp
    assert updated["before"]["status"] == "active" and updated["after"]["status"] == "banned"
    assert deleted["after"] is None and deleted["before"]["status"] == "banned"  # FULL identity
    source = created["source"]
    assert (source["connector"], source["name"], source["db"], source["schema"]) == (
        "postgresql", "legacy", "legacy", "public"
    )  # fmt: skip
    assert isinstance(source["txId"], int) and isinstance(source["lsn"], int)
    assert abs(source["ts_ms"] - time.time() * 1000) < 60_000
    assert {json.dumps(payload(key)) for _, key, _, _ in publisher.messages} == {
        f'{{"id": {user}}}'
    }
    assert publisher.messages[-1][2] is None  # Debezium's tombstone after the delete
    topic, key, value, _ = publisher.messages[2]
    event = codec().decode(RawMessage(topic=topic, partition=0, offset=2, key=key, value=value))
    assert event is not None and event.operation is Operation.DELETE and event.key == {"id": user}


def test_pg_sync_origin_transactions_are_dropped(
    dsns: dict[str, str], slot: str, legacy: Legacy
) -> None:
    publisher = ListPublisher()
    with pg_runner(dsns, slot, publisher) as runner:
        runner.run_once()
        kept = legacy.add_user("kept")
        legacy.as_sync_service(
            ("INSERT INTO legacy_users (username, email) VALUES ('echo', 'echo@example.com')", ()),
            ("UPDATE legacy_users SET status = 'inactive' WHERE id = %s", (kept,)),
            ("DELETE FROM legacy_users WHERE username = 'echo'", ()),
        )
        legacy.as_sync_service(("DELETE FROM legacy_users WHERE id = %s", (kept,)))
        after = legacy.add_user("after")
        runner.run_once()
    assert created_ids(publisher.events()) == [kept, after]
    assert [e["op"] for e in publisher.events()] == ["c", "c"]


def test_pg_retained_wal_bounded_after_sync_burst(
    dsns: dict[str, str], slot: str, legacy: Legacy
) -> None:
    publisher = ListPublisher()
    runner = pg_runner(dsns, slot, publisher)
    with running(runner):
        wait_for(lambda: runner.capture.confirmed_lsn > 0)
        with psycopg.connect(legacy.dsn, autocommit=True) as conn:  # 2,000 marked transactions
            conn.execute("SELECT pg_replication_origin_session_setup('tandem_sync')")
            for i in range(2000):
                conn.execute(
                    "INSERT INTO legacy_users (username, email) VALUES (%s, %s)",
                    (f"s{i}", f"s{i}.{uuid.uuid4().hex[:6]}@example.com"),
                )
            conn.execute("SELECT pg_replication_origin_session_reset()")
        wait_for(lambda: runner.slot_lag().unconfirmed_bytes < 8192)
        time.sleep(0.3)  # idle polls
        lag = runner.slot_lag()
    assert publisher.messages == []
    assert lag.unconfirmed_bytes < 8192
    assert lag.retained_bytes < 16 * 1024 * 1024  # restart_lsn moves at the next xl_running_xacts
    print(f"\nretained after 2,000 sync writes + idle: {lag}")


def test_pg_restart_of_the_capture_loses_and_duplicates_nothing(
    dsns: dict[str, str], slot: str, legacy: Legacy
) -> None:
    publisher = ListPublisher()
    with pg_runner(dsns, slot, publisher) as first:
        first.run_once()
    written: list[int] = []
    writer = threading.Thread(target=lambda: written.extend(
        legacy_writer(dsns["SYNC_LEGACY_DSN"], 300)))  # fmt: skip
    stopped_at = restarted_mid_stream(lambda: pg_runner(dsns, slot, publisher), publisher, writer)
    ids = created_ids(publisher.events())
    assert stopped_at < 300 and ids == sorted(written) and len(set(ids)) == 300


def restarted_mid_stream(
    make_runner: Callable[[], CaptureRunner], publisher: ListPublisher, writer: threading.Thread
) -> int:
    """Capture while `writer` writes 300 rows: stop after 60, go on with a new runner.
    Returns how many messages the first runner had published."""
    writer.start()
    with running(make_runner()):
        wait_for(lambda: len(publisher.messages) >= 60)
    stopped_at = len(publisher.messages)
    with running(make_runner()):
        writer.join()
        wait_for(lambda: len(publisher.messages) >= 300)
        time.sleep(0.3)
    return stopped_at


def legacy_writer(dsn: str, count: int) -> list[int]:
    db, ids = Legacy(dsn), []
    for i in range(count):
        ids.append(db.add_user(f"w{i}"))
        time.sleep(0.002)
    db.conn.close()
    return ids


def test_pg_capture_survives_a_database_restart(
    dsns: dict[str, str], slot: str, legacy: Legacy
) -> None:
    stack_dir = dsns.get("TANDEM_STACK_DIR")
    if not stack_dir:
        pytest.skip("the stack's servers are not ours to restart")
    from devstack import start_part, stop_part

    publisher = ListPublisher()
    runner = pg_runner(dsns, slot, publisher, max_backoff_s=0.5)
    with running(runner):
        wait_for(lambda: runner.capture.confirmed_lsn > 0)  # the slot exists: capture started
        before = legacy.add_user("before")
        wait_for(lambda: len(publisher.messages) == 1)
        stop_part(Path(stack_dir), "postgres")
        time.sleep(0.5)
        start_part(Path(stack_dir), "postgres")
        after = Legacy(dsns["SYNC_LEGACY_DSN"])
        later = after.add_user("after")
        wait_for(lambda: later in created_ids(publisher.events()))
        after.conn.close()
    assert runner.recoveries >= 1  # it noticed the restart, and came back
    # at least once: a change whose acknowledgement the stop cut off may come again, but with
    # its original position, so the consumer's event id (derived from it) dedupes it
    lsns: dict[int, set[int]] = {}
    for event in publisher.events():
        lsns.setdefault(event["after"]["id"], set()).add(event["source"]["lsn"])
    assert sorted(lsns) == [before, later]
    assert all(len(seen) == 1 for seen in lsns.values())


# --- MySQL / MariaDB --------------------------------------------------------------------------


def test_mysql_insert_update_delete(dsns: dict[str, str], tmp_path: Path, revamp: Revamp) -> None:
    publisher = ListPublisher()
    with my_runner(dsns, tmp_path / "revamp.offset", publisher) as runner:
        runner.run_once()  # no checkpoint: starts at the end of the binlog
        user = revamp.add_user("bob")
        revamp.run("UPDATE revamp_users SET status = 'Banned' WHERE id = %s", user)
        revamp.run("DELETE FROM revamp_users WHERE id = %s", user)
        # three changes and the tombstone after the delete
        wait_for(lambda: runner.run_once() >= 0 and len(publisher.messages) == 4, timeout=10)
    created, updated, deleted = publisher.events(REVAMP_USERS)
    assert [e["op"] for e in (created, updated, deleted)] == ["c", "u", "d"]
    assert created["after"]["user_name"] == "bob" and isinstance(
        created["after"]["created_at"], int
    )
    assert updated["before"]["status"] == "Active" and updated["after"]["status"] == "Banned"
    assert deleted["before"]["id"] == user and deleted["after"] is None
    source = created["source"]
    assert (source["connector"], source["name"], source["db"], source["table"]) == (
        "mysql", "revamp", "revamp", "revamp_users"
    )  # fmt: skip
    assert source["file"] and source["pos"] > 0
    if "MariaDB" in revamp.conn.get_server_info():
        assert source["gtid"]  # domain-server-sequence
    checkpoint = json.loads((tmp_path / "revamp.offset").read_text())
    assert checkpoint["file"] == source["file"] and checkpoint["pos"] > source["pos"]
    topic, key, value, _ = publisher.messages[0]
    event = codec().decode(RawMessage(topic=topic, partition=0, offset=0, key=key, value=value))
    assert event is not None and event.key == {"id": user}


def test_mysql_marked_transactions_are_dropped(
    dsns: dict[str, str], tmp_path: Path, revamp: Revamp
) -> None:
    publisher = ListPublisher()
    with my_runner(dsns, tmp_path / "revamp.offset", publisher) as runner:
        runner.run_once()
        kept = revamp.add_user("kept")
        revamp.as_sync_service(
            ("INSERT INTO revamp_users (user_name, email_address) VALUES ('e', 'e@x.org')", ()),
            ("UPDATE revamp_users SET status = 'Inactive' WHERE id = %s", (kept,)),
            ("DELETE FROM revamp_users WHERE user_name = 'e'", ()),
        )
        revamp.as_sync_service(("DELETE FROM revamp_users WHERE id = %s", (kept,)))
        position = runner.capture.position
        later = revamp.add_user("later")
        wait_for(lambda: runner.run_once() >= 0 and len(publisher.messages) >= 2, timeout=10)
        assert runner.capture.position != position
    assert created_ids(publisher.events()) == [kept, later]
    assert [e["op"] for e in publisher.events()] == ["c", "c"]


def test_mysql_only_marked_transactions_still_move_the_checkpoint(
    dsns: dict[str, str], tmp_path: Path, revamp: Revamp
) -> None:
    with my_runner(dsns, tmp_path / "revamp.offset", ListPublisher()) as runner:
        runner.run_once()
        start = runner.capture.position
        for _ in range(20):
            revamp.as_sync_service(("UPDATE revamp_users SET status = 'Active'", ()))
        wait_for(lambda: runner.run_once() == 0 and runner.capture.position != start)
        assert start is not None and runner.capture.position is not None
        assert runner.capture.position.pos > start.pos or runner.capture.position.file != start.file


def test_mysql_restart_of_the_capture_loses_and_duplicates_nothing(
    dsns: dict[str, str], tmp_path: Path, revamp: Revamp
) -> None:
    publisher, state = ListPublisher(), tmp_path / "revamp.offset"
    with my_runner(dsns, state, publisher) as first:
        first.run_once()
    written: list[int] = []

    def write() -> None:
        db = Revamp(dsns["SYNC_REVAMP_DSN"])
        for i in range(300):
            written.append(db.add_user(f"w{i}"))
            time.sleep(0.002)
        db.conn.close()

    writer = threading.Thread(target=write)
    stopped_at = restarted_mid_stream(lambda: my_runner(dsns, state, publisher), publisher, writer)
    ids = created_ids(publisher.events())
    assert stopped_at < 300 and ids == written and len(set(ids)) == 300


def test_mysql_schema_change_mid_stream(
    dsns: dict[str, str], tmp_path: Path, revamp: Revamp
) -> None:
    table = f"t_capture_{uuid.uuid4().hex[:8]}"
    revamp.run(f"CREATE TABLE {table} (id INT PRIMARY KEY, a INT)")
    publisher = ListPublisher()
    try:
        with my_runner(dsns, tmp_path / "revamp.offset", publisher) as runner:
            runner.run_once()
            revamp.run(f"INSERT INTO {table} VALUES (1, 10)")
            runner.run_once()  # the table map of the first shape is cached now
            revamp.run(f"ALTER TABLE {table} ADD COLUMN b VARCHAR(10) DEFAULT 'x'")
            revamp.run(f"INSERT INTO {table} VALUES (2, 20, 'y')")
            revamp.run(f"ALTER TABLE {table} DROP COLUMN a")
            revamp.run(f"INSERT INTO {table} VALUES (3, 'z')")
            wait_for(lambda: runner.run_once() >= 0 and len(publisher.messages) == 3, timeout=10)
    finally:
        revamp.run(f"DROP TABLE {table}")
    assert [e["after"] for e in publisher.events(f"revamp.revamp.{table}")] == [
        {"id": 1, "a": 10}, {"id": 2, "a": 20, "b": "y"}, {"id": 3, "b": "z"},
    ]  # fmt: skip


def test_mysql_capture_survives_a_database_restart(
    dsns: dict[str, str], tmp_path: Path, revamp: Revamp
) -> None:
    stack_dir = dsns.get("TANDEM_STACK_DIR")
    if not stack_dir:
        pytest.skip("the stack's servers are not ours to restart")
    from devstack import start_part, stop_part

    publisher = ListPublisher()
    runner = my_runner(dsns, tmp_path / "revamp.offset", publisher, max_backoff_s=0.5)
    runner.run_once()
    with running(runner):
        before = revamp.add_user("before")
        wait_for(lambda: len(publisher.messages) == 1)
        stop_part(Path(stack_dir), "mariadb")
        time.sleep(0.5)
        start_part(Path(stack_dir), "mariadb")
        after = Revamp(dsns["SYNC_REVAMP_DSN"])
        later = after.add_user("after")
        wait_for(lambda: len(publisher.messages) >= 2)
        after.conn.close()
    assert runner.recoveries >= 1
    assert created_ids(publisher.events()) == [before, later]


# --- both, through the real broker, and how fast ----------------------------------------------


def test_events_reach_kafka(dsns: dict[str, str], slot: str, tmp_path: Path,
                            legacy: Legacy, revamp: Revamp) -> None:  # fmt: skip
    kafka = pytest.importorskip("kafka")
    from adapters.kafka.admin import ensure_topics
    from adapters.kafka.publisher import KafkaEventPublisher
    from adapters.kafka.settings import KafkaSettings

    settings = KafkaSettings(tuple(dsns["SYNC_KAFKA_BOOTSTRAP"].split(",")))
    prefix = f"t{uuid.uuid4().hex[:8]}"
    topics = [f"{prefix}l.public.legacy_users", f"{prefix}r.revamp.revamp_users"]
    ensure_topics(settings, topics, partitions=1)
    publisher = KafkaEventPublisher(settings)
    try:
        pg = pg_runner(dsns, slot, publisher, topic_prefix=f"{prefix}l")
        my = my_runner(dsns, tmp_path / "o", publisher, topic_prefix=f"{prefix}r")
        pg.run_once(), my.run_once()
        legacy_id, revamp_id = legacy.add_user("k1"), revamp.add_user("k2")
        assert pg.run_once() == 1
        wait_for(lambda: my.run_once() == 1, timeout=10)
        pg.close(), my.close()
    finally:
        publisher.close()
    consumer = kafka.KafkaConsumer(
        *topics, **settings.client_kwargs(kafka.KafkaConsumer), auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )  # fmt: skip
    got: dict[str, tuple[bytes, dict[str, Any]]] = {}
    for record in consumer:
        got[record.topic] = (record.key, payload(record.value))
        if len(got) == 2:
            break
    consumer.close()
    assert payload(got[topics[0]][0]) == {"id": legacy_id}
    assert payload(got[topics[1]][0]) == {"id": revamp_id}
    assert got[topics[0]][1]["source"]["name"] == f"{prefix}l"
    assert got[topics[1]][1]["after"]["user_name"] == "k2"


def test_latency_is_milliseconds(dsns: dict[str, str], slot: str, tmp_path: Path,
                                 legacy: Legacy, revamp: Revamp) -> None:  # fmt: skip
    publisher = ListPublisher()
    pg, my = pg_runner(dsns, slot, publisher), my_runner(dsns, tmp_path / "o", publisher)
    pg.run_once(), my.run_once()
    delays: dict[str, list[float]] = {"legacy": [], "revamp": []}
    with running(pg), running(my):
        for i in range(20):
            for name, db in (("legacy", legacy), ("revamp", revamp)):
                seen = len(publisher.messages)
                started = time.monotonic()
                db.add_user(f"l{i}")
                wait_for(lambda seen=seen: len(publisher.messages) > seen, timeout=5)
                delays[name].append(publisher.messages[seen][3] - started)
    medians = {name: statistics.median(values) for name, values in delays.items()}
    print("\ncapture latency, median / max (ms): " + ", ".join(
        f"{n} {medians[n] * 1000:.0f} / {max(delays[n]) * 1000:.0f}" for n in delays))  # fmt: skip
    assert all(m < 0.5 for m in medians.values())
