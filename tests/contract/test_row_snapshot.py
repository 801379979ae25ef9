"""One row-snapshot contract, run against the in-memory database and the real PostgreSQL and
MariaDB."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import pytest

from adapters.sql.application_db import SqlApplicationDatabase
from adapters.sql.snapshot import SqlRowSnapshot
from adapters.sql.store import SqlTargetStore
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.model import EntityLink
from domain.ports import RowSnapshot
from tests.support.databases import by_platform, memory_databases
from tests.support.rows import post, user


class RowSnapshotContract(ABC):
    """What the initial load and reconciliation rely on: whole tables page by page, and every
    link."""

    mapping: SchemaMapping

    @abstractmethod
    def create_snapshot(self, platform: Platform) -> RowSnapshot:
        """The snapshot reader of the platform's database."""

    @abstractmethod
    def given_row(self, platform: Platform, entity_type: str, values: dict[str, Any]) -> int:
        """A row written by the platform's application; its id."""

    @abstractmethod
    def given_links(self, platform: Platform, links: list[EntityLink]) -> None:
        """Links stored in the platform's database."""

    @pytest.mark.parametrize("platform", list(Platform))
    def test_pages_come_in_id_order_after_the_last_id_read(self, platform: Platform) -> None:
        users = self.mapping.entity("user")
        ids = [self.given_row(platform, "user", user(platform, f"u{i}")) for i in range(5)]
        snapshot = self.create_snapshot(platform)
        key = users.key.on(platform)
        (email,) = users.natural_keys(platform)[0]
        first = snapshot.scan(users, 0, 2)
        assert [r[key] for r in first] == ids[:2]
        assert [r[email] for r in first] == ["u0@example.com", "u1@example.com"]
        assert [r[key] for r in snapshot.scan(users, ids[1], 2)] == ids[2:4]
        assert [r[key] for r in snapshot.scan(users, ids[3], 2)] == ids[4:]
        assert snapshot.scan(users, ids[4], 2) == []

    @pytest.mark.parametrize("platform", list(Platform))
    def test_counts_the_rows_after_an_id(self, platform: Platform) -> None:
        users, posts = self.mapping.entity("user"), self.mapping.entity("post")
        ids = [self.given_row(platform, "user", user(platform, f"c{i}")) for i in range(3)]
        snapshot = self.create_snapshot(platform)
        assert snapshot.count(users) == 3
        assert snapshot.count(users, ids[0]) == 2
        assert snapshot.count(users, ids[2]) == 0
        assert snapshot.count(posts) == 0

    @pytest.mark.parametrize("platform", list(Platform))
    def test_every_link_of_the_entity_type_and_only_those(self, platform: Platform) -> None:
        author = self.given_row(platform, "user", user(platform, "lee"))
        self.given_row(platform, "post", post(platform, author))
        users = [EntityLink("user", n, 100 + n, applied_version=n) for n in (1, 2, 3)]
        gone = EntityLink("user", 4, 104, applied_version=9, rejected_version=8, deleted=True)
        self.given_links(platform, [*users, gone, EntityLink("post", 1, 201)])
        found = list(self.create_snapshot(platform).all_links("user"))
        assert sorted(found, key=lambda link: link.legacy_id) == [*users, gone]
        assert list(self.create_snapshot(platform).all_links("like")) == []


class TestInMemoryRowSnapshot(RowSnapshotContract):
    @pytest.fixture(autouse=True)
    def _databases(self, mapping: SchemaMapping) -> None:
        self.mapping = mapping
        self.dbs = memory_databases(mapping)

    def create_snapshot(self, platform: Platform) -> RowSnapshot:
        return self.dbs[platform]

    def given_row(self, platform: Platform, entity_type: str, values: dict[str, Any]) -> int:
        return self.dbs[platform].app_insert(entity_type, values)

    def given_links(self, platform: Platform, links: list[EntityLink]) -> None:
        with self.dbs[platform].transaction() as session:
            for link in links:
                session.save_link(link)


@pytest.mark.integration
class TestSqlRowSnapshot(RowSnapshotContract):
    @pytest.fixture(autouse=True)
    def _databases(self, mapping: SchemaMapping, clean_engines) -> None:
        self.mapping = mapping
        self.engines = by_platform(clean_engines)

    def create_snapshot(self, platform: Platform) -> RowSnapshot:
        return SqlRowSnapshot(self.engines[platform], platform, self.mapping)

    def given_row(self, platform: Platform, entity_type: str, values: dict[str, Any]) -> int:
        app = SqlApplicationDatabase(self.engines[platform], platform, self.mapping)
        return app.app_insert(entity_type, values)

    def given_links(self, platform: Platform, links: list[EntityLink]) -> None:
        store = SqlTargetStore(self.engines[platform], platform, self.mapping)
        with store.transaction() as session:
            for link in links:
                session.save_link(link)
