"""The Debezium codec: both JSON shapes, key-only deletes, tombstones, temporal columns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from adapters.debezium import DebeziumCodec
from adapters.topics import DEFAULT_PREFIXES as PREFIXES
from domain.errors import InvalidEventError
from domain.events import Operation, Platform
from domain.mapping import SchemaMapping
from domain.model import RawMessage
from tests.support.debezium_messages import DebeziumFeed, Message

LEGACY, REVAMP = Platform.LEGACY, Platform.REVAMP
CREATED = datetime(2026, 1, 1, 9, 0, 1)


@pytest.fixture
def codec(mapping: SchemaMapping) -> DebeziumCodec:
    return DebeziumCodec(mapping, PREFIXES)


def raw(message: Message, value: bytes | None = b"") -> RawMessage:
    return RawMessage(message.topic, 0, 5, message.key, message.value if value == b"" else value)


def user(platform: Platform, feed: DebeziumFeed) -> dict[str, Any]:
    names = ("username", "email") if platform is LEGACY else ("user_name", "email_address")
    return {
        "id": 4,
        names[0]: "alice",
        names[1]: "a@example.com",
        "status": "active",
        "source": platform.value,
        "created_at": CREATED,
        "updated_at": CREATED,
    }


@pytest.mark.parametrize("platform", Platform)
def test_a_create_decodes_with_and_without_the_schema_wrapper(
    codec: DebeziumCodec, feed: DebeziumFeed, platform: Platform
) -> None:
    table = "legacy_users" if platform is LEGACY else "revamp_users"
    message = feed.change(platform, table, "c", 4, after=user(platform, feed))
    assert (b'"schema"' in (message.value or b"")) is (platform is LEGACY)
    event = codec.decode(raw(message))
    assert event is not None
    assert (event.origin, event.entity_type, event.operation) == (
        platform,
        "user",
        Operation.CREATE,
    )
    assert event.key == {"id": 4} and event.before is None
    assert event.after is not None and event.after["status"] == "active"
    assert event.position.commit_ts_ms == 1_767_258_001_000


def test_the_schema_decodes_temporal_columns(codec: DebeziumCodec, feed: DebeziumFeed) -> None:
    event = codec.decode(raw(feed.change(LEGACY, "legacy_users", "c", 4, after=user(LEGACY, feed))))
    assert event is not None and event.after is not None
    assert event.after["created_at"] == CREATED


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("io.debezium.time.MicroTimestamp", 1_767_258_001_000_000),
        ("io.debezium.time.Timestamp", 1_767_258_001_000),
        ("io.debezium.time.NanoTimestamp", 1_767_258_001_000_000_000),
        ("io.debezium.time.ZonedTimestamp", "2026-01-01T10:00:01+01:00"),
    ],
)
def test_each_temporal_encoding(
    codec: DebeziumCodec, feed: DebeziumFeed, name: str, value: Any
) -> None:
    message = feed.change(LEGACY, "legacy_users", "c", 4, after=user(LEGACY, feed))
    document = json.loads(message.value or b"")
    document["payload"]["after"]["created_at"] = value
    for image in document["schema"]["fields"][:2]:
        for column in image["fields"]:
            if column["field"] == "created_at":
                column["name"] = name
    event = codec.decode(raw(message, json.dumps(document).encode()))
    assert event is not None and event.after is not None
    assert event.after["created_at"] == CREATED


def test_a_delete_with_only_the_key_in_before(codec: DebeziumCodec, feed: DebeziumFeed) -> None:
    event = codec.decode(raw(feed.change(LEGACY, "legacy_users", "d", 4, before={"id": 4})))
    assert event is not None and event.operation is Operation.DELETE
    assert event.before == {"id": 4} and event.after is None and event.row == {"id": 4}


def test_a_tombstone_decodes_to_none(codec: DebeziumCodec, feed: DebeziumFeed) -> None:
    assert codec.decode(raw(feed.tombstone(LEGACY, "legacy_users", 4))) is None


def test_the_key_comes_from_the_row_when_the_message_has_none(
    codec: DebeziumCodec, feed: DebeziumFeed
) -> None:
    message = feed.change(REVAMP, "revamp_users", "c", 4, after=user(REVAMP, feed))
    event = codec.decode(RawMessage(message.topic, 0, 0, None, message.value))
    assert event is not None and event.key == {"id": 4}


def test_the_log_position_locates_the_change(codec: DebeziumCodec, feed: DebeziumFeed) -> None:
    legacy = codec.decode(
        raw(feed.change(LEGACY, "legacy_users", "c", 4, after=user(LEGACY, feed)))
    )
    revamp = codec.decode(
        raw(feed.change(REVAMP, "revamp_users", "c", 4, after=user(REVAMP, feed)))
    )
    assert legacy is not None and revamp is not None
    assert legacy.position.log_position == f"lsn:{feed.lsn}"
    assert legacy.position.tx_id == str(feed.tx_id)
    assert revamp.position.log_position == f"binlog:mysql-bin.000003:{feed.binlog_pos}:0"


def test_the_replication_origin_of_the_change_is_carried(
    codec: DebeziumCodec, feed: DebeziumFeed
) -> None:
    """Debezium's PostgreSQL `source.origin`: the sync service's decides an echo downstream."""
    message = feed.change(LEGACY, "legacy_users", "c", 4, after=user(LEGACY, feed))
    by_sync = edit(message, lambda p: p["source"].update(origin="tandem_sync_2"))
    unset = edit(message, lambda p: p["source"].update(origin=None))
    assert [codec.decode(raw(message, v)).source_origin for v in (by_sync, unset)] == [  # type: ignore[union-attr]
        "tandem_sync_2",
        None,
    ]


def edit(message: Message, change: Any) -> bytes:
    document = json.loads(message.value or b"")
    change(document.get("payload", document))
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (lambda m: b"not json", "value"),
        (lambda m: b"[1, 2]", "value"),
        (lambda m: edit(m, lambda p: p["source"].pop("ts_ms")), "source.ts_ms"),
        (lambda m: edit(m, lambda p: p["source"].update(ts_ms="soon")), "source.ts_ms"),
        (lambda m: edit(m, lambda p: p.update(op="t")), "op"),
        (lambda m: edit(m, lambda p: p.pop("source")), "source"),
        (lambda m: edit(m, lambda p: p["source"].update(table="legacy_groups")), "source.table"),
        (lambda m: edit(m, lambda p: p.update(after=None)), "after"),
        (lambda m: edit(m, lambda p: p.update(after=[1])), "after"),
    ],
)
def test_a_malformed_message_names_the_field(
    codec: DebeziumCodec, feed: DebeziumFeed, value: Any, field: str
) -> None:
    message = feed.change(REVAMP, "revamp_users", "c", 4, after=user(REVAMP, feed))
    with pytest.raises(InvalidEventError) as raised:
        codec.decode(raw(message, value(message)))
    assert raised.value.field == field


def test_a_topic_of_no_known_platform_is_refused(codec: DebeziumCodec, feed: DebeziumFeed) -> None:
    message = feed.change(REVAMP, "revamp_users", "c", 4, after=user(REVAMP, feed))
    with pytest.raises(InvalidEventError, match="topic"):
        codec.decode(RawMessage("crm.public.users", 0, 0, message.key, message.value))


def test_the_original_is_kept_as_json_or_text(codec: DebeziumCodec, feed: DebeziumFeed) -> None:
    message = feed.change(REVAMP, "revamp_users", "c", 4, after=user(REVAMP, feed))
    assert codec.original(raw(message))["op"] == "c"
    assert codec.original(raw(message, b"\xffnot json")) == "\ufffdnot json"
    assert codec.original(raw(message, None)) is None


def compact_edit(message: Message, change: Any) -> bytes:
    """Like `edit`, written as the JsonConverter writes (no spaces): the schema part stays
    byte for byte the same, so the codec's learnt schema applies."""
    document = json.loads(message.value or b"")
    change(document["payload"])
    return json.dumps(document, separators=(",", ":")).encode()


