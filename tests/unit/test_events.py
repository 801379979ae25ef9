"""SyncEvent: validation names the bad field; the event id follows the log position."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest

from domain.errors import InvalidEventError
from domain.events import Operation, Platform, SourcePosition, SyncEvent, derive_event_id

ROW = {"id": 1, "username": "alice", "source": "legacy"}
AT = SourcePosition("lsn:100", "7", 1_767_225_600_000)


def captured(**changes: Any) -> SyncEvent:
    arguments: dict[str, Any] = {
        "origin": Platform.LEGACY,
        "table": "legacy_users",
        "entity_type": "user",
        "operation": Operation.CREATE,
        "key": {"id": 1},
        "before": None,
        "after": ROW,
        "position": AT,
    }
    return SyncEvent.captured(**(arguments | changes))


def test_a_valid_event_is_captured_with_copies_of_its_images() -> None:
    event = captured()
    assert event.after == ROW and event.after is not ROW
    assert event.row == ROW and event.source_flag == "legacy"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"table": ""}, "table"),
        ({"key": {}}, "key"),
        ({"key": {"id": None}}, "key.id"),
        ({"after": None}, "after"),
        ({"operation": Operation.UPDATE, "after": None}, "after"),
        ({"operation": Operation.READ, "after": None}, "after"),
        ({"operation": Operation.DELETE, "before": ROW, "after": ROW}, "after"),
        ({"position": SourcePosition("lsn:1", None, -5)}, "source.ts_ms"),
    ],
)
def test_validation_names_the_bad_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        captured(**changes)
    assert raised.value.field == field
    assert field in str(raised.value)


def test_an_event_of_another_major_version_is_refused() -> None:
    event = attrs.evolve(captured(), event_version="2.0.0")
    with pytest.raises(InvalidEventError, match="event_version"):
        event.validate()
    attrs.evolve(captured(), event_version="1.4.2").validate()


def test_a_delete_carries_its_values_in_before() -> None:
    event = captured(operation=Operation.DELETE, before={"id": 1}, after=None)
    assert event.row == {"id": 1}
    assert not event.operation.writes_row


def test_the_event_id_is_the_same_for_the_same_position() -> None:
    assert captured().event_id == captured(after={**ROW, "username": "bob"}).event_id


@pytest.mark.parametrize(
    "changes",
    [
        {"position": SourcePosition("lsn:101", "7", AT.commit_ts_ms)},
        {"position": SourcePosition("lsn:100", "8", AT.commit_ts_ms)},
        {"key": {"id": 2}},
        {"table": "legacy_posts"},
        {"operation": Operation.UPDATE},
        {"origin": Platform.REVAMP},
    ],
)
def test_the_event_id_differs_for_another_position_or_row(changes: dict[str, Any]) -> None:
    assert captured(**changes).event_id != captured().event_id


def test_the_event_id_ignores_the_key_order() -> None:
    first = captured(key={"a": 1, "b": 2})
    assert first.event_id == captured(key={"b": 2, "a": 1}).event_id


@pytest.mark.parametrize("table", ["legacy_users", "naïve_ünïcode_€", ""])
def test_the_event_id_is_the_uuid5_of_where_the_change_sits(table: str) -> None:
    """Ids recorded by earlier versions stay valid: the same name-based UUID, version 5."""
    position = SourcePosition("lsn:100", None, 0)
    key = {"id": 1}
    name = f'legacy|{table}|c|{{"id": 1}}|lsn:100|'
    expected = str(uuid.uuid5(uuid.UUID("6f1d3c2a-8b7e-4f55-9a61-3c0e2d9b7a10"), name))
    assert derive_event_id(Platform.LEGACY, table, Operation.CREATE, key, position) == expected
