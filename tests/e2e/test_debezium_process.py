"""`tandem run` with SYNC_CAPTURE=debezium, as a user runs it: a real process whose captures
are Debezium's connectors, real signals, real servers."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

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
