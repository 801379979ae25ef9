"""BatchWriter: creates added during a run are written together at flush, linked and marked;
the batch is dropped whatever happens."""

from __future__ import annotations

import pytest

from application.batch_writer import BatchWriter, RowWrite
from domain.errors import ConstraintViolationError
from domain.events import Platform
from domain.mapping import SchemaMapping
from tests.support.databases import memory_databases
from tests.support.rows import event, user

LEGACY = Platform.LEGACY


def create(mapping: SchemaMapping, n: int, name: str) -> RowWrite:
    # event(n) comes from revamp: the row is written on legacy
    return RowWrite(mapping.entity("user"), event(n), user(LEGACY, name), n, 1_000 + n)


def test_nothing_is_taken_until_a_run_starts(mapping: SchemaMapping) -> None:
    writer = BatchWriter()
    assert writer.add(create(mapping, 1, "ann")) is False
    writer.start()
    assert writer.add(create(mapping, 1, "ann")) is True and len(writer) == 1


def test_a_flush_writes_links_and_marks_every_create_then_stops(mapping: SchemaMapping) -> None:
    db = memory_databases(mapping)[LEGACY]
    writer = BatchWriter()
    writer.start()
    writer.add(create(mapping, 1, "ann"))
    writer.add(create(mapping, 2, "bob"))
    with db.transaction() as session:
        writer.flush(session)
    assert len(writer) == 0 and not writer.collecting
    links = db.read_links("user", Platform.REVAMP, [1, 2])
    assert sorted(links) == [1, 2] and links[2].applied_version == 1_002
    assert sorted(r["username"] for r in db.rows_of("user").values()) == ["ann", "bob"]
    with db.transaction() as session:
        assert session.processed([event(1).event_id, event(2).event_id]) == {
            event(1).event_id,
            event(2).event_id,
        }


def test_a_failed_flush_drops_the_batch(mapping: SchemaMapping) -> None:
    db = memory_databases(mapping)[LEGACY]
    writer = BatchWriter()
    writer.start()
    writer.add(create(mapping, 1, "ann"))
    writer.add(create(mapping, 2, "ann"))  # the same email
    with pytest.raises(ConstraintViolationError), db.transaction() as session:
        writer.flush(session)
    assert len(writer) == 0 and not writer.collecting
    assert db.rows_of("user") == {}
