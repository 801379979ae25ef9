"""The same rows seen side by side on legacy and revamp."""

from __future__ import annotations

from pytest_bdd import then

from domain.events import Platform
from tests.acceptance.vocabulary import Cast, column, step
from tests.acceptance.world import World


@then(step('"{name:Name}" looks the same on legacy and revamp'))
def looks_the_same(world: World, cast: Cast, name: str) -> None:
    legacy, revamp = (cast.row_on(world, "user", name, p) for p in Platform)
    for attribute in ("name", "email"):
        assert (
            legacy[column("user", attribute, Platform.LEGACY)]
            == revamp[column("user", attribute, Platform.REVAMP)]
        ), attribute
    assert legacy["status"].title() == revamp["status"]
    assert (legacy["created_at"], legacy["updated_at"]) == (
        revamp["created_at"],
        revamp["updated_at"],
    )


@then(step('"{name:Name}" was created at the same moment on legacy and revamp'))
def created_together(world: World, cast: Cast, name: str) -> None:
    legacy, revamp = (cast.row_on(world, "user", name, p) for p in Platform)
    assert legacy["created_at"] is not None
    assert legacy["created_at"] == revamp["created_at"]


@then(step("legacy and revamp both have exactly the users {names:Names}"))
def exactly_the_users(world: World, names: list[str]) -> None:
    for platform in Platform:
        side = world.side(platform)
        rows = [side.row("user", i) for i in side.app_ids("user")]
        found = sorted(r[column("user", "name", platform)] for r in rows if r)
        assert found == sorted(names), platform.value


@then("every user has its own id on each side")
def own_ids(world: World, cast: Cast) -> None:
    names = [name for entity, name in cast.ids if entity == "user"]
    for platform in Platform:
        ids = [cast.id_on(world, "user", name, platform) for name in names]
        assert None not in ids and len(set(ids)) == len(names), (platform.value, ids)
        for name in names:
            row = cast.row_on(world, "user", name, platform)
            assert row[column("user", "email", platform)] == f"{name}@example.com"


@then(step('legacy and revamp both give "{name:Name}" the email "{email:Name}"'))
def both_emails(world: World, cast: Cast, name: str, email: str) -> None:
    emails = {p: cast.row_on(world, "user", name, p)[column("user", "email", p)] for p in Platform}
    assert emails == {Platform.LEGACY: email, Platform.REVAMP: email}
