"""TRUNCATE through `tandem run` and the built-in capture: dead-lettered by default, naming
the table; under SYNC_TRUNCATE=propagate the linked rows on the other side go too."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import Engine

from tests.e2e.processes import (
    TANDEM,
    Process,
    execute,
    run_command,
    scalar,
    started,
    wait_for,
)


def test_propagated_truncates_empty_the_other_side_both_ways(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    env_file.write_text(env_file.read_text() + "SYNC_TRUNCATE=propagate\n")
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    with started(run):
        execute(legacy, "INSERT INTO legacy_users (username, email) VALUES ('ada', 'a@e.com')")
        execute(
            revamp, "INSERT INTO revamp_users (user_name, email_address) VALUES ('bo', 'b@e.com')"
        )
        wait_for(lambda: scalar(legacy, "SELECT count(*) FROM legacy_users") == 2,
                 why="bo reaches legacy", watch=run)  # fmt: skip
        execute(
            legacy,
            "INSERT INTO legacy_posts (post_title, user_id, status) "
            "SELECT 'Hi', id, 'draft' FROM legacy_users WHERE username = 'ada'",
        )
        execute(
            legacy,
            "INSERT INTO legacy_likes (user_id, post_id) SELECT u.id, p.id "
            "FROM legacy_users u, legacy_posts p",
        )
        wait_for(
            lambda: (
                scalar(revamp, "SELECT count(*) FROM revamp_likes") == 2
                and scalar(legacy, "SELECT count(*) FROM legacy_users") == 2
            ),
            why="both users, the post and both likes on both sides",
            watch=run,
        )
        execute(revamp, "TRUNCATE revamp_likes")  # MariaDB: a DDL query in the binlog
        wait_for(
            lambda: scalar(legacy, "SELECT count(*) FROM legacy_likes") == 0,
            why="the MySQL truncate empties legacy_likes",
            watch=run,
        )
        assert scalar(legacy, "SELECT count(*) FROM legacy_posts") == 1  # only likes went
        execute(legacy, "TRUNCATE legacy_users CASCADE")  # posts with it, in one message
        wait_for(
            lambda: (
                scalar(revamp, "SELECT count(*) FROM revamp_users") == 0
                and scalar(revamp, "SELECT count(*) FROM revamp_posts") == 0
            ),
            why="the PostgreSQL truncate empties revamp's users (one came from revamp) and posts",
            watch=run,
        )
        run.signal(signal.SIGTERM)
        assert run.wait(30) == 0
    listed = run_command([*TANDEM, "dlq", "list", "--env-file", str(env_file)])
    assert "0 dead letters" in listed.stdout


def test_a_truncate_is_dead_lettered_by_default_and_changes_nothing(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    with started(run):
        execute(legacy, "INSERT INTO legacy_users (username, email) VALUES ('ada', 'a@e.com')")
        wait_for(lambda: scalar(revamp, "SELECT count(*) FROM revamp_users") == 1,
                 why="the user arrives", watch=run)  # fmt: skip
        execute(legacy, "TRUNCATE legacy_users CASCADE")
        listed = wait_for(
            lambda: (
                "TRUNCATE of legacy_users on legacy"
                in (
                    out := run_command([*TANDEM, "dlq", "list", "--env-file", str(env_file)]).stdout
                )
                and out
            ),
            why="the truncate is dead-lettered, naming the table",
            watch=run,
        )
        assert "TruncateNotPropagatedError" in listed
        assert scalar(revamp, "SELECT count(*) FROM revamp_users") == 1
