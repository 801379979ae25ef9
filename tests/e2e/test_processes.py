"""The product as users run it: real commands in real processes, real signals, real servers.

Each test writes its own env file (own topics, slot and state), runs `tandem migrate`, then
starts `tandem run`, or `python -m entrypoints.cdc` and `python -m entrypoints.consumer`
separately so that each can be killed on its own.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from tests.e2e.processes import (
    CDC,
    CONSUMER,
    TANDEM,
    Process,
    execute,
    read_env_file,
    rows,
    run_command,
    scalar,
    started,
    topic_end_offsets,
    wait_for,
)

pytestmark = pytest.mark.e2e


def everything(engines: dict[str, Engine]) -> dict[str, list[dict[str, Any]]]:
    """Every row of every synced table on both sides."""
    tables = {
        "legacy": ("legacy_users", "legacy_posts", "legacy_likes"),
        "revamp": ("revamp_users", "revamp_posts", "revamp_likes"),
    }
    return {
        f"{side}.{table}": rows(engines[side], f"SELECT * FROM {table} ORDER BY id")
        for side, names in tables.items()
        for table in names
    }


def test_tandem_run_syncs_both_ways_then_goes_quiet(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    port = free_port()
    env_file.write_text(env_file.read_text() + f"SYNC_HTTP_PORT={port}\n")
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    with started(run):
        execute(
            legacy,
            "INSERT INTO legacy_users (username, email, status) "
            "VALUES ('ada', 'ada@example.com', 'active')",
        )
        (copy,) = wait_for(
            lambda: rows(
                revamp, "SELECT * FROM revamp_users WHERE email_address = 'ada@example.com'"
            ),
            why="the PostgreSQL insert reaches MySQL",
            watch=run,
        )
        assert (copy["user_name"], copy["status"], copy["source"]) == (
            "ada",
            "Active",
            "sync_service",
        )

        metrics = prometheus_samples(port)
        applied = metrics[("tandem_events_total", "legacy-to-revamp", "legacy_users", "applied")]
        assert applied >= 1
        assert metrics[("tandem_source_to_target_seconds_count", "legacy-to-revamp", "", "")] >= 1
        assert metrics[("tandem_capture_published_total", "", "", "")] >= 1
        assert ("tandem_build_info", "", "", "") in metrics

        # an application update of the row the sync wrote last, not touching `source`
        execute(revamp, "UPDATE revamp_users SET status = 'Banned' WHERE id = :id", id=copy["id"])
        assert scalar(revamp, "SELECT source FROM revamp_users WHERE id = :id", id=copy["id"]) == (
            "revamp"
        )
        wait_for(
            lambda: (
                scalar(legacy, "SELECT status FROM legacy_users WHERE username = 'ada'") == "banned"
            ),
            why="the MySQL update comes back to PostgreSQL",
            watch=run,
        )

        # children on one side, a cascading delete on the other
        execute(
            legacy,
            "INSERT INTO legacy_posts (post_title, post_content, user_id, status) "
            "SELECT 'Hello', 'first', id, 'published' FROM legacy_users WHERE username = 'ada'",
        )
        execute(
            legacy,
            "INSERT INTO legacy_likes (user_id, post_id) "
            "SELECT u.id, p.id FROM legacy_users u, legacy_posts p WHERE u.username = 'ada'",
        )
        wait_for(
            lambda: scalar(revamp, "SELECT count(*) FROM revamp_likes") == 1,
            why="post and like reach MySQL",
            watch=run,
        )
        assert scalar(revamp, "SELECT author_id FROM revamp_posts") == copy["id"]
        execute(revamp, "DELETE FROM revamp_users WHERE id = :id", id=copy["id"])
        wait_for(
            lambda: scalar(legacy, "SELECT count(*) FROM legacy_users") == 0,
            why="the MySQL delete reaches PostgreSQL",
            watch=run,
        )
        assert scalar(legacy, "SELECT count(*) FROM legacy_posts") == 0  # cascaded

        # quiet: after the last change settles, nothing moves any more
        time.sleep(1.0)
        rows_before, offsets_before = everything(clean_engines), topic_end_offsets(env_file)
        time.sleep(1.5)
        assert everything(clean_engines) == rows_before
        assert topic_end_offsets(env_file) == offsets_before
        dlq = read_env_file(env_file)["SYNC_DLQ_TOPIC"]
        assert sum(n for (topic, _), n in offsets_before.items() if topic == dlq) == 0

        run.signal(signal.SIGTERM)
        assert run.wait(60) == 0, run.output()[-3000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prometheus_samples(port: int) -> dict[tuple[str, str, str, str], float]:
    """(name, direction, table, outcome) -> value, summed over other labels, from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    found: dict[tuple[str, str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            key = (
                sample.name,
                labels.get("direction", ""),
                labels.get("table", ""),
                labels.get("outcome", ""),
            )
            found[key] = found.get(key, 0.0) + sample.value
    return found


def write_users(engine: Engine, prefix: str, count: int, table: str, columns: str) -> None:
    for i in range(count):
        execute(
            engine,
            f"INSERT INTO {table} ({columns}) VALUES (:name, :email, :status)",
            name=f"{prefix}{i}",
            email=f"{prefix}{i}@example.com",
            status="active" if table == "legacy_users" else "Active",
        )
        time.sleep(0.005)


def test_sigkill_of_capture_and_consumer_mid_stream_loses_and_duplicates_nothing(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    per_side = 300
    args = ["--env-file", str(env_file)]
    cdc = Process([*CDC, *args], tmp_path / "cdc.log")
    consumer = Process([*CONSUMER, *args], tmp_path / "consumer.log")
    writers = [
        threading.Thread(
            target=write_users,
            args=(legacy, "pg", per_side, "legacy_users", "username, email, status"),
        ),
        threading.Thread(
            target=write_users,
            args=(revamp, "my", per_side, "revamp_users", "user_name, email_address, status"),
        ),
    ]
    with started(cdc, consumer):
        for writer in writers:
            writer.start()

        def synced() -> int:
            return int(
                scalar(revamp, "SELECT count(*) FROM revamp_users WHERE source = 'sync_service'")
            )

        wait_for(lambda: synced() >= 30, why="sync under way", watch=consumer)
        cdc.kill()
        cdc.start()
        wait_for(lambda: synced() >= 120, why="sync resumes after the capture's SIGKILL", watch=cdc)
        consumer.kill()
        consumer.start()
        # the second start's own line: a SIGTERM before it would end a process still importing
        wait_for(lambda: consumer.output().count('"sync started"') >= 2, why="restarted")
        for writer in writers:
            writer.join()
        total = 2 * per_side
        for engine, table in ((legacy, "legacy_users"), (revamp, "revamp_users")):
            wait_for(
                lambda e=engine, t=table: scalar(e, f"SELECT count(*) FROM {t}") >= total,
                timeout_s=120,
                why=f"every user reaches {table}",
                watch=consumer,
            )
        time.sleep(1.0)  # anything duplicated would have landed by now
        for engine, table, email in (
            (legacy, "legacy_users", "email"),
            (revamp, "revamp_users", "email_address"),
        ):
            assert scalar(engine, f"SELECT count(*) FROM {table}") == total
            assert scalar(engine, f"SELECT count(DISTINCT {email}) FROM {table}") == total
        consumer.signal(signal.SIGTERM)
        assert consumer.wait(60) == 0, consumer.output()[-3000:]
    assert "Traceback" not in consumer.output()
    reconciled = run_command([*TANDEM, "reconcile", *args])
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


# Debezium's PostgreSQL connector, JSON converter with schemas enabled (its documented shape).
def documented_event(prefix: str) -> dict[str, Any]:
    def column(kind: str, field: str, optional: bool = True, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "optional": optional, "field": field, **extra}

    micro = {"name": "io.debezium.time.MicroTimestamp", "version": 1}
    row_fields = [
        column("int32", "id", optional=False, default=0),
        column("string", "username", optional=False),
        column("string", "email", optional=False),
        column("string", "status", optional=False),
        column("string", "source", optional=False),
        column("int64", "created_at", **micro),
        column("int64", "updated_at", **micro),
    ]
    value = f"{prefix}.public.legacy_users.Value"
    source_fields = [
        column("string", "version", optional=False),
        column("string", "connector", optional=False),
        column("string", "name", optional=False),
        column("int64", "ts_ms", optional=False),
        column("string", "snapshot", default="false"),
        column("string", "db", optional=False),
        column("string", "sequence"),
        column("string", "schema", optional=False),
        column("string", "table", optional=False),
        column("int64", "txId"),
        column("int64", "lsn"),
        column("int64", "xmin"),
    ]
    return {
        "schema": {
            "type": "struct",
            "fields": [
                {"type": "struct", "fields": row_fields, "optional": True, "name": value,
                 "field": "before"},
                {"type": "struct", "fields": row_fields, "optional": True, "name": value,
                 "field": "after"},
                {"type": "struct", "fields": source_fields, "optional": False,
                 "name": "io.debezium.connector.postgresql.Source", "field": "source"},
                column("string", "op", optional=False),
                column("int64", "ts_ms"),
            ],
            "optional": False,
            "name": f"{prefix}.public.legacy_users.Envelope",
            "version": 1,
        },
        "payload": {
            "before": None,
            "after": {
                "id": 1,
                "username": "grace",
                "email": "grace@example.com",
                "status": "active",
                "source": "legacy",
                "created_at": 1_700_000_000_000_000,
                "updated_at": 1_700_000_000_000_000,
            },
            "source": {
                "version": "2.7.3.Final",
                "connector": "postgresql",
                "name": prefix,
                "ts_ms": 1_700_000_000_123,
                "snapshot": "false",
                "db": "legacy",
                "sequence": '[null,"24023128"]',
                "schema": "public",
                "table": "legacy_users",
                "txId": 555,
                "lsn": 24023128,
                "xmin": None,
            },
            "op": "c",
            "ts_ms": 1_700_000_000_200,
        },
    }  # fmt: skip


def test_a_documented_debezium_event_becomes_one_revamp_row_however_often_it_comes(
    env_file: Path, clean_engines: dict[str, Engine]
) -> None:
    values = read_env_file(env_file)
    prefix = values["SYNC_LEGACY_TOPIC_PREFIX"]
    key = {
        "schema": {
            "type": "struct",
            "fields": [{"type": "int32", "optional": False, "default": 0, "field": "id"}],
            "optional": False,
            "name": f"{prefix}.public.legacy_users.Key",
        },
        "payload": {"id": 1},
    }
    publisher = KafkaEventPublisher(
        KafkaSettings.from_options((values["SYNC_KAFKA_BOOTSTRAP"],), {})
    )
    consume = [*CONSUMER, "--once", "--direction", "legacy-to-revamp", "--env-file", str(env_file)]

    def deliver() -> None:
        publisher.publish(
            f"{prefix}.public.legacy_users",
            json.dumps(key).encode(),
            json.dumps(documented_event(prefix)).encode(),
        )
        publisher.flush()
        result = run_command(consume)
        assert result.returncode == 0, result.stderr[-3000:]

    revamp = clean_engines["revamp"]
    deliver()
    (row,) = rows(revamp, "SELECT * FROM revamp_users")
    assert (row["user_name"], row["email_address"], row["status"], row["source"]) == (
        "grace",
        "grace@example.com",
        "Active",
        "sync_service",
    )
    assert row["updated_at"].isoformat() == "2023-11-14T22:13:20"
    deliver()  # the same change again: a redelivery
    deliver()
    assert rows(revamp, "SELECT * FROM revamp_users") == [row]
    assert scalar(revamp, "SELECT count(*) FROM processed_events") == 1
    assert scalar(revamp, "SELECT count(*) FROM entity_mappings") == 1
    publisher.close()
