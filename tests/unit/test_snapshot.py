"""Snapshotter on in-memory databases: rows that predate the sync are copied once, mapped."""

from __future__ import annotations

from adapters.mapping_file import load_mapping
from adapters.memory.database import InMemoryDatabase
from application.snapshot import Snapshotter
from application.stats import SyncStats
from domain.events import Platform
from domain.rules import ConflictPolicy


def test_existing_rows_are_copied_once_with_ids_and_values_mapped() -> None:
    mapping = load_mapping()
    dbs = {p: InMemoryDatabase(p, mapping, None, lambda: 1_800_000_000.0) for p in Platform}
    legacy, revamp = dbs[Platform.LEGACY], dbs[Platform.REVAMP]
    revamp.app_insert("user", {"user_name": "x", "email_address": "x@e.com", "status": "Active"})
    ann = legacy.app_insert("user", {"username": "ann", "email": "a@e.com", "status": "banned"})
    post = legacy.app_insert(
        "post", {"post_title": "T", "post_content": None, "user_id": ann, "status": "draft"}
    )
    legacy.app_insert("like", {"user_id": ann, "post_id": post})

    def snapshot() -> Snapshotter:
        return Snapshotter(
            mapping, Platform.LEGACY, legacy, legacy, revamp,
            ConflictPolicy.LAST_WRITER_WINS, SyncStats(),
        )  # fmt: skip

    first = snapshot().run()
    assert (first.copied, first.failed) == (3, [])
    users = {r["user_name"]: r for r in revamp.rows_of("user").values()}
    assert users["ann"]["status"] == "Banned" and users["ann"]["id"] != ann
    (copied_post,) = revamp.rows_of("post").values()
    assert copied_post["author_id"] == users["ann"]["id"]
    (copied_like,) = revamp.rows_of("like").values()
    assert copied_like["post_id"] == copied_post["id"]
    again = snapshot().run()
    assert (again.copied, again.skipped) == (0, 3)
    assert len(revamp.rows_of("user")) == 2
