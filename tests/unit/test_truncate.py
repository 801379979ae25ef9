"""A TRUNCATE on one side: dead-lettered, naming the table, unless SYNC_TRUNCATE=propagate,
which deletes the rows linked to the emptied table on the other side and marks their links."""

from __future__ import annotations

from application.sync_service import SyncService
from demo.in_memory import InMemoryPipeline
from domain.events import Platform
from tests.support.debezium_messages import DebeziumFeed
from tests.support.messages import new_post, new_user, produce

LEGACY = Platform.LEGACY


def synced_users(pipeline: InMemoryPipeline, feed: DebeziumFeed) -> SyncService:
    service = pipeline.loops[LEGACY].service
    service.handle(produce(pipeline, new_user(feed, 1, "ann"), new_user(feed, 2, "bob")))
    service.handle(produce(pipeline, new_post(feed, 10, 1)))
    assert len(pipeline.revamp.rows_of("user")) == 2 and len(pipeline.revamp.rows_of("post")) == 1
    return service


def test_a_truncate_is_dead_lettered_by_default_naming_the_table(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    service = synced_users(pipeline, feed)
    truncate = feed.change(LEGACY, "legacy_users", "t", 0)
    service.handle(produce(pipeline, truncate, new_user(feed, 3, "cid")))

    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "TruncateNotPropagatedError"
    assert "TRUNCATE of legacy_users on legacy" in letter.error_message
    assert "SYNC_TRUNCATE=propagate" in letter.error_message
    names = sorted(r["user_name"] for r in pipeline.revamp.rows_of("user").values())
    assert names == ["ann", "bob", "cid"]  # nothing deleted; the next change applied


def test_propagate_deletes_the_linked_rows_and_marks_their_links(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    service = synced_users(pipeline, feed)
    service.propagate_truncates = True
    own = pipeline.revamp.app_insert(
        "user", {"user_name": "dee", "email_address": "dee@e.com", "status": "Active"}
    )  # created on revamp, never synced: not linked to the emptied table

    service.handle(produce(pipeline, feed.change(LEGACY, "legacy_users", "t", 0)))

    assert pipeline.dead_letters.letters() == []
    assert list(pipeline.revamp.rows_of("user")) == [own]
    assert pipeline.revamp.rows_of("post") == {}  # ON DELETE CASCADE
    links = list(pipeline.revamp.all_links("user"))
    assert len(links) == 2 and all(link.deleted for link in links)

    again = service.handle(produce(pipeline, feed.change(LEGACY, "legacy_users", "t", 0)))
    assert again and list(pipeline.revamp.rows_of("user")) == [own]  # nothing linked is left


def test_the_binlog_truncate_statements_that_name_a_table_of_the_database() -> None:
    from adapters.capture.binlog import truncated_table

    assert truncated_table("TRUNCATE revamp_likes", "revamp") == "revamp_likes"
    assert truncated_table("truncate table `revamp`.`revamp_users`;", "revamp") == "revamp_users"
    assert truncated_table("TRUNCATE TABLE other.revamp_users", "revamp") is None
    assert truncated_table("TRUNCATE revamp_users", "revamp", current="other") is None
    assert truncated_table("TRUNCATE revamp.revamp_users", "revamp", current="other")
    assert truncated_table("DELETE FROM revamp_users", "revamp") is None
