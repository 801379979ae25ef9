"""`tandem stack`: real PostgreSQL, MariaDB and Tansu processes on loopback."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest

from devstack import StackError, down, start_part, status, stop_part, up
from devstack.procs import group_left

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    stack_dir = tmp_path_factory.mktemp("devstack") / "stack"
    try:
        values = up(stack_dir, environ={})  # never the SYNC_* servers of the environment
    except StackError as exc:
        if "not found" in str(exc):
            pytest.skip(str(exc))
        raise
    yield stack_dir, values
    down(stack_dir, purge=True)


def _port(dsn: str) -> int:
    port = urlsplit(dsn).port
    assert port is not None
    return port


def _mariadb(values: dict[str, str]) -> pymysql.connections.Connection:
    port = _port(values["SYNC_REVAMP_DSN"])
    return pymysql.connect(host="127.0.0.1", port=port, user="root", database="revamp")


def test_stack_env_names_every_part(stack: tuple[Path, dict[str, str]]) -> None:
    stack_dir, values = stack
    lines = (stack_dir / "stack.env").read_text().splitlines()
    assert lines == [f"{key}={value}" for key, value in values.items()]
    assert values["SYNC_LEGACY_DSN"].startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert values["SYNC_LEGACY_DSN"].endswith("/legacy")
    assert values["SYNC_REVAMP_DSN"].startswith("mysql+pymysql://root@127.0.0.1:")
    assert values["SYNC_KAFKA_BOOTSTRAP"].startswith("127.0.0.1:")
    assert values["TANDEM_STACK_DIR"] == str(stack_dir.resolve())
    assert values["SYNC_STATE_DIR"] == str(stack_dir.resolve() / "state")  # lives with it


def test_postgres_has_logical_decoding(stack: tuple[Path, dict[str, str]]) -> None:
    port = _port(stack[1]["SYNC_LEGACY_DSN"])
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="legacy") as conn:
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)


def test_mariadb_has_full_row_binlog(stack: tuple[Path, dict[str, str]]) -> None:
    conn = _mariadb(stack[1])
    with conn.cursor() as cur:
        cur.execute("SELECT @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@log_bin")
        assert cur.fetchone() == ("ROW", "FULL", "FULL", 1)
    conn.close()


def test_mariadb_reports_the_version_debezium_reads_as_mariadb(
    stack: tuple[Path, dict[str, str]],
) -> None:
    """`5.5.5-10.x-MariaDB`, in VERSION() as in the handshake: Debezium 3.x's MySQL connector
    otherwise takes 10.x for MySQL 8.4 and asks for SHOW BINARY LOG STATUS."""
    conn = _mariadb(stack[1])
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        (version,) = cur.fetchone()
    assert version.startswith("5.5.5-10.") and "MariaDB" in version
    assert conn.get_server_info() == version
    conn.close()


def test_broker_answers_metadata(stack: tuple[Path, dict[str, str]]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=stack[1]["SYNC_KAFKA_BOOTSTRAP"])
    try:
        sent = producer.send("tandem.stack.probe", b"hello").get(timeout=15)
        assert sent.topic == "tandem.stack.probe"
    finally:
        producer.close()


def test_up_again_reuses_the_running_processes(stack: tuple[Path, dict[str, str]]) -> None:
    stack_dir, values = stack
    before = status(stack_dir)
    assert all(row.running for row in before)
    assert up(stack_dir, environ={}) == values
    assert status(stack_dir) == before


def test_killed_mariadb_restarts_with_its_data(stack: tuple[Path, dict[str, str]]) -> None:
    stack_dir, values = stack
    conn = _mariadb(values)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE crash_probe (id INT PRIMARY KEY, note VARCHAR(20))")
        cur.execute("INSERT INTO crash_probe VALUES (1, 'committed')")
    conn.commit()
    conn.close()

    killed = stop_part(stack_dir, "mariadb", signal.SIGKILL)
    assert killed is not None
    assert not {row.part: row.running for row in status(stack_dir)}["mariadb"]

    restarted = start_part(stack_dir, "mariadb")
    assert restarted != killed
    assert (stack_dir / "stack.env").read_text().splitlines()[1] == (
        f"SYNC_REVAMP_DSN={values['SYNC_REVAMP_DSN']}"  # same port
    )
    conn = _mariadb(values)
    with conn.cursor() as cur:
        cur.execute("SELECT id, note FROM crash_probe")
        assert cur.fetchall() == ((1, "committed"),)
    conn.close()


def test_down_leaves_no_process(stack: tuple[Path, dict[str, str]]) -> None:
    stack_dir = stack[0]
    pids = [row.pid for row in status(stack_dir) if row.pid is not None]
    assert len(pids) == 3
    assert sorted(down(stack_dir)) == ["broker", "mariadb", "postgres"]
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
        assert not group_left(pid)
    assert not any(row.running for row in status(stack_dir))
