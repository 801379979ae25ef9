"""The scenarios' business words as each platform's columns (CONTRACT.md §4), and their cast.

The columns are spelled out here, not read from the product's mapping, so that a mapping bug
shows up as a failing scenario instead of being copied into the expectation.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from pytest_bdd import parsers

from domain.events import Platform
from tests.acceptance.world import World

ENTITIES = ("user", "post", "like")
COLUMNS = {
    "user": {
        "name": ("username", "user_name"),
        "email": ("email", "email_address"),
        "status": ("status", "status"),
    },
    "post": {
        "title": ("post_title", "title"),
        "content": ("post_content", "content"),
        "author": ("user_id", "author_id"),
        "status": ("status", "status"),
    },
    "like": {"user": ("user_id", "user_id"), "post": ("post_id", "post_id")},
}
NAMED_BY = {"user": "name", "post": "title"}


def column(entity: str, attribute: str, platform: Platform) -> str:
    legacy, revamp = COLUMNS[entity][attribute]
    return legacy if platform is Platform.LEGACY else revamp


def status_on(platform: Platform, status: str) -> str:
    """Legacy writes statuses in lowercase, revamp in Title Case."""
    return status.lower() if platform is Platform.LEGACY else status.title()


def user_values(platform: Platform, name: str, status: str = "active") -> dict[str, Any]:
    return {
        column("user", "name", platform): name,
        column("user", "email", platform): f"{name}@example.com",
        "status": status_on(platform, status),
    }


def post_values(platform: Platform, title: str, author_id: int) -> dict[str, Any]:
    return {
        column("post", "title", platform): title,
        column("post", "content", platform): f"About {title}",
        column("post", "author", platform): author_id,
        "status": status_on(platform, "draft"),
    }


def _platform(text: str) -> Platform:
    return Platform(text)


def _names(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


def _name(text: str) -> str:
    return text


_platform.pattern = r"legacy|revamp"  # type: ignore[attr-defined]
_names.pattern = r'"[^"]+"(?:(?:, | and )"[^"]+")*'  # type: ignore[attr-defined]
_name.pattern = r'[^"]+'  # type: ignore[attr-defined]
TYPES = {"Side": _platform, "Names": _names, "Name": _name}


def step(text: str) -> parsers.parse:
    """A step pattern: {x:Side} is legacy or revamp, {x:Name} a text without quotes,
    {x:Names} a list of quoted names ("a", "b" and "c")."""
    return parsers.parse(text, extra_types=TYPES)


@attrs.define
class Cast:
    """The rows a scenario has named: where each was written first, and its ids on each side."""

    ids: dict[tuple[str, str], dict[Platform, int]] = attrs.field(factory=dict)
    origins: dict[tuple[str, str], Platform] = attrs.field(factory=dict)
    noted: dict[str, Any] = attrs.field(factory=dict)

    def introduce(self, entity: str, name: str, platform: Platform, row_id: int) -> None:
        self.ids[(entity, name)] = {platform: row_id}
        self.origins[(entity, name)] = platform

    def id_on(self, world: World, entity: str, name: str, platform: Platform) -> int | None:
        """The row's id on `platform`, remembered once known (so a deleted row keeps it)."""
        known = self.ids[(entity, name)]
        if platform not in known:
            origin = self.origins[(entity, name)]
            linked = world.linked_id(entity, origin, known[origin])
            if linked is None:
                return None
            known[platform] = linked
        return known[platform]

    def row_on(self, world: World, entity: str, name: str, platform: Platform) -> dict[str, Any]:
        row_id = self.id_on(world, entity, name, platform)
        assert row_id is not None, f"{entity} {name!r} was never synced to {platform.value}"
        row = world.side(platform).row(entity, row_id)
        assert row is not None, f"{entity} {name!r} is not on {platform.value} (id {row_id})"
        return row


def rows_named(world: World, entity: str, platform: Platform, name: str) -> list[dict[str, Any]]:
    side = world.side(platform)
    name_column = column(entity, NAMED_BY[entity], platform)
    rows = [side.row(entity, i) for i in side.app_ids(entity)]
    return [r for r in rows if r is not None and r[name_column] == name]


def all_rows(world: World) -> dict[tuple[str, str], dict[int, dict[str, Any] | None]]:
    """Every row of every entity on both sides, for before/after comparisons."""
    return {
        (platform.value, entity): {
            i: world.side(platform).row(entity, i)
            for i in sorted(world.side(platform).app_ids(entity))
        }
        for platform in Platform
        for entity in ENTITIES
    }
