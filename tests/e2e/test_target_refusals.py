"""A change the target refuses goes to the DLQ alone; an outage is waited out, never dead-lettered.

Real consumer processes against the real servers: a CHECK constraint on each database refuses
one change of a batch while the next applies; PostgreSQL made read-only (as during a
failover) holds every change back until it is writable again, and nothing is dead-lettered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from domain.events import Platform
from tests.e2e.processes import CONSUMER, Process, execute, rows, run_command, started, wait_for
from tests.e2e.wire import Wire
from tests.support.debezium_messages import DebeziumFeed

pytestmark = pytest.mark.e2e
READ_ONLY_SECONDS = float(os.environ.get("TANDEM_READ_ONLY_SECONDS", "20"))  # 45 in make fuzz
TARGET_TABLE = {"legacy": "revamp_users", "revamp": "legacy_users"}
NAME_COLUMN = {"legacy": "user_name", "revamp": "username"}


def user(feed: DebeziumFeed, origin: Platform, row_id: int, name: str) -> object:
    moment = feed.now
    if origin is Platform.LEGACY:
        row = {"id": row_id, "username": name, "email": f"{name}@example.com"}
        table, status = "legacy_users", "active"
    else:
        row = {"id": row_id, "user_name": name, "email_address": f"{name}@example.com"}
        table, status = "revamp_users", "Active"
    after = row | {"status": status, "source": origin.value, "created_at": moment,
                   "updated_at": moment}  # fmt: skip
    return feed.change(origin, table, "c", row_id, after=after)


@contextmanager
def check_constraint(engine: Engine, table: str, column: str) -> Iterator[None]:
    execute(engine, f"ALTER TABLE {table} ADD CONSTRAINT no_mallory CHECK ({column} <> 'mallory')")
    try:
        yield
    finally:
        execute(engine, f"ALTER TABLE {table} DROP CONSTRAINT no_mallory")


@pytest.mark.parametrize("origin", [Platform.LEGACY, Platform.REVAMP], ids=lambda p: p.value)
def test_a_check_violation_dead_letters_one_event_while_the_next_applies(
    env_file: Path, clean_engines: dict[str, Engine], origin: Platform
) -> None:
    target = origin.other.value
    table, column = TARGET_TABLE[origin.value], NAME_COLUMN[origin.value]
    wire, feed = Wire(env_file), DebeziumFeed()
    with check_constraint(clean_engines[target], table, column):
        sent = [wire.send(user(feed, origin, i, n))  # type: ignore[arg-type]
                for i, n in enumerate(["alice", "mallory", "carol"], start=1)]  # fmt: skip
        direction = f"{origin.value}-to-{target}"
        result = run_command([*CONSUMER, "--once", "--direction", direction,
                              "--env-file", str(env_file)])  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        names = [r[column] for r in rows(clean_engines[target], f"SELECT * FROM {table}")]
    assert sorted(names) == ["alice", "carol"]
    letters = wire.dead_letters()
    assert list(letters) == [sent[1]]
    (letter,) = letters.values()
    assert letter.error_type == "ConstraintViolationError"
    assert "no_mallory" in letter.error_message
    wire.close()


@contextmanager
def read_only_postgres(engine: Engine) -> Iterator[None]:
    """Every transaction of every session read-only, as on a standby during a failover."""

    def system(value: str) -> None:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f"ALTER SYSTEM SET default_transaction_read_only = {value}"))
            conn.execute(text("SELECT pg_reload_conf()"))

    system("on")
    try:
        yield
    finally:
        system("off")


def test_postgres_read_only_for_a_while_ends_with_every_change_applied_and_no_dead_letter(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy = clean_engines["legacy"]
    wire, feed = Wire(env_file), DebeziumFeed()
    consumer = Process(
        [*CONSUMER, "--direction", "revamp-to-legacy", "--env-file", str(env_file)],
        tmp_path / "consumer.log",
    )
    with started(consumer):
        with read_only_postgres(legacy):
            for i in range(1, 6):
                wire.send(user(feed, Platform.REVAMP, i, f"user{i}"))  # type: ignore[arg-type]
            wait_for(lambda: "outage started" in consumer.output(), 60, "the outage", consumer)
            time.sleep(READ_ONLY_SECONDS)  # the outage lasts; the consumer must wait it out
            assert rows(legacy, "SELECT id FROM legacy_users") == []
            assert wire.dead_letters() == {}
        wait_for(
            lambda: len(rows(legacy, "SELECT id FROM legacy_users")) == 5,
            90,
            "every change applied once PostgreSQL is writable",
            consumer,
        )
        assert consumer.running
    assert wire.dead_letters() == {}
    log = consumer.output()
    assert log.count("outage started") == 1, log[-3000:]
    assert log.count("outage ended") == 1, log[-3000:]
    assert "Traceback" not in log
    wire.close()
