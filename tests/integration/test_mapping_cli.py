"""`tandem mapping scaffold|check` on the live reference schemas, and the check at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import yaml
from sqlalchemy import Engine

from adapters.mapping_file import REFERENCE_MAPPING, load_mapping, parse_mapping

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def run(
    module: str, *args: str, env_file: Path, mapping: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    if mapping is not None:
        environ["SYNC_MAPPING"] = str(mapping)
    return subprocess.run(
        [sys.executable, "-m", module, *args, "--env-file", str(env_file)],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,  # a guard against a hang, not an assertion on time
    )


@pytest.fixture
def env_file(running_stack: dict[str, str], engines: dict[str, Engine], tmp_path: Path) -> Path:
    path = tmp_path / "tandem.env"
    keys = ("SYNC_LEGACY_DSN", "SYNC_REVAMP_DSN", "SYNC_KAFKA_BOOTSTRAP")
    lines = [f"{k}={running_stack[k]}" for k in keys]
    lines += ["SYNC_HTTP_PORT=0", f"SYNC_STATE_DIR={tmp_path / 'state'}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scaffold_on_the_reference_schemas_gives_the_reference_mapping(
    env_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "proposed.yaml"
    done = run("entrypoints.cli", "mapping", "scaffold", "--out", str(out), env_file=env_file)

    assert done.returncode == 0, done.stderr
    assert "3 entities, 14 fields" in done.stdout
    text = out.read_text()
    # the Gherkin suite runs on the reference mapping: the scaffolded one is the same mapping
    assert parse_mapping(yaml.safe_load(text)) == load_mapping()
    assert "# guessed: user_id ~ author_id, both reference the same entity" in text

    again = run("entrypoints.cli", "mapping", "scaffold", "--out", str(out), env_file=env_file)
    assert again.returncode == 2 and "exists" in again.stderr
    checked = run("entrypoints.cli", "mapping", "check", env_file=env_file, mapping=out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "mapping fits both schemas: 3 entities checked" in checked.stdout


def test_a_mapping_that_does_not_fit_is_reported_whole_by_check_and_stops_the_service(
    env_file: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        REFERENCE_MAPPING.read_text()
        .replace("revamp: title,", "revamp: titel,")
        .replace("{legacy: email, revamp: email_address, type: string, unique: true}",
                 "{legacy: email, revamp: email_address, type: integer, unique: true}")
    )  # fmt: skip

    checked = run("entrypoints.cli", "mapping", "check", env_file=env_file, mapping=wrong)
    assert checked.returncode == 1
    assert checked.stdout.splitlines() == [
        "user.email: legacy legacy_users.email is character varying(255), not of type integer",
        "user.email: revamp revamp_users.email_address is varchar(255), not of type integer",
        "post.post_title: revamp revamp_posts.titel does not exist",
        "post: revamp revamp_posts.title is required (NOT NULL, no default) but not mapped: "
        "the sync's inserts would fail",
    ]

    consumer = run("entrypoints.consumer", "--once", env_file=env_file, mapping=wrong)
    assert consumer.returncode == 2
    assert consumer.stderr.strip().splitlines() == [
        "mapping check: user.email: legacy legacy_users.email is character varying(255), "
        "not of type integer"
    ]
    started = run("entrypoints.cli", "run", "--seconds", "5", env_file=env_file, mapping=wrong)
    assert started.returncode == 2
    assert started.stderr.strip().splitlines()[-1].startswith("mapping check: user.email:")


def test_the_live_catalogs_read_as_the_unit_tests_describe_them(
    engines: dict[str, Engine],
) -> None:
    from adapters.sql.catalog import SqlSchemaCatalog
    from domain.events import Platform
    from tests.support.reference_catalogs import legacy_catalog, revamp_catalog

    for platform, engine, described in (
        (Platform.LEGACY, engines["legacy"], legacy_catalog()),
        (Platform.REVAMP, engines["revamp"], revamp_catalog()),
    ):
        live = SqlSchemaCatalog(engine, platform).read()
        names = [t.name for t in described.entity_tables]
        one_by_one = SqlSchemaCatalog(engine, platform).read(names)  # MySQL: SHOW CREATE TABLE
        for table in described.entity_tables:
            assert live.table(table.name) == table
            alone = one_by_one.table(table.name)
            assert alone is not None
            assert attrs.evolve(alone, columns=()) == attrs.evolve(table, columns=())
            assert [(c.name, c.family, c.length, c.nullable, c.values) for c in alone.columns] == [
                (c.name, c.family, c.length, c.nullable, c.values) for c in table.columns
            ]
        assert dict(described.server).items() <= dict(live.server).items()
