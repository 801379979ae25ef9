"""What the rows on each side look like after the sync."""

from __future__ import annotations

from pytest_bdd import given, parsers, then

from domain.events import Platform
from tests.acceptance.vocabulary import Cast, column, rows_named, step
from tests.acceptance.world import World

WRITERS = {
    "sync service": "sync_service",
    "legacy application": "legacy",
    "revamp application": "revamp",
}


@given(
    step(
        '{platform:Side} has the user "{name:Name}" with email "{email:Name}" '
        'and status "{status:Name}"'
    )
)
@then(
    step(
        '{platform:Side} has the user "{name:Name}" with email "{email:Name}" '
        'and status "{status:Name}"'
    )
)
def user_has(
    world: World, cast: Cast, platform: Platform, name: str, email: str, status: str
) -> None:
    row = cast.row_on(world, "user", name, platform)
    assert row[column("user", "name", platform)] == name
    assert row[column("user", "email", platform)] == email
    assert row["status"] == status


@then(step('{platform:Side} holds the {entity} "{name:Name}" as:'))
def row_holds(
    world: World, cast: Cast, platform: Platform, entity: str, name: str, datatable: list[list[str]]
) -> None:
    header, values = datatable
    row = cast.row_on(world, entity, name, platform)
    assert {c: row.get(c) for c in header} == dict(zip(header, values, strict=True))


@given("both databases hold the same data")
@then("both databases hold the same data")
def same_data(world: World) -> None:
    assert world.differing_rows() == 0


@given(step('"{name:Name}" has different ids on legacy and revamp'))
@then(step('"{name:Name}" has different ids on legacy and revamp'))
def different_ids(world: World, cast: Cast, name: str) -> None:
    ids = {p: cast.id_on(world, "user", name, p) for p in Platform}
    assert None not in ids.values(), f"{name} is not on both sides: {ids}"
    assert ids[Platform.LEGACY] != ids[Platform.REVAMP]


@then(step('on {platform:Side} the post "{title:Name}" is written by "{author:Name}"'))
def post_written_by(world: World, cast: Cast, platform: Platform, title: str, author: str) -> None:
    post = cast.row_on(world, "post", title, platform)
    author_id = post[column("post", "author", platform)]
    assert author_id == cast.id_on(world, "user", author, platform)
    author_row = world.side(platform).row("user", author_id)
    assert author_row is not None and author_row[column("user", "name", platform)] == author


@given(step('the {platform:Side} copy of "{name:Name}" was written by the {writer}'))
@then(step('the {platform:Side} copy of "{name:Name}" was written by the {writer}'))
def written_by(world: World, cast: Cast, platform: Platform, name: str, writer: str) -> None:
    assert cast.row_on(world, "user", name, platform)["source"] == WRITERS[writer]


@then(parsers.parse("legacy and revamp each have {count:d} user"))
@then(parsers.parse("legacy and revamp each have {count:d} users"))
def user_counts(world: World, count: int) -> None:
    assert {p: len(world.side(p).app_ids("user")) for p in Platform} == {p: count for p in Platform}


@then(step("{platform:Side} has {count:d} users"))
def users_counted(world: World, platform: Platform, count: int) -> None:
    assert len(world.side(platform).app_ids("user")) == count


@then(step('{platform:Side} has exactly {count:d} user named "{name:Name}"'))
def users_named(world: World, platform: Platform, count: int, name: str) -> None:
    assert len(rows_named(world, "user", platform, name)) == count


@then(step('{platform:Side} has no {entity} "{name:Name}"'))
def none_named(world: World, platform: Platform, entity: str, name: str) -> None:
    assert rows_named(world, entity, platform, name) == []


@then(step("{platform:Side} has no likes"))
def no_likes(world: World, platform: Platform) -> None:
    assert world.side(platform).app_ids("like") == []


@then(step('on {platform:Side} "{user:Name}" likes "{post:Name}"'))
def user_likes(world: World, cast: Cast, platform: Platform, user: str, post: str) -> None:
    side = world.side(platform)
    likes = [side.row("like", i) for i in side.app_ids("like")]
    wanted = {
        "user_id": cast.id_on(world, "user", user, platform),
        "post_id": cast.id_on(world, "post", post, platform),
    }
    assert None not in wanted.values(), f"{user} or {post} is not on {platform.value}"
    assert [{k: like[k] for k in wanted} for like in likes if like] == [wanted]


@then(step('{platform:Side} no longer has the user "{name:Name}"'))
def user_gone(world: World, cast: Cast, platform: Platform, name: str) -> None:
    row_id = cast.ids[("user", name)].get(platform)
    assert row_id is not None, f"{name} was never seen on {platform.value}"
    assert world.side(platform).row("user", row_id) is None
    assert rows_named(world, "user", platform, name) == []


@then(step('{platform:Side} still has the user "{name:Name}"'))
def user_kept(world: World, cast: Cast, platform: Platform, name: str) -> None:
    assert cast.row_on(world, "user", name, platform)[column("user", "name", platform)] == name
