"""The rows a SQL transaction knows: a delete cascades to the known rows that reference it."""

from __future__ import annotations

from adapters.sql.known_rows import KnownRows
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.model import StoredRow


def row(**values: object) -> StoredRow:
    return StoredRow(dict(values), 0, None)


def test_a_delete_cascades_through_posts_to_likes(mapping: SchemaMapping) -> None:
    known = KnownRows(mapping, Platform.LEGACY)
    known.remember(("user", 1), row(id=1))
    known.remember(("user", 2), row(id=2))
    known.remember(("post", 10), row(id=10, user_id=1))
    known.remember(("post", 11), row(id=11, user_id=2))
    known.remember(("like", 100), row(id=100, user_id=2, post_id=10))
    touched = known.deleted(("user", 1))
    assert touched == {"user", "post", "like"}
    assert [known[k] for k in [("user", 1), ("post", 10), ("like", 100)]] == [None, None, None]
    assert known[("user", 2)] is not None and known[("post", 11)] is not None


def test_a_row_that_moved_to_another_parent_stays(mapping: SchemaMapping) -> None:
    known = KnownRows(mapping, Platform.REVAMP)
    known.remember(("post", 10), row(id=10, author_id=1))
    known.remember(("post", 10), row(id=10, author_id=2))  # updated in the transaction
    assert known.deleted(("user", 1)) == {"user"}
    assert known[("post", 10)] is not None
    known.deleted(("user", 2))
    assert known[("post", 10)] is None
