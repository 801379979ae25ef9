"""Change messages put on the topics directly, as Debezium writes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pytest_bdd import given, when

from domain.events import Platform
from tests.acceptance.vocabulary import Cast, post_values, step, user_values
from tests.acceptance.world import World
from tests.support.debezium_messages import TABLES, DebeziumFeed, Message

LEGACY = Platform.LEGACY


def publish(world: World, message: Message) -> None:
    world.publish(message.topic, message.key, message.value)


def stamped(debezium: DebeziumFeed, platform: Platform, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the platform stores it: with `source` and its timestamps."""
    moment = debezium.now
    return {**row, "source": platform.value, "created_at": moment, "updated_at": moment}


def publish_creation(
    world: World,
    debezium: DebeziumFeed,
    cast: Cast,
    platform: Platform,
    entity: str,
    row_id: int,
    name: str | None,
    values: dict[str, Any],
) -> Message:
    row = stamped(debezium, platform, {"id": row_id, **values})
    message = debezium.change(platform, TABLES[platform][entity], "c", row_id, after=row)
    publish(world, message)
    if name is not None:
        cast.introduce(entity, name, platform, row_id)
        cast.noted[("row", entity, name)] = row
        cast.noted[("created", entity, name)] = message
    return message


@given(step('Debezium publishes the new {platform:Side} user {row_id:d} "{name:Name}"'))
@when(step('Debezium publishes the new {platform:Side} user {row_id:d} "{name:Name}"'))
def debezium_user(
    world: World, debezium: DebeziumFeed, cast: Cast, platform: Platform, row_id: int, name: str
) -> None:
    publish_creation(
        world, debezium, cast, platform, "user", row_id, name, user_values(platform, name)
    )


@when(step('Debezium publishes the new {platform:Side} user {row_id:d} "{name:Name}" twice'))
def debezium_user_twice(
    world: World, debezium: DebeziumFeed, cast: Cast, platform: Platform, row_id: int, name: str
) -> None:
    message = publish_creation(
        world, debezium, cast, platform, "user", row_id, name, user_values(platform, name)
    )
    publish(world, message)


@given(
    step(
        'Debezium publishes that {platform:Side} user {row_id:d} "{name:Name}" '
        'is now "{status:Name}"'
    )
)
def debezium_user_update(
    world: World,
    debezium: DebeziumFeed,
    cast: Cast,
    platform: Platform,
    row_id: int,
    name: str,
    status: str,
) -> None:
    before = cast.noted[("row", "user", name)]
    after = {**before, "status": status, "updated_at": debezium.now}
    publish(
        world,
        debezium.change(
            platform, TABLES[platform]["user"], "u", row_id, before=before, after=after
        ),
    )
    cast.noted[("row", "user", name)] = after


@when(step('Debezium delivers the creation of {platform:Side} user {row_id:d} "{name:Name}" again'))
def debezium_redelivers(
    world: World, cast: Cast, platform: Platform, row_id: int, name: str
) -> None:
    publish(world, cast.noted[("created", "user", name)])


@when(step('Debezium publishes the new legacy post {row_id:d} "{title:Name}" by "{author:Name}"'))
def debezium_post_by_name(
    world: World, debezium: DebeziumFeed, cast: Cast, row_id: int, title: str, author: str
) -> None:
    author_id = cast.id_on(world, "user", author, LEGACY)
    assert author_id is not None
    publish_creation(
        world, debezium, cast, LEGACY, "post", row_id, title, post_values(LEGACY, title, author_id)
    )


@when(
    step(
        'Debezium publishes the new legacy post {row_id:d} "{title:Name}" '
        "by legacy user {author_id:d}"
    )
)
def debezium_post_by_id(
    world: World, debezium: DebeziumFeed, cast: Cast, row_id: int, title: str, author_id: int
) -> None:
    publish_creation(
        world, debezium, cast, LEGACY, "post", row_id, title, post_values(LEGACY, title, author_id)
    )


@when(
    step('Debezium publishes the new legacy like {row_id:d} by "{user:Name}" of post {post_id:d}')
)
def debezium_like(
    world: World, debezium: DebeziumFeed, cast: Cast, row_id: int, user: str, post_id: int
) -> None:
    user_id = cast.id_on(world, "user", user, LEGACY)
    row = {
        "id": row_id,
        "user_id": user_id,
        "post_id": post_id,
        "source": "legacy",
        "created_at": debezium.now,
    }
    publish(world, debezium.change(LEGACY, "legacy_likes", "c", row_id, after=row))


def _edited(message: Message, edit: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(message.value or b"null")
    edit(document["payload"])
    return json.dumps(document).encode()


@when(step("a message arrives on the legacy users topic that is {malformation}"))
def malformed_message(world: World, debezium: DebeziumFeed, malformation: str) -> None:
    row = stamped(debezium, LEGACY, {"id": 66, **user_values(LEGACY, "mallory")})
    good = debezium.change(LEGACY, "legacy_users", "c", 66, after=row)
    variants = {
        "not JSON": lambda: b"{'op': 'c', oops",
        'a change with the unknown operation "x"': lambda: _edited(
            good, lambda payload: payload.update(op="x")
        ),
        'a change of the unmapped table "legacy_groups"': lambda: _edited(
            good, lambda payload: payload["source"].update(table="legacy_groups")
        ),
        "a change without its commit time": lambda: _edited(
            good, lambda payload: payload["source"].pop("ts_ms")
        ),
    }
    assert malformation in variants, f"unknown malformation {malformation!r}"
    world.publish(good.topic, good.key, variants[malformation]())
