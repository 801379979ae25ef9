"""Through real Debezium, the sync service's own writes are never published back, for any
mapped table: here one whose `source` column no trigger keeps (the sync's writes leave it
NULL, so the consumer cannot tell them from an application's). Its inserts, updates and
deletes on either side must not appear on that side's topic."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import kafka
import pytest

from adapters.kafka.settings import KafkaSettings
from tests.e2e.database_pair import Pair, database_pair
from tests.e2e.processes import execute, scalar, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
TABLE = "plain_items"


def _mapping(revamp_schema: str) -> dict[str, Any]:
    return {
        "schemas": {"legacy": "public", "revamp": revamp_schema},
        "entities": {
            "item": {"tables": TABLE, "key": "id", "fields": [{"name": "name", "type": "string"}]}
        },
    }


@pytest.fixture(params=["true", "false"], ids=lambda s: f"schemas-{s}")
def pair(
    request: pytest.FixtureRequest, running_stack: dict[str, str], tmp_path: Any
) -> Iterator[Pair]:
    """A table pair with a `source` column and no trigger, synced through real Debezium."""
    legacy_ddl = [
        f"CREATE TABLE {TABLE} (id serial PRIMARY KEY, name varchar(50) NOT NULL, "
        "source varchar(20))",
        f"ALTER TABLE {TABLE} REPLICA IDENTITY FULL",
    ]
    revamp_ddl = [
        f"CREATE TABLE {TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, "
        "source VARCHAR(20))"
    ]
    with database_pair(
        running_stack, tmp_path, legacy_ddl, revamp_ddl, _mapping,
        SYNC_CAPTURE="debezium", SYNC_SCHEMAS_ENABLE=request.param,
    ) as pair:  # fmt: skip
        yield pair


def _changes(pair: Pair, topic: str, until: str) -> list[tuple[str, str | None]]:
    """(op, name) of each change on `topic`, read until the change naming `until` is there:
    capture publishes in log order, so everything written before it is there too."""
    settings = KafkaSettings(tuple(pair.env["SYNC_KAFKA_BOOTSTRAP"].split(",")))
    consumer = kafka.KafkaConsumer(
        topic, **settings.client_kwargs(kafka.KafkaConsumer), auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )  # fmt: skip
    changes: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + 60
    try:
        while not any(name == until for _, name in changes):
            assert time.monotonic() < deadline, f"{until} never reached {topic}: {changes}"
            for record in consumer:
                if record.value is None:
                    continue  # a tombstone
                document = json.loads(record.value)
                payload = document.get("payload", document)
                row = payload["after"] or payload["before"]
                changes.append((payload["op"], row["name"]))
    finally:
        consumer.close()
    return changes


def test_the_sync_services_own_writes_are_not_published_back(pair: Pair) -> None:
    legacy, revamp, run = pair.legacy, pair.revamp, pair.run

    def on_revamp(sql: str) -> Any:
        return scalar(revamp, sql.replace("{t}", TABLE))

    execute(legacy, f"INSERT INTO {TABLE} (name) VALUES ('made-on-legacy')")
    copy = wait_for(
        lambda: on_revamp("SELECT id FROM {t} WHERE name = 'made-on-legacy'"), 120, "insert", run
    )
    execute(revamp, f"UPDATE {TABLE} SET name = 'changed-on-revamp' WHERE id = :id", id=copy)
    wait_for(
        lambda: scalar(legacy, f"SELECT 1 FROM {TABLE} WHERE name = 'changed-on-revamp'"),
        120, "update", run,
    )  # fmt: skip
    execute(legacy, f"DELETE FROM {TABLE}")
    wait_for(lambda: on_revamp("SELECT count(*) FROM {t}") == 0, 120, "delete", run)
    # the last application writes on each side, after the sync's last write there
    execute(revamp, f"INSERT INTO {TABLE} (name) VALUES ('last-on-revamp')")
    wait_for(
        lambda: scalar(legacy, f"SELECT 1 FROM {TABLE} WHERE name = 'last-on-revamp'"),
        120, "revamp insert", run,
    )  # fmt: skip
    execute(legacy, f"INSERT INTO {TABLE} (name) VALUES ('last-on-legacy')")

    legacy_topic = f"{pair.env['SYNC_LEGACY_TOPIC_PREFIX']}.public.{TABLE}"
    revamp_topic = f"{pair.env['SYNC_REVAMP_TOPIC_PREFIX']}.{pair.name}.{TABLE}"
    # partitions are read in no particular order: the changes compare sorted
    assert sorted(_changes(pair, legacy_topic, "last-on-legacy")) == [
        ("c", "last-on-legacy"), ("c", "made-on-legacy"), ("d", "changed-on-revamp"),
    ]  # fmt: skip
    assert sorted(_changes(pair, revamp_topic, "last-on-revamp")) == [
        ("c", "last-on-revamp"), ("u", "changed-on-revamp"),
    ]  # fmt: skip
