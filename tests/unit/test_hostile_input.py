"""Hostile messages: each one is dead-lettered with its reason, alone, and nothing else is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from application.sync_service import SyncService
from demo.in_memory import InMemoryPipeline
from domain.events import Platform
from domain.model import RawMessage
from tests.support.debezium_messages import DebeziumFeed, Message
from tests.support.messages import new_user, produce, user_row

LEGACY = Platform.LEGACY
USERS = "legacy.public.legacy_users"


@pytest.fixture
def service(pipeline: InMemoryPipeline) -> SyncService:
    return pipeline.loops[LEGACY].service


def revamp_users(pipeline: InMemoryPipeline) -> list[tuple[str, str]]:
    rows = pipeline.revamp.rows_of("user").values()
    return sorted((r["user_name"], r["email_address"]) for r in rows)


def plain(
    feed: DebeziumFeed, op: Any, key: Any, after: Any, ts_ms: Any = 1_767_258_000_000
) -> Message:
    """A legacy users change without the schema wrapper, with any key and `after` at all."""
    feed.lsn += 8
    document = {
        "before": None,
        "after": after,
        "source": {"table": "legacy_users", "ts_ms": ts_ms, "lsn": feed.lsn},
        "op": op,
    }
    return Message(USERS, json.dumps(key).encode(), json.dumps(document).encode())


def row(feed: DebeziumFeed, **changes: Any) -> dict[str, Any]:
    base = user_row(feed, 1, "mallory")
    base["created_at"] = base["updated_at"] = 1_767_258_000_000_000
    return base | changes


def hostile(feed: DebeziumFeed) -> dict[str, Message]:
    return {
        "key true": plain(feed, "u", {"id": True}, row(feed)),
        "key float": plain(feed, "u", {"id": 1.9}, row(feed)),
        "key text": plain(feed, "u", {"id": "1"}, row(feed)),
        "key other id": plain(feed, "u", {"id": 2}, row(feed)),
        "key extra column": plain(feed, "u", {"id": 1, "x": 1}, row(feed)),
        "key list": plain(feed, "u", [1], row(feed)),
        "key huge": plain(feed, "u", {"id": 10**30}, row(feed, id=10**30)),
        "after without id": plain(
            feed, "u", {"id": 1}, {k: v for k, v in row(feed).items() if k != "id"}
        ),
        "after a list": plain(feed, "u", {"id": 1}, [1, 2]),
        "after missing": plain(feed, "c", {"id": 1}, None),
        "unknown op": plain(feed, "z", {"id": 1}, row(feed)),
        "op object": plain(feed, {"op": "c"}, {"id": 1}, row(feed)),
        "name nested": plain(feed, "u", {"id": 1}, row(feed, username={"a": 1})),
        "name list": plain(feed, "u", {"id": 1}, row(feed, username=["a"])),
        "name number": plain(feed, "u", {"id": 1}, row(feed, username=12)),
        "status bool": plain(feed, "u", {"id": 1}, row(feed, status=True)),
        "date huge": plain(feed, "u", {"id": 1}, row(feed, updated_at=10**18)),
        "date past bigint": plain(feed, "u", {"id": 1}, row(feed, updated_at=10**25)),
        "date text": plain(feed, "u", {"id": 1}, row(feed, updated_at="yesterday")),
        "date float": plain(feed, "u", {"id": 1}, row(feed, updated_at=1.5)),
        "email null": plain(feed, "u", {"id": 1}, row(feed, email=None)),
        "email missing": plain(
            feed, "u", {"id": 1}, {k: v for k, v in row(feed).items() if k != "email"}
        ),
        "ts_ms huge": plain(feed, "u", {"id": 1}, row(feed), ts_ms=10**20),
        "ts_ms text": plain(feed, "u", {"id": 1}, row(feed), ts_ms="now"),
        "post on users topic": Message(
            USERS,
            b'{"id": 1}',
            json.dumps(
                {"op": "c", "after": {"id": 1}, "source": {"table": "legacy_posts", "ts_ms": 1}}
            ).encode(),
        ),
        "schema a list": Message(USERS, b'{"id": 1}', b'{"schema": [], "payload": {}}'),
        "source a list": Message(USERS, b'{"id": 1}', b'{"op": "c", "source": [1], "after": {}}'),
        "not JSON": Message(USERS, b'{"id": 1}', b"{nope"),
        "not UTF-8": Message(USERS, b'{"id": 1}', b"\xff\xfe{}"),
        "value a number": Message(USERS, b'{"id": 1}', b"12"),
    }


def test_every_hostile_message_is_dead_lettered_alone_and_changes_no_row(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    service.handle(produce(pipeline, new_user(feed, 1, "alice")))
    before = revamp_users(pipeline)
    bad = hostile(feed)
    messages = produce(pipeline, *bad.values(), new_user(feed, 2, "bob"))
    offsets = service.handle(messages)
    assert revamp_users(pipeline) == [*before, ("bob", "bob@example.com")]
    letters = {(d.topic, d.partition, d.offset): d for d in pipeline.dead_letters.letters()}
    for name, message in zip(bad, messages, strict=False):
        letter = letters.get((message.topic, message.partition, message.offset))
        assert letter is not None, f"{name} was not dead-lettered"
        assert letter.error_message and letter.error_type, name
    assert len(letters) == len(bad)
    for message in messages:
        assert offsets[(USERS, message.partition)] > message.offset


@pytest.mark.parametrize("key", [{"id": True}, {"id": 1.9}, {"id": "1"}])
def test_a_key_that_disagrees_with_its_value_names_the_key(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed, key: dict[str, Any]
) -> None:
    service.handle(produce(pipeline, plain(feed, "u", key, row(feed))))
    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "InvalidEventError"
    assert "key.id" in letter.error_message


def test_an_error_nobody_expected_while_applying_dead_letters_that_event_only(
    pipeline: InMemoryPipeline,
    service: SyncService,
    feed: DebeziumFeed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_apply = service.applier.apply

    def apply(session: Any, event: Any, force: bool = False, values: Any = None) -> Any:
        if event.after and event.after.get("username") == "boom":
            raise OverflowError("days=1157407407 out of range")
        return real_apply(session, event, force, values)

    monkeypatch.setattr(service.applier, "apply", apply)
    messages = produce(
        pipeline, new_user(feed, 1, "alice"), new_user(feed, 2, "boom"), new_user(feed, 3, "carol")
    )
    offsets = service.handle(messages)
    assert [name for name, _ in revamp_users(pipeline)] == ["alice", "carol"]
    (letter,) = pipeline.dead_letters.letters()
    assert letter.offset == messages[1].offset
    assert letter.error_type == "UnexpectedEventError"
    assert "OverflowError: days=1157407407" in letter.error_message
    assert all(offsets[(USERS, m.partition)] > m.offset for m in messages)


def test_a_decoder_crash_is_dead_lettered_as_an_invalid_event(
    pipeline: InMemoryPipeline, service: SyncService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def decode(message: RawMessage) -> Any:
        raise TypeError("'int' object is not iterable")

    monkeypatch.setattr(service.codec, "decode", decode)
    (message,) = produce(pipeline, Message(USERS, b'{"id": 1}', b"{}"))
    assert service.handle([message]) == {(USERS, message.partition): message.offset + 1}
    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "InvalidEventError"
    assert "TypeError: 'int' object is not iterable" in letter.error_message