def test_a_learnt_schema_decodes_the_next_changes_alike(
    codec: DebeziumCodec, feed: DebeziumFeed
) -> None:
    message = feed.change(LEGACY, "legacy_users", "c", 4, after=user(LEGACY, feed))
    first = raw(message, compact_edit(message, lambda p: None))
    second = raw(message, compact_edit(message, lambda p: p["after"].update(username="bob")))
    assert codec._schemas.payload(second.value or b"") is None  # nothing learnt yet
    unlearnt = DebeziumCodec(codec.mapping, PREFIXES).decode(second)
    codec.decode(first)
    assert codec._schemas.payload(second.value or b"") is not None  # now only the payload
    learnt = codec.decode(second)
    assert learnt is not None and unlearnt is not None
    assert learnt.after == unlearnt.after and learnt.after["username"] == "bob"
    assert learnt.after["created_at"] == CREATED  # decoded by the learnt schema


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (lambda m: compact_edit(m, lambda p: p.update(op="x")), "op"),
        (lambda m: compact_edit(m, lambda p: p.update(after=[1])), "after"),
        (lambda m: (m.value or b"")[:-1] + b',"payload":1}', "payload"),  # the last wins
        (lambda m: (m.value or b"") + b" x", "value"),
        (lambda m: (m.value or b"").replace(b',"payload":{', b',"payload":[{', 1), "value"),
    ],
)
def test_after_a_schema_is_learnt_a_malformed_change_still_names_the_field(
    codec: DebeziumCodec, feed: DebeziumFeed, value: Any, field: str
) -> None:
    change = feed.change(LEGACY, "legacy_users", "c", 4, after=user(LEGACY, feed))
    message = Message(change.topic, change.key, compact_edit(change, lambda p: None))
    codec.decode(raw(message))  # learns the schema
    assert codec._schemas.payload(message.value or b"") is not None
    with pytest.raises(InvalidEventError) as raised:
        codec.decode(raw(message, value(message)))
    assert raised.value.field == field
