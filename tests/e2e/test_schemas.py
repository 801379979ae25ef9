"""Real schemas: a scaffolded mapping of 50 table pairs syncing both ways, and schema changes
while `tandem run` runs (added columns ignored with one warning, a renamed mapped column
pausing its direction until the mapping is fixed)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from adapters.sql.engines import open_engine
from benchmarks.wide_schema import WideTraffic, create_wide_schema
from tests.e2e.processes import (
    TANDEM,
    Process,
    drop_slot,
    execute,
    read_env_file,
    rows,
    run_command,
    scalar,
    started,
    topic_end_offsets,
    wait_for,
    write_env_file,
)

pytestmark = pytest.mark.e2e
WIDE_TABLES = 50


def _with_database(dsn: str, name: str) -> str:
    return make_url(dsn).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def wide(running_stack: dict[str, str], tmp_path: Path) -> Iterator[tuple[Path, dict[str, Engine]]]:
    """Two fresh databases holding the generated 50 table pairs; an env file pointing at them."""
    name = f"wide_{uuid.uuid4().hex[:8]}"
    admin = {
        "legacy": open_engine(_with_database(running_stack["SYNC_LEGACY_DSN"], "postgres")),
        "revamp": open_engine(running_stack["SYNC_REVAMP_DSN"]),
    }
    pg_admin = admin["legacy"].execution_options(isolation_level="AUTOCOMMIT")
    with pg_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    execute(admin["revamp"], f"CREATE DATABASE {name}")
    dsns = {
        "SYNC_LEGACY_DSN": _with_database(running_stack["SYNC_LEGACY_DSN"], name),
        "SYNC_REVAMP_DSN": _with_database(running_stack["SYNC_REVAMP_DSN"], name),
    }
    engines = {"legacy": open_engine(dsns["SYNC_LEGACY_DSN"]),
               "revamp": open_engine(dsns["SYNC_REVAMP_DSN"])}  # fmt: skip
    env_file = write_env_file(
        {**running_stack, **dsns}, tmp_path, SYNC_MAPPING=str(tmp_path / "mapping.yaml")
    )
    try:
        yield env_file, engines
    finally:
        drop_slot(engines["legacy"], env_file)
        for engine in (*engines.values(), *admin.values()):
            engine.dispose()
        with pg_admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        execute(open_engine(running_stack["SYNC_REVAMP_DSN"]), f"DROP DATABASE IF EXISTS {name}")


def _tandem(*args: str, env_file: Path, timeout_s: float = 180) -> str:
    done = run_command([*TANDEM, *args, "--env-file", str(env_file)], timeout_s)
    assert done.returncode == 0, f"tandem {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _in_sync(env_file: Path) -> bool:
    done = run_command([*TANDEM, "reconcile", "--json", "--env-file", str(env_file)])
    return done.returncode == 0 and json.loads(done.stdout)["in_sync"]


def _dead_letters(env_file: Path) -> int:
    dlq = read_env_file(env_file)["SYNC_DLQ_TOPIC"]
    return sum(n for (topic, _), n in topic_end_offsets(env_file).items() if topic == dlq)


def _warnings(log: str, column: str) -> list[dict[str, Any]]:
    found = []
    for line in log.splitlines():
        if column in line and line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "column not in the mapping: ignored":
                found.append(record)
    return found


def test_fifty_scaffolded_table_pairs_snapshot_and_sync_both_ways_under_traffic(
    wide: tuple[Path, dict[str, Engine]], tmp_path: Path
) -> None:
    env_file, engines = wide
    tables = create_wide_schema(engines["legacy"], engines["revamp"], WIDE_TABLES)
    traffic = [
        WideTraffic(engines["legacy"], tables, legacy=True, seed=1),
        WideTraffic(engines["revamp"], tables, legacy=False, seed=2),
    ]
    for side in traffic:
        side.fill(rows_per_table=2)

    _tandem("mapping", "scaffold", "--out", str(tmp_path / "mapping.yaml"), env_file=env_file)
    proposed = yaml.safe_load((tmp_path / "mapping.yaml").read_text())
    assert len(proposed["entities"]) == WIDE_TABLES
    _tandem("migrate", env_file=env_file)
    assert "mapping fits both schemas: 50 entities" in _tandem(
        "mapping", "check", env_file=env_file
    )
    assert "failed 0" in _tandem("snapshot", "--from", "both", env_file=env_file)
    assert _in_sync(env_file)

    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    with started(run):
        for _ in range(120):
            for side in traffic:
                side.step()
        # a deploy on each side adds a column the mapping does not know, while rows keep coming
        execute(engines["legacy"], "ALTER TABLE old_accounts ADD COLUMN nickname text")
        execute(engines["revamp"], "ALTER TABLE new_invoice ADD COLUMN barcode VARCHAR(20)")
        for _ in range(3):
            traffic[0].insert(tables[0])
            traffic[1].insert(tables[1])
        execute(engines["legacy"], "UPDATE old_accounts SET nickname = 'n'")
        wait_for(lambda: _in_sync(env_file), timeout_s=120, why="both sides converge", watch=run)

    assert [w["table"] for w in _warnings(run.output(), '"nickname"')] == ["old_accounts"]
    assert [w["table"] for w in _warnings(run.output(), '"barcode"')] == ["new_invoice"]
    assert _dead_letters(env_file) == 0
    assert sum(t.writes for t in traffic) >= 240


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def test_a_renamed_mapped_column_pauses_its_direction_until_fixed_and_loses_nothing(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    port = _free_port()
    env_file.write_text(env_file.read_text() + f"SYNC_HTTP_PORT={port}\n")
    execute(legacy, "INSERT INTO legacy_users (username, email) VALUES ('ada', 'ada@example.com')")
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    try:
        with started(run):
            wait_for(lambda: scalar(revamp, "SELECT count(*) FROM revamp_users") == 1,
                     why="the user arrives", watch=run)  # fmt: skip
            execute(revamp, "ALTER TABLE revamp_posts RENAME COLUMN title TO headline")
            execute(
                legacy,
                "INSERT INTO legacy_posts (post_title, user_id, status) "
                "SELECT 'Hello', id, 'draft' FROM legacy_users",
            )
            _, report = wait_for(
                lambda: (h := _health(port))[0] == 503 and "schema changed" in json.dumps(h[1])
                and h,
                timeout_s=60, why="health names the drift", watch=run,
            )  # fmt: skip
            assert (
                "post.post_title: revamp revamp_posts.title does not exist"
                in report["failing"]["legacy-to-revamp"]
            )
            assert _dead_letters(env_file) == 0
            assert scalar(revamp, "SELECT count(*) FROM revamp_posts") == 0
            checked = run_command([*TANDEM, "mapping", "check", "--env-file", str(env_file)])
            assert checked.returncode == 1
            assert "post.post_title: revamp revamp_posts.title does not exist" in checked.stdout
        # the schema is put back (or the mapping fixed), the service restarted: the post arrives
        execute(revamp, "ALTER TABLE revamp_posts RENAME COLUMN headline TO title")
        with started(run):
            wait_for(lambda: rows(revamp, "SELECT title FROM revamp_posts") == [{"title": "Hello"}],
                     why="the waiting post is applied", watch=run)  # fmt: skip
        assert _dead_letters(env_file) == 0
    finally:
        if scalar(
            revamp,
            "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
            "DATABASE() AND TABLE_NAME = 'revamp_posts' AND COLUMN_NAME = 'headline'",
        ):
            execute(revamp, "ALTER TABLE revamp_posts RENAME COLUMN headline TO title")
