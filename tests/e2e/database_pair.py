"""A test's own pair of databases on the stack's servers, its tables and mapping, migrated,
with `tandem run` on them; everything dropped afterwards (the Debezium slot included)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from adapters.capture.debezium_engine.slot import drop_postgres
from adapters.sql.engines import open_engine
from tests.e2e.processes import (
    TANDEM,
    Process,
    drop_slot,
    execute,
    read_env_file,
    run_command,
    write_env_file,
)


@dataclass
class Pair:
    name: str  # of both databases (MySQL's is the revamp schema)
    legacy: Engine
    revamp: Engine
    run: Process
    env: dict[str, str]


def _database(dsn: str, name: str) -> str:
    return make_url(dsn).set(database=name).render_as_string(hide_password=False)


@contextmanager
def database_pair(
    stack: dict[str, str],
    tmp: Path,
    legacy_ddl: Sequence[str],
    revamp_ddl: Sequence[str],
    mapping: Callable[[str], dict[str, Any]],
    **settings: str,
) -> Iterator[Pair]:
    """Fresh databases with `legacy_ddl` and `revamp_ddl`, `mapping(revamp schema)`, migrated
    with `settings` (SYNC_CAPTURE, SYNC_SCHEMAS_ENABLE..), and `tandem run` on them."""
    name = f"pair_{uuid.uuid4().hex[:8]}"
    pg_admin = open_engine(_database(stack["SYNC_LEGACY_DSN"], "postgres"))
    pg_admin = pg_admin.execution_options(isolation_level="AUTOCOMMIT")
    my_admin = open_engine(stack["SYNC_REVAMP_DSN"])
    with pg_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    execute(my_admin, f"CREATE DATABASE {name}")
    dsns = {
        "SYNC_LEGACY_DSN": _database(stack["SYNC_LEGACY_DSN"], name),
        "SYNC_REVAMP_DSN": _database(stack["SYNC_REVAMP_DSN"], name),
    }
    legacy, revamp = open_engine(dsns["SYNC_LEGACY_DSN"]), open_engine(dsns["SYNC_REVAMP_DSN"])
    for statement in legacy_ddl:
        execute(legacy, statement)
    for statement in revamp_ddl:
        execute(revamp, statement)
    (tmp / "mapping.yaml").write_text(yaml.safe_dump(mapping(name)))
    debezium_slot = f"{name}_dbz"
    env_file = write_env_file(
        {**stack, **dsns}, tmp, SYNC_MAPPING=str(tmp / "mapping.yaml"),
        SYNC_DEBEZIUM_SLOT=debezium_slot, **settings,
    )  # fmt: skip
    migrated = run_command([*TANDEM, "migrate", "--env-file", str(env_file)], 180)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp / "run.log").start()
    try:
        yield Pair(name, legacy, revamp, run, read_env_file(env_file))
    finally:
        run.stop()
        drop_slot(legacy, env_file)
        if settings.get("SYNC_CAPTURE") == "debezium":  # a database with a slot stays
            drop_postgres(dsns["SYNC_LEGACY_DSN"], debezium_slot, debezium_slot)
        legacy.dispose(), revamp.dispose()
        with pg_admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        execute(my_admin, f"DROP DATABASE IF EXISTS {name}")
        pg_admin.dispose(), my_admin.dispose()
