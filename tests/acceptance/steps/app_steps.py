"""What the applications do to their own databases, outside the sync."""

from __future__ import annotations

from pytest_bdd import given, when

from domain.events import Platform
from tests.acceptance.vocabulary import (
    NAMED_BY,
    Cast,
    column,
    post_values,
    status_on,
    step,
    user_values,
)
from tests.acceptance.world import World


def create_user(world: World, cast: Cast, platform: Platform, name: str, status: str) -> None:
    row_id = world.side(platform).app_insert("user", user_values(platform, name, status))
    cast.introduce("user", name, platform, row_id)


@given(step('the {platform:Side} application creates the user "{name:Name}"'))
@when(step('the {platform:Side} application creates the user "{name:Name}"'))
def app_creates_user(world: World, cast: Cast, platform: Platform, name: str) -> None:
    create_user(world, cast, platform, name, "active")


@given(
    step(
        'the {platform:Side} application creates the user "{name:Name}" with status "{status:Name}"'
    )
)
@when(
    step(
        'the {platform:Side} application creates the user "{name:Name}" with status "{status:Name}"'
    )
)
def app_creates_user_with_status(
    world: World, cast: Cast, platform: Platform, name: str, status: str
) -> None:
    row_id = world.side(platform).app_insert(
        "user", {**user_values(platform, name), "status": status}
    )
    cast.introduce("user", name, platform, row_id)


@given(step("the {platform:Side} application creates the users {names:Names}"))
@when(step("the {platform:Side} application creates the users {names:Names}"))
def app_creates_users(world: World, cast: Cast, platform: Platform, names: list[str]) -> None:
    for name in names:
        create_user(world, cast, platform, name, "active")


@when(step("the {platform:Side} application creates a user:"))
def app_creates_user_from_table(
    world: World, cast: Cast, platform: Platform, datatable: list[list[str]]
) -> None:
    header, *rows = datatable
    for cells in rows:
        values = dict(zip(header, cells, strict=True))
        row_id = world.side(platform).app_insert("user", values)
        cast.introduce("user", values[column("user", "name", platform)], platform, row_id)


@given(step('the {platform:Side} application creates the post "{title:Name}" by "{author:Name}"'))
@when(step('the {platform:Side} application creates the post "{title:Name}" by "{author:Name}"'))
def app_creates_post(world: World, cast: Cast, platform: Platform, title: str, author: str) -> None:
    author_id = cast.id_on(world, "user", author, platform)
    assert author_id is not None, f"user {author!r} is not on {platform.value}"
    row_id = world.side(platform).app_insert("post", post_values(platform, title, author_id))
    cast.introduce("post", title, platform, row_id)


@given(step('the {platform:Side} application records that "{user:Name}" likes "{post:Name}"'))
@when(step('the {platform:Side} application records that "{user:Name}" likes "{post:Name}"'))
def app_records_like(world: World, cast: Cast, platform: Platform, user: str, post: str) -> None:
    user_id = cast.id_on(world, "user", user, platform)
    post_id = cast.id_on(world, "post", post, platform)
    world.side(platform).app_insert("like", {"user_id": user_id, "post_id": post_id})


@when(
    step(
        'the {platform:Side} application changes the {attribute} of "{name:Name}" to "{value:Name}"'
    )
)
def app_changes_user(
    world: World, cast: Cast, platform: Platform, attribute: str, name: str, value: str
) -> None:
    row_id = cast.id_on(world, "user", name, platform)
    assert row_id is not None, f"user {name!r} is not on {platform.value}"
    world.side(platform).app_update("user", row_id, {column("user", attribute, platform): value})


@when(step('the {platform:Side} application deletes the {entity} "{name:Name}"'))
def app_deletes(world: World, cast: Cast, platform: Platform, entity: str, name: str) -> None:
    assert entity in NAMED_BY, f"cannot delete a {entity} by name"
    for side in Platform:  # remember both ids, so the other side can be checked afterwards
        cast.id_on(world, entity, name, side)
    row_id = cast.id_on(world, entity, name, platform)
    assert row_id is not None, f"{entity} {name!r} is not on {platform.value}"
    world.side(platform).app_delete(entity, row_id)


@given("both applications have been busy")
def both_applications_busy(world: World, cast: Cast) -> None:
    """Creates, updates, likes and a delete on both sides, with a sync halfway through."""
    legacy, revamp = Platform.LEGACY, Platform.REVAMP
    for name in ("alice", "bob"):
        create_user(world, cast, legacy, name, "active")
    for name in ("carol", "dave"):
        create_user(world, cast, revamp, name, "inactive")
    app_creates_post(world, cast, legacy, "Legacy news", "alice")
    app_creates_post(world, cast, revamp, "Revamp news", "carol")
    world.sync()
    app_creates_post(world, cast, revamp, "Reply to alice", "alice")
    app_records_like(world, cast, legacy, "carol", "Legacy news")
    app_records_like(world, cast, revamp, "bob", "Revamp news")
    app_changes_user(world, cast, revamp, "status", "bob", status_on(revamp, "banned"))
    app_changes_user(world, cast, legacy, "email", "dave", "dave@legacy.example.com")
    app_deletes(world, cast, legacy, "post", "Legacy news")
