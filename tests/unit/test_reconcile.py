"""The reconciler finds rows missing on either side and fields that differ."""

from __future__ import annotations

import pytest

from application.reconcile import Reconciler
from demo.in_memory import InMemoryPipeline
from domain.mapping import SchemaMapping


@pytest.fixture
def synced(pipeline: InMemoryPipeline) -> InMemoryPipeline:
    alice = pipeline.legacy.app_insert(
        "user", {"username": "alice", "email": "a@example.com", "status": "active"}
    )
    pipeline.legacy.app_insert(
        "post", {"post_title": "T", "post_content": None, "user_id": alice, "status": "draft"}
    )
    pipeline.revamp.app_insert(
        "user", {"user_name": "rita", "email_address": "r@example.com", "status": "Banned"}
    )
    pipeline.drain()
    return pipeline


def problems(mapping: SchemaMapping, pipeline: InMemoryPipeline) -> list[tuple[str, str]]:
    report = Reconciler(mapping, pipeline.legacy, pipeline.revamp).run()
    return [(d.entity_type, d.problem) for d in report.differences]


def test_synced_databases_are_in_sync(mapping: SchemaMapping, synced: InMemoryPipeline) -> None:
    report = Reconciler(mapping, synced.legacy, synced.revamp).run()
    assert report.in_sync and report.compared == 3


def test_a_row_only_on_legacy_is_missing_on_revamp(
    mapping: SchemaMapping, synced: InMemoryPipeline
) -> None:
    synced.legacy.capture = None  # written while capture was down
    synced.legacy.app_insert(
        "user", {"username": "zed", "email": "z@example.com", "status": "active"}
    )
    assert problems(mapping, synced) == [("user", "missing on revamp")]


def test_a_row_only_on_revamp_is_missing_on_legacy(
    mapping: SchemaMapping, synced: InMemoryPipeline
) -> None:
    synced.revamp.capture = None
    synced.revamp.app_insert(
        "user", {"user_name": "zoe", "email_address": "z@example.com", "status": "Active"}
    )
    assert problems(mapping, synced) == [("user", "missing on legacy")]


def test_a_field_that_differs_is_named(mapping: SchemaMapping, synced: InMemoryPipeline) -> None:
    (user_id,) = [i for i, r in synced.revamp.rows_of("user").items() if r["user_name"] == "alice"]
    synced.revamp.tables["user"][user_id]["status"] = "Banned"
    ((entity, problem),) = problems(mapping, synced)
    assert entity == "user" and "status" in problem and '"Banned"' in problem


def test_a_foreign_key_to_the_wrong_parent_is_a_difference(
    mapping: SchemaMapping, synced: InMemoryPipeline
) -> None:
    (post,) = synced.revamp.tables["post"].values()
    rita = next(i for i, r in synced.revamp.rows_of("user").items() if r["user_name"] == "rita")
    post["author_id"] = rita
    ((entity, problem),) = problems(mapping, synced)
    assert entity == "post" and "author_id" in problem
