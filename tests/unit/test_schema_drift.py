"""Schema changes while running: unmapped columns warned once, mapped ones pause the direction."""

from __future__ import annotations

import logging

import attrs
import pytest

from adapters.memory.catalog import InMemorySchemaCatalog
from application.schema_guard import SchemaGuard
from application.sync_service import SyncService
from demo.in_memory import InMemoryPipeline
from domain.catalog import Catalog, ColumnInfo
from domain.errors import SchemaDriftError
from domain.events import Platform
from domain.mapping import SchemaMapping
from tests.support.debezium_messages import DebeziumFeed
from tests.support.messages import new_user, produce, user_row
from tests.support.reference_catalogs import legacy_catalog, revamp_catalog

LEGACY, REVAMP = Platform.LEGACY, Platform.REVAMP


def _without(catalog: Catalog, table: str, column: str) -> Catalog:
    tables = tuple(
        attrs.evolve(t, columns=tuple(c for c in t.columns if c.name != column))
        if t.name == table
        else t
        for t in catalog.tables
    )
    return attrs.evolve(catalog, tables=tables)


@pytest.fixture
def catalogs() -> dict[Platform, InMemorySchemaCatalog]:
    return {
        LEGACY: InMemorySchemaCatalog(legacy_catalog()),
        REVAMP: InMemorySchemaCatalog(revamp_catalog()),
    }


@pytest.fixture
def service(
    pipeline: InMemoryPipeline,
    mapping: SchemaMapping,
    catalogs: dict[Platform, InMemorySchemaCatalog],
) -> SyncService:
    service = pipeline.loops[LEGACY].service
    service.schema_guard = SchemaGuard(mapping, catalogs)
    return service


def _user_without_email(feed: DebeziumFeed, row_id: int, name: str):  # type: ignore[no-untyped-def]
    row = user_row(feed, row_id, name)
    del row["email"]
    return feed.change(LEGACY, "legacy_users", "c", row_id, after=row)


def test_a_row_missing_a_column_the_schema_still_has_is_the_events_own_fault(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    bad, good = produce(pipeline, _user_without_email(feed, 1, "ann"), new_user(feed, 2, "bob"))

    offsets = service.handle([bad, good])

    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "MissingFieldError" and "email" in letter.error_message
    assert offsets[(good.topic, good.partition)] == good.offset + 1


def test_a_dropped_mapped_column_pauses_the_direction_and_dead_letters_nothing(
    pipeline: InMemoryPipeline,
    service: SyncService,
    feed: DebeziumFeed,
    catalogs: dict[Platform, InMemorySchemaCatalog],
) -> None:
    catalogs[LEGACY].catalog = _without(legacy_catalog(), "legacy_users", "email")
    messages = produce(pipeline, new_user(feed, 2, "bob"), _user_without_email(feed, 1, "ann"))

    with pytest.raises(SchemaDriftError, match=r"user\.email: legacy legacy_users\.email does not"):
        service.handle(messages)

    assert pipeline.dead_letters.letters() == []
    assert pipeline.stats.total("dead_lettered") == 0


def test_a_column_the_mapping_does_not_know_is_ignored_with_one_warning(
    pipeline: InMemoryPipeline,
    service: SyncService,
    feed: DebeziumFeed,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        for row_id in (1, 2, 3):
            service.handle(produce(pipeline, new_user(feed, row_id, f"u{row_id}", nickname="x")))

    warnings = [r for r in caplog.records if r.getMessage() == "column not in the mapping: ignored"]
    assert [(r.table, r.column) for r in warnings] == [("legacy_users", "nickname")]  # type: ignore[attr-defined]
    assert sorted(r["user_name"] for r in pipeline.revamp.rows_of("user").values()) == [
        "u1", "u2", "u3"
    ]  # fmt: skip


def test_the_loop_pauses_commits_nothing_and_says_why_until_the_schema_fits_again(
    pipeline: InMemoryPipeline,
    service: SyncService,
    feed: DebeziumFeed,
    catalogs: dict[Platform, InMemorySchemaCatalog],
) -> None:
    loop = pipeline.loops[LEGACY]
    catalogs[LEGACY].catalog = _without(legacy_catalog(), "legacy_users", "email")
    produce(pipeline, _user_without_email(feed, 1, "ann"))

    assert loop.step() == 0
    assert loop.failures == 1 and "legacy legacy_users.email does not exist" in str(loop.last_error)
    assert pipeline.broker.committed == {}
    assert pipeline.dead_letters.letters() == []

    catalogs[LEGACY].catalog = legacy_catalog()  # the column is back: the row was just bad
    loop.drain()
    assert [letter.error_type for letter in pipeline.dead_letters.letters()] == [
        "MissingFieldError"
    ]
    assert loop.failures == 0


def test_a_retyped_source_column_pauses_but_a_wrong_value_alone_is_dead_lettered(
    pipeline: InMemoryPipeline,
    service: SyncService,
    feed: DebeziumFeed,
    catalogs: dict[Platform, InMemorySchemaCatalog],
) -> None:
    wrong = produce(pipeline, new_user(feed, 1, "ann", username=5))
    service.handle(wrong)
    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "InvalidEventError" and "after.username" in letter.error_message

    legacy = legacy_catalog()
    users = legacy.table("legacy_users")
    assert users is not None
    retyped = tuple(
        ColumnInfo("username", "integer") if c.name == "username" else c for c in users.columns
    )
    catalogs[LEGACY].catalog = attrs.evolve(
        legacy,
        tables=tuple(attrs.evolve(t, columns=retyped) if t is users else t for t in legacy.tables),
    )
    with pytest.raises(SchemaDriftError, match=r"legacy_users\.username is integer, not of type"):
        service.handle(produce(pipeline, new_user(feed, 2, "bob", username=6)))
    assert len(pipeline.dead_letters.letters()) == 1
