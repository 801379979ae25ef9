"""`tandem run` while its databases are killed with SIGKILL and started again."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from devstack import start_part, stop_part
from tests.e2e.processes import TANDEM, Process, execute, run_command, scalar, started, wait_for

pytestmark = pytest.mark.chaos


def add_legacy_user(engine: Engine, name: str) -> None:
    execute(
        engine,
        "INSERT INTO legacy_users (username, email, status) VALUES (:n, :e, 'active')",
        n=name,
        e=f"{name}@example.com",
    )


def add_revamp_user(engine: Engine, name: str) -> None:
    execute(
        engine,
        "INSERT INTO revamp_users (user_name, email_address, status) VALUES (:n, :e, 'Active')",
        n=name,
        e=f"{name}@example.com",
    )


def test_tandem_run_rides_out_killed_databases(
    env_file: Path,
    clean_engines: dict[str, Engine],
    running_stack: dict[str, str],
    tmp_path: Path,
) -> None:
    stack_dir = running_stack.get("TANDEM_STACK_DIR")
    if not stack_dir:
        pytest.skip("the servers come from SYNC_* settings: not ours to kill")
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")

    def count(engine: Engine, table: str) -> int:
        return int(scalar(engine, f"SELECT count(*) FROM {table}"))

    def arrives(engine: Engine, table: str, rows: int, why: str) -> None:
        wait_for(lambda: count(engine, table) == rows, timeout_s=120, why=why, watch=run)

    with started(run):
        add_legacy_user(legacy, "first")
        arrives(revamp, "revamp_users", 1, "sync runs")

        # MariaDB dies: legacy changes queue up in Kafka, then arrive once it is back
        stop_part(Path(stack_dir), "mariadb", signal.SIGKILL)
        for name in ("pg1", "pg2", "pg3"):
            add_legacy_user(legacy, name)
        start_part(Path(stack_dir), "mariadb")
        revamp.dispose()  # the pool's connections died with the server
        arrives(revamp, "revamp_users", 4, "changes made while MariaDB was down arrive")
        add_revamp_user(revamp, "my1")
        arrives(legacy, "legacy_users", 5, "the binlog capture reconnects")

        # PostgreSQL dies: revamp changes wait, then arrive; its capture resumes from the slot
        stop_part(Path(stack_dir), "postgres", signal.SIGKILL)
        add_revamp_user(revamp, "my2")
        start_part(Path(stack_dir), "postgres")
        legacy.dispose()
        arrives(legacy, "legacy_users", 6, "changes made while PostgreSQL was down arrive")
        add_legacy_user(legacy, "pg4")
        arrives(revamp, "revamp_users", 7, "the PostgreSQL capture reconnects")
        run.signal(signal.SIGTERM)
        assert run.wait(60) == 0, run.output()[-3000:]
    for engine, table in ((legacy, "legacy_users"), (revamp, "revamp_users")):
        assert count(engine, table) == 7
    reconciled = run_command([*TANDEM, "reconcile", "--env-file", str(env_file)])
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
