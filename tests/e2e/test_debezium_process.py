"""`tandem run` with SYNC_CAPTURE=debezium, as a user runs it: a real process whose captures
are Debezium's connectors, real signals, real servers."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.capture.debezium_engine.connector import HEARTBEAT_TABLE
from adapters.capture.debezium_engine.slot import drop_postgres
from tests.e2e.processes import (
    TANDEM,
    Process,
    execute,
    read_env_file,
    run_command,
    scalar,
    started,
    wait_for,
    write_env_file,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def debezium_env(
    running_stack: dict[str, str], clean_engines: dict[str, Engine], tmp_path: Path
) -> Iterator[Path]:
    """Settings of this test (own topics, slot, state) with SYNC_CAPTURE=debezium, migrated."""
    path = write_env_file(running_stack, tmp_path, SYNC_CAPTURE="debezium")
    values = read_env_file(path)
    slot = f"{values['SYNC_LEGACY_SLOT']}_dbz"
    path.write_text(path.read_text() + f"SYNC_DEBEZIUM_SLOT={slot}\n")
    migrated = run_command([*TANDEM, "migrate", "--env-file", str(path)])
    assert migrated.returncode == 0, migrated.stderr
    yield path
    drop_postgres(values["SYNC_LEGACY_DSN"], slot, slot)


def test_tandem_run_through_debezium_syncs_both_ways_and_stops_on_sigterm(
    debezium_env: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    run = Process([*TANDEM, "run", "--env-file", str(debezium_env)], tmp_path / "run.log")
    with started(run):
        # written before the engine streams: migrate made the slot, so it is not missed
        execute(
            legacy,
            "INSERT INTO legacy_users (username, email, status) "
            "VALUES ('ada', 'ada@example.com', 'active')",
        )
        copy = wait_for(
            lambda: scalar(revamp, "SELECT id FROM revamp_users WHERE user_name = 'ada'"),
            why="the PostgreSQL insert reaches MySQL through Debezium",
            watch=run,
        )
        execute(revamp, "UPDATE revamp_users SET status = 'Banned' WHERE id = :id", id=copy)
        wait_for(
            lambda: (
                scalar(legacy, "SELECT status FROM legacy_users WHERE username = 'ada'") == "banned"
            ),
            why="the MySQL update comes back to PostgreSQL through Debezium",
            watch=run,
        )
        execute(revamp, "DELETE FROM revamp_users WHERE id = :id", id=copy)
        wait_for(
            lambda: scalar(legacy, "SELECT count(*) FROM legacy_users") == 0,
            why="the MySQL delete reaches PostgreSQL",
            watch=run,
        )
        run.signal(signal.SIGTERM)
        assert run.wait(30) == 0, run.output()[-3000:]  # the guard is no timing assertion
    output = run.output()
    assert "Traceback" not in output, output[-3000:]
    assert "stopped without waiting for: capture" not in output, output[-3000:]


def _binlog(env_file: Path) -> dict[str, Any]:
    done = run_command([*TANDEM, "status", "--json", "--env-file", str(env_file)])
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout)["capture"]["revamp"]["binlog"])


def test_status_tells_how_far_debeziums_mysql_connector_is_behind_the_binlog(
    debezium_env: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    """The distance from where the connector has delivered to the binlog's end: 0 once it has
    read everything, growing while it is stopped and the application writes."""
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    assert _binlog(debezium_env)["checkpoint"] is None  # never delivered yet
    run = Process([*TANDEM, "run", "--env-file", str(debezium_env)], tmp_path / "run.log")
    with started(run):

        def streaming() -> bool:  # MySQL streaming starts at the connector's first start
            execute(revamp, f"UPDATE {HEARTBEAT_TABLE} SET beat = beat + 1")
            return _binlog(debezium_env)["checkpoint"] is not None

        wait_for(streaming, why="the connector delivers the heartbeat table's change", watch=run)
        execute(
            revamp,
            "INSERT INTO revamp_users (user_name, email_address, status) "
            "VALUES ('ada', 'ada@example.com', 'Active')",
        )
        wait_for(
            lambda: scalar(legacy, "SELECT count(*) FROM legacy_users") == 1,
            why="the MySQL insert reaches PostgreSQL through Debezium",
            watch=run,
        )
        caught_up = wait_for(
            lambda: (b := _binlog(debezium_env))["behind_bytes"] == 0 and b,
            why="status says the connector has read the whole binlog",
            watch=run,
        )
        run.signal(signal.SIGTERM)
        assert run.wait(30) == 0, run.output()[-3000:]
    assert caught_up["checkpoint"] is not None and caught_up["server"]
    for n in range(3):
        execute(
            revamp,
            "INSERT INTO revamp_users (user_name, email_address, status) "
            "VALUES (:n, :e, 'Active')",
            n=f"later{n}", e=f"later{n}@example.com",
        )  # fmt: skip
    stopped = _binlog(debezium_env)
    assert stopped["behind_bytes"] > 0 and stopped["server"] != caught_up["server"], stopped
    shown = run_command([*TANDEM, "status", "--env-file", str(debezium_env)]).stdout
    assert f"capture at {stopped['checkpoint']}" in " ".join(shown.split()), shown
