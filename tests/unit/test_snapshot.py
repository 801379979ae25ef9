"""Snapshotter on in-memory databases: rows that predate the sync are copied once, mapped."""

from __future__ import annotations

from adapters.mapping_file import load_mapping
from adapters.memory.checkpoints import InMemoryCheckpoints
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


class Recorder:
    def __init__(self) -> None:
        self.started: list[tuple[str, int, int]] = []
        self.done: dict[str, int] = {}

    def table_started(self, entity_type: str, total: int, resumed_after: int) -> None:
        self.started.append((entity_type, total, resumed_after))

    def rows_done(self, entity_type: str, count: int) -> None:
        self.done[entity_type] = self.done.get(entity_type, 0) + count


def test_progress_counts_tables_resumes_and_tells_rows_in_sync_from_copied() -> None:
    mapping = load_mapping()
    dbs = {p: InMemoryDatabase(p, mapping, None, lambda: 1_800_000_000.0) for p in Platform}
    legacy, revamp = dbs[Platform.LEGACY], dbs[Platform.REVAMP]
    ids = [
        legacy.app_insert("user", {"username": n, "email": f"{n}@e.com", "status": "active"})
        for n in ("ann", "bob", "cid")
    ]

    def snapshot(checkpoints: InMemoryCheckpoints) -> Snapshotter:
        return Snapshotter(
            mapping, Platform.LEGACY, legacy, legacy, revamp,
            ConflictPolicy.LAST_WRITER_WINS, SyncStats(), checkpoints,
        )  # fmt: skip

    resumed, progress = InMemoryCheckpoints({"legacy.user": ids[0]}), Recorder()
    first = snapshot(resumed).run(progress, only={"user"})
    assert progress.started == [("user", 2, ids[0])]  # posts and likes not asked for
    assert progress.done == {"user": 2}
    assert (first.copied, first.in_sync, first.resumed) == (2, 0, {"user": ids[0]})

    again = snapshot(InMemoryCheckpoints({})).run(Recorder(), only={"user"})
    assert (again.copied, again.in_sync, again.skipped) == (1, 0, 2)  # ann; the rest: done

    revamp.processed_ids.clear()  # as if live sync, not this snapshot, had copied them
    legacy.app_update("user", ids[1], {"status": "banned"})
    third = snapshot(InMemoryCheckpoints({})).run(Recorder(), only={"user"})
    assert (third.copied, third.in_sync, third.skipped) == (1, 2, 0)  # only bob changed
    users = {r["user_name"]: r["status"] for r in revamp.rows_of("user").values()}
    assert users == {"ann": "Active", "bob": "Banned", "cid": "Active"}
