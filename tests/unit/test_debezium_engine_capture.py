"""The Debezium capture without a JVM: its connectors' properties, and what it does with the
engine's batches (publish as they are, hold back its own heartbeats, retry through outages)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import orjson
import pytest

from adapters.capture.debezium_engine.connector import (
    HEARTBEAT_TABLE,
    include_list,
    mysql_connector,
    postgres_connector,
)
from adapters.capture.debezium_engine.engine import check_available
from adapters.capture.debezium_engine.heartbeat import beat_of
from adapters.capture.debezium_engine.runner import DebeziumCaptureRunner
from adapters.capture.errors import CaptureConfigurationError
from domain.errors import BrokerUnavailableError

LEGACY = "postgresql+psycopg://sync:pw@db.example:5433/legacy"
REVAMP = "mysql+pymysql://root@127.0.0.1:3307/revamp"
LEGACY_TABLES = [("public", "legacy_users"), ("public", "legacy_posts")]


def test_the_postgres_connector_reads_its_own_publication_and_slot(tmp_path: Path) -> None:
    connector = postgres_connector(
        LEGACY, prefix="legacy", tables=LEGACY_TABLES, slot="tandem_debezium",
        publication="tandem_debezium", state_dir=tmp_path,
    )  # fmt: skip
    p = connector.properties
    assert p["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert (p["database.hostname"], p["database.port"], p["database.dbname"]) == (
        "db.example",
        "5433",
        "legacy",
    )
    assert (p["database.user"], p["database.password"]) == ("sync", "pw")
    assert (p["plugin.name"], p["slot.name"], p["publication.name"]) == (
        "pgoutput",
        "tandem_debezium",
        "tandem_debezium",
    )
    assert p["publication.autocreate.mode"] == "disabled"
    assert p["table.include.list"] == (
        r"public\.legacy_users,public\.legacy_posts,public\." + HEARTBEAT_TABLE
    )
    assert p["topic.prefix"] == "legacy"
    assert p["offset.storage.file.filename"] == str(tmp_path / "debezium-legacy.offsets")
    assert p["snapshot.mode"] == "no_data"  # initial loads are `tandem snapshot`'s
    assert p["skipped.operations"] == "none"  # truncates published
    assert "pw" not in repr(connector)
    assert connector.heartbeat_topic == f"legacy.public.{HEARTBEAT_TABLE}"


def test_the_mysql_connector_reads_mariadb(tmp_path: Path) -> None:
    connector = mysql_connector(
        REVAMP, prefix="revamp", tables=[("revamp", "revamp_users")], server_id=200_001,
        state_dir=tmp_path, schemas=False,
    )  # fmt: skip
    p = connector.properties
    assert p["connector.class"] == "io.debezium.connector.mysql.MySqlConnector"
    assert p["schema.history.internal.store.only.captured.tables.ddl"] == "true"
    assert p["schema.history.internal"].endswith("FileSchemaHistory")
    assert p["schema.history.internal.file.filename"] == str(tmp_path / "debezium-revamp.history")
    assert (p["database.include.list"], p["database.server.id"]) == ("revamp", "200001")
    assert p["database.password"] == ""
    assert p["converter.schemas.enable"] == "false"
    assert connector.heartbeat_topic == f"revamp.revamp.{HEARTBEAT_TABLE}"
    # the sync service's marker table, in the DSN's database, says which are its transactions
    assert p["table.include.list"].endswith(r",revamp\.tandem_sync_marker")
    assert connector.marker_topic == "revamp.revamp.tandem_sync_marker"


def test_the_marker_table_is_read_in_the_dsns_database(tmp_path: Path) -> None:
    connector = mysql_connector(
        REVAMP, prefix="revamp", tables=[("app", "users")], server_id=1, state_dir=tmp_path,
    )  # fmt: skip
    assert connector.properties["database.include.list"] == "app,revamp"
    assert connector.marker_topic == "revamp.revamp.tandem_sync_marker"


def test_a_schema_history_from_before_the_marker_leaves_the_marker_unread(
    tmp_path: Path,
) -> None:
    """Debezium stops at a row of a table its history does not know: such a state keeps
    running as it did (the `source` triggers stop the echoes), and says so at start."""
    (tmp_path / "debezium-revamp.history").write_text('{"ddl":"CREATE TABLE `revamp_users`"}')
    connector = mysql_connector(
        REVAMP, prefix="revamp", tables=[("revamp", "revamp_users")], server_id=1,
        state_dir=tmp_path,
    )  # fmt: skip
    assert connector.marker_topic is None
    assert "tandem_sync_marker" not in connector.properties["table.include.list"]


def test_table_names_are_anchored_regular_expressions() -> None:
    assert include_list([("a.b", "c$d")]) == r"a\.b\.c\$d"


def heartbeat_event(beat: int, wrapped: bool) -> bytes:
    payload = {"before": None, "after": {"id": 1, "beat": beat}, "op": "u"}
    return orjson.dumps({"schema": {}, "payload": payload} if wrapped else payload)


@pytest.mark.parametrize("wrapped", [True, False])
def test_a_heartbeat_is_read_with_or_without_the_schema_wrapper(wrapped: bool) -> None:
    assert beat_of(heartbeat_event(42, wrapped)) == 42
    assert beat_of(None) is None


class RecordingPublisher:
    def __init__(self, failures: int = 0) -> None:
        self.failures, self.published, self.queued = failures, [], []

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.queued.append((topic, key, value))

    def flush(self) -> None:
        queued, self.queued = self.queued, []
        if self.failures:
            self.failures -= 1
            raise BrokerUnavailableError("broker away (injected)")
        self.published += queued


class CountingHeartbeat:
    """Beats 1, 2, 3, ... without a database."""

    def __init__(self) -> None:
        self.beats = 0

    def beat(self) -> int:
        self.beats += 1
        return self.beats

    def close(self) -> None:
        return None


def runner(tmp_path: Path, publisher: RecordingPublisher) -> DebeziumCaptureRunner:
    connector = postgres_connector(
        LEGACY, prefix="legacy", tables=LEGACY_TABLES, slot="s", publication="s",
        state_dir=tmp_path,
    )  # fmt: skip
    return DebeziumCaptureRunner(
        connector,
        publisher,
        CountingHeartbeat(),  # type: ignore[arg-type]
        name="legacy",
        max_backoff_s=0.0,
    )


def test_a_batch_is_published_byte_for_byte_and_the_heartbeats_are_held_back(
    tmp_path: Path,
) -> None:
    publisher = RecordingPublisher()
    capture = runner(tmp_path, publisher)
    change = ("legacy.public.legacy_users", b'{"id":1}', b'{"op":"c"}')
    tombstone = ("legacy.public.legacy_users", b'{"id":1}', None)
    capture.deliver([
        change,
        (capture.connector.heartbeat_topic, b'{"id":1}', heartbeat_event(7, wrapped=True)),
        ("__debezium-heartbeat.legacy", b'{"serverName":"legacy"}', b'{"ts_ms":1}'),
        tombstone,
    ])  # fmt: skip
    assert publisher.published == [change, tombstone]
    assert capture.published == 2


def test_a_batch_the_broker_does_not_take_is_published_again_until_it_does(
    tmp_path: Path,
) -> None:
    publisher = RecordingPublisher(failures=2)
    capture = runner(tmp_path, publisher)
    change = ("legacy.public.legacy_users", b'{"id":1}', b'{"op":"c"}')
    capture.deliver([change])
    assert publisher.published == [change]
    assert (capture.failures, capture.recoveries, capture.last_error) == (0, 1, None)


def test_a_batch_failing_while_the_capture_stops_is_left_to_the_engine(tmp_path: Path) -> None:
    """Not marked processed: the engine sends it again when it starts next time."""
    capture = runner(tmp_path, RecordingPublisher(failures=1))
    capture.close()
    with pytest.raises(BrokerUnavailableError):
        capture.deliver([("legacy.public.legacy_users", b'{"id":1}', b"{}")])
    assert capture.published == 0


def test_caught_up_once_the_engine_delivered_a_beat_written_after_the_call(
    tmp_path: Path,
) -> None:
    capture = runner(tmp_path, RecordingPublisher())
    earlier = (capture.connector.heartbeat_topic, None, heartbeat_event(0, wrapped=False))
    capture.deliver([earlier])  # a beat from before: not enough
    beat = (capture.connector.heartbeat_topic, None, heartbeat_event(1, wrapped=False))
    threading.Timer(0.05, capture.deliver, args=([beat],)).start()
    capture.caught_up(max_s=60.0)  # the first beat it writes is 1


def test_without_the_extra_the_debezium_capture_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pydbzengine", None)  # as if not installed
    with pytest.raises(CaptureConfigurationError, match=r"tandem-sync\[debezium\]"):
        check_available()


def test_without_java_the_debezium_capture_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import jpype

    def no_java() -> str:
        raise jpype.JVMNotFoundException("No JVM shared library file (libjvm.so) found")

    monkeypatch.setattr(jpype, "getDefaultJVMPath", no_java)
    with pytest.raises(CaptureConfigurationError, match="Java 17"):
        check_available()


def test_the_binlog_position_of_the_last_delivered_event_is_recorded(tmp_path: Path) -> None:
    from adapters.capture.debezium_engine.position import (
        BinlogPositionFile,
        load_binlog_position,
    )

    def event(pos: int, wrapped: bool) -> bytes:
        payload = {"op": "c", "source": {"file": "mysql-bin.000002", "pos": pos, "row": 0}}
        return orjson.dumps({"schema": {}, "payload": payload} if wrapped else payload)

    path = tmp_path / "position.json"
    recorder = BinlogPositionFile(path)
    recorder.record([])
    assert load_binlog_position(path) is None
    beat = ("__debezium-heartbeat.x", b"{}", b'{"ts_ms":1}')
    recorder.record([("t", b"{}", event(400, True)), ("t", b"{}", event(900, False)),
                     ("t", b"{}", None), beat])  # fmt: skip
    assert load_binlog_position(path) == ("mysql-bin.000002", 900)
    recorder.record([("t", b"{}", event(1200, True))])
    assert load_binlog_position(path) == ("mysql-bin.000002", 1200)
