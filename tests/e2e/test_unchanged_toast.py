"""A TOASTed column an update did not carry is left as it is, never overwritten with Debezium's
`__debezium_unavailable_value`; `tandem migrate` names the table and the statement to fix it."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.processes import TANDEM, Process, execute, rows, run_command, started, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_an_update_at_replica_identity_default_leaves_the_toasted_column_unchanged(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    content = secrets.token_hex(20_000)  # 40 kB of random text: stored out of line, not inline
    execute(legacy, "ALTER TABLE legacy_posts REPLICA IDENTITY DEFAULT")
    try:
        migrated = run_command([*TANDEM, "migrate", "--env-file", str(env_file)])
        assert migrated.returncode == 0, migrated.stderr
        assert (
            "warning: legacy public.legacy_posts: REPLICA IDENTITY DEFAULT" in migrated.stdout
            and "ALTER TABLE public.legacy_posts REPLICA IDENTITY FULL" in migrated.stdout
        ), migrated.stdout
        run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
        with started(run):
            execute(legacy, "INSERT INTO legacy_users (username, email) VALUES ('a', 'a@ex.org')")
            execute(
                legacy,
                "INSERT INTO legacy_posts (post_title, post_content, user_id, status)"
                " VALUES ('first', :content, 1, 'draft')",
                content=content,
            )
            wait_for(lambda: rows(revamp, "SELECT id FROM revamp_posts"), 120, "the post", run)
            execute(legacy, "UPDATE legacy_posts SET post_title = 'second'")
            wait_for(
                lambda: rows(revamp, "SELECT id FROM revamp_posts WHERE title = 'second'"),
                120,
                "the update",
                run,
            )
        [post] = rows(revamp, "SELECT content FROM revamp_posts")
        assert post["content"] == content
    finally:
        execute(legacy, "ALTER TABLE legacy_posts REPLICA IDENTITY FULL")
