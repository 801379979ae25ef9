"""`tandem status` tells how far behind each direction is, in seconds, while a consumer is
stopped, and falls back to 0 once it has caught up; and how far capture is behind each log."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.e2e.processes import (
    TANDEM,
    Process,
    execute,
    read_env_file,
    run_command,
    started,
    wait_for,
)

CDC = [sys.executable, "-m", "entrypoints.cdc"]
CONSUMER = [sys.executable, "-m", "entrypoints.consumer"]


def status(env_file: Path) -> dict[str, Any]:
    done = run_command([*TANDEM, "status", "--json", "--env-file", str(env_file)])
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


def test_seconds_behind_grows_while_the_consumer_is_stopped_and_returns_to_zero(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy = clean_engines["legacy"]
    capture = Process([*CDC, "--env-file", str(env_file)], tmp_path / "cdc.log")
    with started(capture):
        execute(
            legacy,
            "INSERT INTO legacy_users (username, email, status) "
            "VALUES ('ada', 'ada@example.com', 'active')",
        )
        first = wait_for(
            lambda: (s := status(env_file))["lag"]["legacy-to-revamp"]["kafka_lag"] > 0 and s,
            why="capture publishes the insert; no consumer applies it",
            watch=capture,
        )
        time.sleep(2.0)
        second = status(env_file)
        before = first["lag"]["legacy-to-revamp"]["seconds_behind_source"]
        later = second["lag"]["legacy-to-revamp"]["seconds_behind_source"]
        assert later >= before + 1.5  # the same change waits, and its age grows
        assert second["lag"]["legacy-to-revamp"]["oldest_unapplied_at"].endswith("+00:00")
        assert second["lag"]["revamp-to-legacy"]["seconds_behind_source"] == 0
        ours = read_env_file(env_file)["SYNC_LEGACY_SLOT"]  # earlier tests' slots may remain
        [slot] = [s for s in second["capture"]["legacy"]["slots"] if s["slot"] == ours]
        assert slot["active"] is True and slot["behind_bytes"] >= 0
        binlog = second["capture"]["revamp"]["binlog"]
        assert binlog["server"] and binlog["behind_bytes"] is not None

        consumed = run_command([*CONSUMER, "--once", "--env-file", str(env_file)])
        assert consumed.returncode == 0, consumed.stderr
        caught_up = status(env_file)
        assert caught_up["lag"]["legacy-to-revamp"]["seconds_behind_source"] == 0
        assert caught_up["lag"]["legacy-to-revamp"]["kafka_lag"] == 0
        assert caught_up["databases"]["revamp"]["last_applied_at"].endswith("+00:00")


def test_live_view_into_a_pipe_writes_a_line_per_interval(env_file: Path) -> None:
    done = run_command(
        [*TANDEM, "run", "--env-file", str(env_file), "--traffic", "--live", "--seconds", "11"],
        timeout_s=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) >= 2, done.stdout  # one every 5 s, not one redrawn table
    for line in lines:
        assert "legacy-to-revamp: " in line and "revamp-to-legacy: " in line
        assert " s behind" in line and "| dlq 0 |" in line
    assert lines[-1].endswith("all ready")
