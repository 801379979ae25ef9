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
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, bindparam, text

from tests.e2e import fidelity_schema as fs
from tests.e2e.database_pair import Pair, database_pair
from tests.e2e.processes import execute, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
CAPTURES = [
    ("builtin", "true"), ("builtin", "false"), ("debezium", "true"), ("debezium", "false"),
]  # fmt: skip


@pytest.fixture(scope="module", params=CAPTURES, ids=lambda c: f"{c[0]}-schemas-{c[1]}")
def pair(
    request: pytest.FixtureRequest,
    running_stack: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    """Fresh databases with the wide table pair, migrated, and `tandem run` on them."""
    capture, schemas = request.param
    with database_pair(
        running_stack, tmp_path_factory.mktemp("fidelity"), fs.legacy_ddl(), fs.revamp_ddl(),
        fs.mapping, SYNC_CAPTURE=capture, SYNC_SCHEMAS_ENABLE=schemas,
    ) as pair:  # fmt: skip
        yield pair


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
