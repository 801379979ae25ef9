"""A row bigger than the broker's default message limit (1 MB) stops nothing.

A 1.5 MB PostgreSQL row goes through the built-in capture and the broker (the producers'
and topics' limits are raised to fit); revamp's TEXT column cannot hold it, so the consumer
dead-letters it with the server's reason, and the change after it flows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.processes import TANDEM, Process, execute, rows, started, wait_for
from tests.e2e.wire import Wire

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
BIG = 1_500_000


def test_a_one_and_a_half_megabyte_row_is_published_and_the_next_change_flows(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    wire = Wire(env_file)
    with started(run):
        execute(legacy, "INSERT INTO legacy_users (username, email) VALUES ('ann', 'ann@ex.org')")
        execute(
            legacy,
            "INSERT INTO legacy_posts (post_title, post_content, user_id)"
            " VALUES ('huge', repeat('x', :size), 1)",
            size=BIG,
        )
        execute(legacy, "INSERT INTO legacy_users (username, email) VALUES ('bob', 'bob@ex.org')")
        wait_for(
            lambda: len(rows(revamp, "SELECT id FROM revamp_users")) == 2,
            120,
            "the change after the big row",
            run,
        )
        letters = wait_for(wire.dead_letters, 60, "the big row's dead letter", run)
        assert run.running
    (letter,) = letters.values()
    assert letter.topic.endswith(".public.legacy_posts")
    assert letter.error_type == "ValueRejectedError"
    assert "1406" in letter.error_message and "content" in letter.error_message
    event = letter.original_event
    assert len(event.get("payload", event)["after"]["post_content"]) == BIG
    assert rows(revamp, "SELECT id FROM revamp_posts") == []
    assert "part died" not in run.output()
    wire.close()
