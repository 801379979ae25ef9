"""Type fidelity: every column type survives legacy -> revamp -> legacy through `tandem run`.

Hypothesis generates rows for a wide table pair (tests/e2e/fidelity_schema.py); each row is
written on legacy, checked on revamp, overwritten there with another generated row, checked
on legacy, and written back on legacy and checked on revamp again. Values must be equal, or
equal under the documented conversions of fidelity_schema.

The suite runs once per capture in CAPTURES (the built-in one and real Debezium), with the
schema wrapper on and off (SYNC_SCHEMAS_ENABLE: the JsonConverter's schemas.enable).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.engine import make_url

from adapters.capture.debezium_engine.slot import drop_postgres
from adapters.sql.engines import open_engine
from tests.e2e import fidelity_schema as fs
from tests.e2e.processes import (
    TANDEM,
    Process,
    drop_slot,
    execute,
    read_env_file,
    run_command,
    wait_for,
    write_env_file,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
CAPTURES = [
    ("builtin", "true"), ("builtin", "false"), ("debezium", "true"), ("debezium", "false"),
]  # fmt: skip


@dataclass
class Pair:
    legacy: Engine
    revamp: Engine
    run: Process
    env: dict[str, str]


def _database(dsn: str, name: str) -> str:
    return make_url(dsn).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=CAPTURES, ids=lambda c: f"{c[0]}-schemas-{c[1]}")
def pair(
    request: pytest.FixtureRequest,
    running_stack: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    """Fresh databases with the wide table pair, migrated, and `tandem run` on them."""
    capture, schemas = request.param
    tmp = tmp_path_factory.mktemp("fidelity")
    name = f"fid_{uuid.uuid4().hex[:8]}"
    pg_admin = open_engine(_database(running_stack["SYNC_LEGACY_DSN"], "postgres"))
    pg_admin = pg_admin.execution_options(isolation_level="AUTOCOMMIT")
    my_admin = open_engine(running_stack["SYNC_REVAMP_DSN"])
    with pg_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    execute(my_admin, f"CREATE DATABASE {name}")
    dsns = {
        "SYNC_LEGACY_DSN": _database(running_stack["SYNC_LEGACY_DSN"], name),
        "SYNC_REVAMP_DSN": _database(running_stack["SYNC_REVAMP_DSN"], name),
    }
    legacy, revamp = open_engine(dsns["SYNC_LEGACY_DSN"]), open_engine(dsns["SYNC_REVAMP_DSN"])
    for statement in fs.legacy_ddl():
        execute(legacy, statement)
    for statement in fs.revamp_ddl():
        execute(revamp, statement)
    (tmp / "mapping.yaml").write_text(yaml.safe_dump(fs.mapping(name)))
    debezium_slot = f"{name}_dbz"
    env_file = write_env_file(
        {**running_stack, **dsns}, tmp, SYNC_MAPPING=str(tmp / "mapping.yaml"),
        SYNC_CAPTURE=capture, SYNC_SCHEMAS_ENABLE=schemas, SYNC_DEBEZIUM_SLOT=debezium_slot,
    )  # fmt: skip
    migrated = run_command([*TANDEM, "migrate", "--env-file", str(env_file)], 180)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp / "run.log").start()
    try:
        yield Pair(legacy, revamp, run, read_env_file(env_file))
    finally:
        run.stop()
        drop_slot(legacy, env_file)
        if capture == "debezium":  # a database with a slot cannot be dropped
            drop_postgres(dsns["SYNC_LEGACY_DSN"], debezium_slot, debezium_slot)
        legacy.dispose(), revamp.dispose()
        with pg_admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        execute(my_admin, f"DROP DATABASE IF EXISTS {name}")
        pg_admin.dispose(), my_admin.dispose()


def _placeholders(legacy: bool) -> dict[str, str]:
    return {
        c: f"CAST(:{c} AS {fs.PG_CASTS[c]})" if legacy and c in fs.PG_CASTS else f":{c}"
        for c in fs.COLUMNS
    }


def _insert(engine: Engine, legacy: bool, tag: str, row: dict[str, Any]) -> int:
    marks = _placeholders(legacy)
    columns = ", ".join(["tag", *marks])
    sql = f"INSERT INTO {fs.TABLE} ({columns}) VALUES (:tag, {', '.join(marks.values())})"
    with engine.begin() as conn:
        params = {"tag": tag, **fs.parameters(row, legacy)}
        if legacy:
            return int(conn.execute(text(sql + " RETURNING id"), params).scalar_one())
        return int(conn.execute(text(sql), params).lastrowid)


def _update(engine: Engine, legacy: bool, row_id: int, tag: str, row: dict[str, Any]) -> None:
    sets = ", ".join(f"{c} = {m}" for c, m in _placeholders(legacy).items())
    params = {"tag": tag, "id": row_id, **fs.parameters(row, legacy)}
    execute(engine, f"UPDATE {fs.TABLE} SET tag = :tag, {sets} WHERE id = :id", **params)


def _read(engine: Engine, legacy: bool, tags: list[str]) -> list[dict[str, Any]]:
    sql = text(f"SELECT {fs.select_list(legacy)} FROM {fs.TABLE} WHERE tag IN :tags")
    with engine.connect() as conn:
        query = sql.bindparams(bindparam("tags", expanding=True))
        rows = conn.execute(query, {"tags": tags}).mappings()
        return [fs.as_read(dict(r), legacy) for r in rows]


def _arrived(pair: Pair, legacy: bool, tags: list[str]) -> list[dict[str, Any]]:
    """The rows carrying `tags` on one side, once all have arrived (in the order of tags)."""
    engine = pair.legacy if legacy else pair.revamp
    side = "legacy" if legacy else "revamp"

    def found() -> list[dict[str, Any]] | None:
        rows = {r["tag"]: r for r in _read(engine, legacy, tags)}
        return [rows[t] for t in tags] if len(rows) == len(tags) else None

    rows: list[dict[str, Any]] = wait_for(found, 120, f"{len(tags)} rows on {side}", pair.run)
    return rows


def _assert_equal(rows: list[dict[str, Any]], sent: list[dict[str, Any]], where: str) -> None:
    for got, expected in zip(rows, sent, strict=True):
        for column in fs.COLUMNS:
            have, want = fs.normal(column, got[column]), fs.normal(column, expected[column])
            assert have == want, f"{where}: {column}: sent {want!r}, got {have!r}"


@settings(
    max_examples=6, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@example(rows=fs.EDGES, replies=list(reversed(fs.EDGES)))
@given(
    rows=st.lists(fs.ROWS, min_size=1, max_size=4),
    replies=st.lists(fs.ROWS, min_size=4, max_size=4),
)
def test_every_value_goes_to_revamp_and_back_exactly(
    pair: Pair, rows: list[dict[str, Any]], replies: list[dict[str, Any]]
) -> None:
    tags = [uuid.uuid4().hex for _ in rows]
    ids = [_insert(pair.legacy, True, tag, row) for tag, row in zip(tags, rows, strict=True)]
    _assert_equal(_arrived(pair, False, tags), rows, "legacy -> revamp")

    revamp_ids = [r["id"] for r in _arrived(pair, False, tags)]
    back = [uuid.uuid4().hex for _ in rows]
    for row_id, tag, row in zip(revamp_ids, back, replies, strict=False):
        _update(pair.revamp, False, row_id, tag, row)
    _assert_equal(_arrived(pair, True, back), replies[: len(rows)], "revamp -> legacy")

    again = [uuid.uuid4().hex for _ in rows]
    for row_id, tag, row in zip(ids, again, rows, strict=True):
        _update(pair.legacy, True, row_id, tag, row)
    _assert_equal(_arrived(pair, False, again), rows, "legacy -> revamp, again")


def test_the_capture_sends_the_schema_wrapper_as_configured(pair: Pair) -> None:
    """The suite above ran through the encoding this variant names (keys included)."""
    import json

    import kafka

    from adapters.kafka.settings import KafkaSettings

    settings = KafkaSettings(tuple(pair.env["SYNC_KAFKA_BOOTSTRAP"].split(",")))
    topic = f"{pair.env['SYNC_LEGACY_TOPIC_PREFIX']}.public.{fs.TABLE}"
    consumer = kafka.KafkaConsumer(
        topic, **settings.client_kwargs(kafka.KafkaConsumer), auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )  # fmt: skip
    try:
        record = next(r for r in consumer if r.value is not None)
    finally:
        consumer.close()
    wrapped = pair.env["SYNC_SCHEMAS_ENABLE"] == "true"
    for document in (json.loads(record.key), json.loads(record.value)):
        assert ("schema" in document and "payload" in document) is wrapped
