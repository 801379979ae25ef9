"""One target-store contract, run against the in-memory database and the real PostgreSQL and
MariaDB."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from adapters.sql.application_db import SqlApplicationDatabase
from adapters.sql.store import SqlTargetStore
from domain.errors import ConstraintViolationError
from domain.events import SYNC_SERVICE, Platform
from domain.mapping import SchemaMapping
from domain.model import EntityLink
from domain.ports import TargetStore
from tests.support.databases import by_platform, memory_databases
from tests.support.rows import WHEN, child, event, post, user


class TargetStoreContract(ABC):
    """What the sync relies on from a database it writes to, whatever the database."""

    @abstractmethod
    def create_store(self, platform: Platform) -> TargetStore:
        """The target store of the platform's database, empty at the start of each test."""

    @abstractmethod
    def application(self, platform: Platform) -> Any:
        """The platform's own application on that database (app_insert, app_update, row,
        app_ids): writes the sync did not make, and reads of what it did."""

    def store(self, platform: Platform) -> TargetStore:
        stores = self.__dict__.setdefault("_stores", {})
        if platform not in stores:
            stores[platform] = self.create_store(platform)
        return stores[platform]

    @pytest.mark.parametrize("platform", list(Platform))
    def test_insert_is_written_by_the_sync_service(self, platform: Platform, mapping) -> None:
        with self.store(platform).transaction() as session:
            new_id = session.insert(mapping.entity("user"), user(platform, "ann"))
        row = self.application(platform).row("user", new_id)
        assert row["source"] == SYNC_SERVICE
        assert row["updated_at"] == WHEN

    @pytest.mark.parametrize("platform", list(Platform))
    def test_rows_report_version_and_writer(self, platform: Platform, mapping) -> None:
        entity = mapping.entity("user")
        row_id = self.application(platform).app_insert("user", user(platform, "bob"))
        with self.store(platform).transaction() as session:
            stored = session.rows(entity, [row_id, 9999])
        assert list(stored) == [row_id]
        assert stored[row_id].source == platform.value
        assert stored[row_id].version > 0

    @pytest.mark.parametrize("platform", list(Platform))
    def test_application_update_of_a_synced_row_is_the_platforms_again(
        self, platform: Platform, mapping
    ) -> None:
        with self.store(platform).transaction() as session:
            row_id = session.insert(mapping.entity("user"), user(platform, "cyd"))
        status = "banned" if platform is Platform.LEGACY else "Banned"
        self.application(platform).app_update("user", row_id, {"status": status})
        row = self.application(platform).row("user", row_id)
        assert row["source"] == platform.value
        assert row["updated_at"] > WHEN

    @pytest.mark.parametrize("platform", list(Platform))
    def test_update_and_delete_of_a_missing_row_say_so(self, platform: Platform, mapping) -> None:
        entity = mapping.entity("user")
        with self.store(platform).transaction() as session:
            assert session.update(entity, 4242, user(platform, "x")) is False
            assert session.delete(entity, 4242) is False

    @pytest.mark.parametrize("platform", list(Platform))
    def test_delete_cascades_to_children(self, platform: Platform, mapping) -> None:
        app = self.application(platform)
        author = app.app_insert("user", user(platform, "dee"))
        child = app.app_insert("post", post(platform, author))
        with self.store(platform).transaction() as session:
            assert session.delete(mapping.entity("user"), author) is True
        assert app.row("post", child) is None

    @pytest.mark.parametrize("platform", list(Platform))
    def test_constraint_violations_are_permanent_errors(self, platform: Platform, mapping):
        with pytest.raises(ConstraintViolationError), self.store(platform).transaction() as s:
            s.insert(mapping.entity("post"), post(platform, 777))
        with self.store(platform).transaction() as session:
            session.insert(mapping.entity("user"), user(platform, "eve"))
        with pytest.raises(ConstraintViolationError), self.store(platform).transaction() as s:
            s.insert(mapping.entity("user"), user(platform, "eve"))

    @pytest.mark.parametrize("platform", list(Platform))
    def test_an_exception_rolls_back_the_whole_transaction(self, platform: Platform, mapping):
        with pytest.raises(RuntimeError), self.store(platform).transaction() as session:
            session.insert(mapping.entity("user"), user(platform, "fay"))
            session.save_link(EntityLink("user", 1, 2))
            session.mark_processed(event(1))
            raise RuntimeError("crash before commit")
        assert self.application(platform).app_ids("user") == []
        assert self.store(platform).read_links("user", Platform.LEGACY, [1]) == {}
        with self.store(platform).transaction() as session:
            assert session.processed([event(1).event_id]) == set()

    @pytest.mark.parametrize("platform", list(Platform))
    def test_a_failed_savepoint_undoes_only_its_own_writes(self, platform: Platform, mapping):
        entity = mapping.entity("user")
        with self.store(platform).transaction() as session:
            kept = session.insert(entity, user(platform, "gus"))
            with pytest.raises(ConstraintViolationError), session.savepoint():
                session.insert(entity, user(platform, "hal"))
                session.insert(entity, user(platform, "gus"))  # duplicate email
        assert self.application(platform).app_ids("user") == [kept]

    @pytest.mark.parametrize("platform", list(Platform))
    def test_links_and_processed_events_commit_with_the_rows(self, platform: Platform, mapping):
        with self.store(platform).transaction() as session:
            session.save_link(EntityLink("user", 10, 20, applied_version=5))
            session.mark_processed(event(2))
        with self.store(platform).transaction() as session:
            session.save_link(EntityLink("user", 10, 20, applied_version=6, deleted=True))
            assert session.processed([event(2).event_id, event(3).event_id]) == {event(2).event_id}
            by_revamp = session.links("user", Platform.REVAMP, [20])
        assert by_revamp[20].legacy_id == 10
        by_legacy = self.store(platform).read_links("user", Platform.LEGACY, [10])
        assert by_legacy[10].applied_version == 6 and by_legacy[10].deleted

    @pytest.mark.parametrize("platform", list(Platform))
    def test_a_link_to_a_row_another_link_holds_is_refused_and_changes_nothing(
        self, platform: Platform, mapping
    ) -> None:
        """Saving a link never lands on another link's row through the other unique key."""
        with self.store(platform).transaction() as session:
            session.save_link(EntityLink("user", 30, 40, applied_version=1))
        with pytest.raises(ConstraintViolationError), self.store(platform).transaction() as s:
            s.save_link(EntityLink("user", 31, 40, applied_version=2))
        links = self.store(platform).read_links("user", Platform.LEGACY, [30, 31])
        assert list(links) == [30] and links[30].revamp_id == 40
        assert links[30].applied_version == 1

    @pytest.mark.parametrize("platform", list(Platform))
    def test_a_failed_savepoint_forgets_its_links_and_processed_events(
        self, platform: Platform, mapping
    ) -> None:
        with self.store(platform).transaction() as session:
            session.save_link(EntityLink("user", 1, 2))
            session.mark_processed(event(1))
            with pytest.raises(ConstraintViolationError), session.savepoint():
                session.save_link(EntityLink("user", 1, 3, applied_version=9))
                session.save_link(EntityLink("user", 4, 5))
                session.mark_processed(event(4))
                entity = mapping.entity("user")
                session.insert(entity, user(platform, "ivy"))
                session.insert(entity, user(platform, "ivy"))  # duplicate email
            assert session.links("user", Platform.LEGACY, [1, 4]) == {1: EntityLink("user", 1, 2)}
            assert session.links("user", Platform.REVAMP, [3, 5]) == {}
        with self.store(platform).transaction() as session:
            ids = [event(1).event_id, event(4).event_id]
            assert session.processed(ids) == {event(1).event_id}
        links = self.store(platform).read_links("user", Platform.LEGACY, [1, 4])
        assert links == {1: EntityLink("user", 1, 2)}

    @pytest.mark.parametrize("platform", list(Platform))
    def test_a_duplicate_mark_fails_the_transaction_at_commit_not_at_the_call(
        self, platform: Platform, mapping
    ) -> None:
        store = self.store(platform)
        with store.transaction() as session:
            session.mark_processed(event(1))
        reached_the_end = False
        with pytest.raises(ConstraintViolationError), store.transaction() as session:
            session.insert(mapping.entity("user"), user(platform, "kim"))
            session.mark_processed(event(1))
            session.mark_processed(event(5))
            assert session.processed([event(1).event_id, event(5).event_id]) == {
                event(1).event_id,
                event(5).event_id,
            }
            reached_the_end = True
        assert reached_the_end
        assert self.application(platform).app_ids("user") == []
        with store.transaction() as session:
            assert session.processed([event(5).event_id]) == set()

    @pytest.mark.parametrize("platform", list(Platform))
    def test_an_event_marked_twice_in_one_transaction_fails_it_at_commit(
        self, platform: Platform, mapping
    ) -> None:
        store = self.store(platform)
        with pytest.raises(ConstraintViolationError), store.transaction() as session:
            session.mark_processed(event(6))
            session.mark_processed(event(6))
        with store.transaction() as session:
            assert session.processed([event(6).event_id]) == set()

    @pytest.mark.parametrize("platform", list(Platform))
    def test_natural_keys_match_exactly_as_the_reference_collations_compare(
        self, platform: Platform, mapping
    ) -> None:
        """legacy: PostgreSQL compares text case-sensitively; revamp: email_address is
        utf8mb4_bin. So a key differing in case is another key, on both sides."""
        entity = mapping.entity("user")
        (email,) = entity.natural_keys(platform)[0]
        store = self.store(platform)
        with store.transaction() as session:
            ann = session.insert(entity, user(platform, "ann"))
        with store.transaction() as session:
            wanted = [("ann@example.com",), ("Ann@example.com",)]
            assert session.find_many(entity, (email,), wanted) == {("ann@example.com",): ann}
            assert session.find_by(entity, {email: "ANN@example.com"}) is None
            shouting = session.insert(entity, {**user(platform, "ann2"), email: "ANN@example.com"})
            assert session.find_by(entity, {email: "ANN@example.com"}) == shouting
        with store.transaction() as session:
            assert session.find_many(entity, (email,), [("ANN@example.com",)]) == {
                ("ANN@example.com",): shouting
            }

    @pytest.mark.parametrize("platform", list(Platform))
    def test_the_last_processed_time_is_known_once_an_event_is_marked(
        self, platform: Platform
    ) -> None:
        store = self.store(platform)
        assert store.last_processed_at() is None
        with store.transaction() as session:
            session.mark_processed(event(1))
        last = store.last_processed_at()
        assert last is not None and last.utcoffset() == timedelta(0)

    @pytest.mark.parametrize("platform", list(Platform))
    def test_many_links_in_one_transaction_read_back_as_written(
        self, platform: Platform, mapping
    ) -> None:
        with self.store(platform).transaction() as session:
            for n in range(1, 201):
                session.save_link(EntityLink("post", n, 1000 + n, applied_version=n))
            session.save_link(EntityLink("post", 7, 1007, applied_version=70, deleted=True))
            assert session.links("post", Platform.REVAMP, [1007])[1007].applied_version == 70
        links = self.store(platform).read_links("post", Platform.REVAMP, range(1001, 1201))
        assert len(links) == 200 and links[1007].deleted and links[1200].applied_version == 200

    @pytest.mark.parametrize("platform", list(Platform))
    def test_links_of_several_entity_types_are_read_at_once(
        self, platform: Platform, mapping
    ) -> None:
        with self.store(platform).transaction() as session:
            session.save_link(EntityLink("user", 1, 11))
            session.save_link(EntityLink("post", 2, 12, deleted=True))
        found = self.store(platform).read_many_links(
            Platform.REVAMP, {"user": [11, 99], "post": [12], "like": []}
        )
        assert {kind: list(links) for kind, links in found.items() if links} == {
            "user": [11],
            "post": [12],
        }
        assert found["user"][11].legacy_id == 1 and found["post"][12].deleted

    @pytest.mark.parametrize("platform", list(Platform))
    def test_natural_keys_are_found_many_at_once_and_reads_see_own_writes(
        self, platform: Platform, mapping
    ) -> None:
        entity = mapping.entity("user")
        email = entity.natural_keys(platform)[0]
        with self.store(platform).transaction() as session:
            ann = session.insert(entity, user(platform, "ann"))
            wanted = [("ann@example.com",), ("bob@example.com",)]
            assert session.find_many(entity, email, wanted) == {("ann@example.com",): ann}
            assert session.find_by(entity, {email[0]: "bob@example.com"}) is None
            bob = session.insert(entity, user(platform, "bob"))
            assert session.find_by(entity, {email[0]: "bob@example.com"}) == bob
            before = session.rows(entity, [ann])[ann]
            changed = {**user(platform, "ann"), email[0]: "ann@new.example.com"}
            changed[entity.version.on(platform)] = datetime(2027, 1, 1)
            assert session.update(entity, ann, changed)
            after = session.rows(entity, [ann])[ann]
            assert after.version > before.version
            assert session.find_by(entity, {email[0]: "ann@example.com"}) is None
            session.delete(entity, bob)
            assert session.rows(entity, [bob]) == {}

    @pytest.mark.parametrize("platform", list(Platform))
    def test_many_rows_insert_in_one_go_and_come_back_in_order(
        self, platform: Platform, mapping
    ) -> None:
        entity = mapping.entity("user")
        names = [f"u{i}" for i in range(25)]
        with self.store(platform).transaction() as session:
            new_ids = session.insert_many(entity, [user(platform, n) for n in names])
            assert session.find_by(entity, {entity.natural_keys(platform)[0][0]: "u7@example.com"})
        assert len(set(new_ids)) == 25
        name_column = "username" if platform is Platform.LEGACY else "user_name"
        stored = [self.application(platform).row("user", i) for i in new_ids]
        assert [r[name_column] for r in stored] == names
        assert {r["source"] for r in stored} == {SYNC_SERVICE}

    @pytest.mark.parametrize("platform", list(Platform))
    def test_updates_and_deletes_of_read_rows_land_together_and_cascade(
        self, platform: Platform, mapping
    ) -> None:
        users, posts = mapping.entity("user"), mapping.entity("post")
        name = "username" if platform is Platform.LEGACY else "user_name"
        store = self.store(platform)
        with store.transaction() as session:
            ids = session.insert_many(users, [user(platform, f"u{i}") for i in range(6)])
            post_ids = session.insert_many(posts, [post(platform, ids[0])] * 2)
        with store.transaction() as session:
            session.rows(users, ids)
            session.rows(posts, post_ids)
            for i, row_id in enumerate(ids[1:], 1):
                assert session.update(users, row_id, {name: f"renamed{i}"})
            assert session.update(users, ids[1], {name: "twice"})  # the later change wins
            assert session.delete(users, ids[0])
            assert session.rows(posts, post_ids) == {}  # gone with their author
            assert not session.delete(posts, post_ids[0])
            assert session.rows(users, [ids[2]])[ids[2]].values[name] == "renamed2"
        app = self.application(platform)
        names = [app.row("user", i) for i in ids]
        assert names[0] is None and all(app.row("post", p) is None for p in post_ids)
        assert [r[name] for r in names[1:]] == [
            "twice",
            "renamed2",
            "renamed3",
            "renamed4",
            "renamed5",
        ]
        assert {r["source"] for r in names[1:]} == {SYNC_SERVICE}

    @pytest.mark.parametrize("platform", list(Platform))
    def test_rows_only_locked_exist_read_whole_later_and_go_with_their_parent(
        self, platform: Platform, mapping
    ) -> None:
        users, posts = mapping.entity("user"), mapping.entity("post")
        store = self.store(platform)
        with store.transaction() as session:
            ann, bob = session.insert_many(users, [user(platform, "ann"), user(platform, "bob")])
            first, second = session.insert_many(posts, [post(platform, ann), post(platform, bob)])
        with store.transaction() as session:
            assert session.existing(users, [ann, 9999]) == {ann}
            assert session.existing(posts, [first, second]) == {first, second}
            assert session.rows(users, [ann])[ann].source == SYNC_SERVICE  # read whole now
            assert session.rows(users, [ann])[ann].version > 0
            assert session.delete(users, ann)
            assert session.existing(posts, [first, second]) == {second}  # gone with its author
            assert session.rows(posts, [first]) == {}
        assert self.application(platform).row("post", first) is None
        assert self.application(platform).row("post", second) is not None

    @pytest.mark.parametrize("platform", list(Platform))
    def test_a_refused_update_held_back_fails_when_written(self, platform: Platform, mapping):
        users = mapping.entity("user")
        email = users.natural_keys(platform)[0][0]
        store = self.store(platform)
        with store.transaction() as session:
            ann, bob = session.insert_many(users, [user(platform, "ann"), user(platform, "bob")])
        with pytest.raises(ConstraintViolationError), store.transaction() as session:
            session.rows(users, [ann, bob])
            session.update(users, bob, {email: "ann@example.com"})
            session.write_pending()
        assert self.application(platform).row("user", bob)[email] == "bob@example.com"

    @pytest.mark.parametrize("platform", list(Platform))
    def test_waiting_children_are_kept_found_and_forgotten_in_transactions(
        self, platform: Platform, mapping
    ) -> None:
        store = self.store(platform)
        kept = [
            child(1, ("user", 7), 10.0),
            child(2, ("user", 7), 99.0),
            child(3, ("post", 8), 99.0),
        ]
        with store.transaction() as session:
            session.park_children(kept)
        assert store.parked_count() == 3
        in_partition_order = [kept[1], kept[0]]
        assert store.parked_for([("user", 7)], None, None) == in_partition_order
        assert store.parked_for([], None, expired_before=50.0) == in_partition_order
        assert store.parked_for([("user", 8)], None, None) == []
        assert store.parked_keys([("post", '{"id": 2}'), ("post", '{"id": 4}')]) == {
            ("post", '{"id": 2}'): ("user", 7)
        }
        assert store.parked_ids([kept[0].event_id, "nope"]) == {kept[0].event_id}
        assert store.parked_offsets() == {("t.posts", 0): 102, ("t.posts", 1): 101}
        with pytest.raises(RuntimeError), store.transaction() as session:
            session.unpark_children([kept[0].event_id])
            raise RuntimeError("rolled back")
        with store.transaction() as session:
            session.park_children([attrs.evolve(kept[1], parent=("user", 9))])  # replaced
            session.unpark_children([kept[0].event_id])
        assert store.parked_count() == 2
        assert store.parked_keys([("post", '{"id": 2}')]) == {("post", '{"id": 2}'): ("user", 9)}

    @pytest.mark.parametrize("platform", list(Platform))
    def test_waiting_children_leave_once_their_parent_is_linked(
        self, platform: Platform, mapping
    ) -> None:
        store = self.store(platform)
        origin = platform.other
        with store.transaction() as session:
            session.park_children([child(1, ("user", 7), 99.0), child(2, ("user", 8), 99.0)])
            session.save_link(EntityLink.between("user", origin, 8, 500))
        (linked,) = store.parked_for([], origin, None)
        assert linked.parent == ("user", 8) and linked.message.value == b'{"n": 2}'


class TestInMemoryTargetStore(TargetStoreContract):
    @pytest.fixture(autouse=True)
    def _databases(self, mapping: SchemaMapping) -> None:
        self.dbs = memory_databases(mapping)

    def create_store(self, platform: Platform) -> TargetStore:
        return self.dbs[platform]

    def application(self, platform: Platform) -> Any:
        return self.dbs[platform]


@pytest.mark.integration
class TestSqlTargetStore(TargetStoreContract):
    @pytest.fixture(autouse=True)
    def _databases(self, mapping: SchemaMapping, clean_engines) -> None:
        self.mapping, self.engines = mapping, by_platform(clean_engines)

    def create_store(self, platform: Platform) -> TargetStore:
        return SqlTargetStore(self.engines[platform], platform, self.mapping)

    def application(self, platform: Platform) -> Any:
        return SqlApplicationDatabase(self.engines[platform], platform, self.mapping)
