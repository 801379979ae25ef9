"""The mapping as data: building it from YAML, and transforming rows both ways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.mapping_file import REFERENCE_MAPPING, load_mapping, parse_mapping
from domain.errors import ConfigurationError, MappingError
from domain.events import Platform
from domain.mapping import SchemaMapping

LEGACY, REVAMP = Platform.LEGACY, Platform.REVAMP
MOMENT = datetime(2026, 3, 4, 5, 6, 7, 890123)
LEGACY_USER = {
    "id": 3,
    "username": "alice",
    "email": "a@example.com",
    "status": "banned",
    "source": "legacy",
    "created_at": MOMENT,
    "updated_at": MOMENT,
}
REVAMP_USER = {
    "user_name": "alice",
    "email_address": "a@example.com",
    "status": "Banned",
    "created_at": MOMENT,
    "updated_at": MOMENT,
}


def document(**user: Any) -> dict[str, Any]:
    spec = {
        "tables": {"legacy": "l_users", "revamp": "r_users"},
        "fields": [{"legacy": "username", "revamp": "user_name", "type": "string"}],
    }
    return {"entities": {"user": spec | user}}


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"entities": {}}, "entities"),
        ({"entities": {"user": "l_users"}}, "entities.user"),
        ({"entities": {"user": {"fields": []}}}, "entities.user: 'tables' is missing"),
        (document(fields="username"), "entities.user.fields"),
        (document(fields=["username"]), "entities.user.fields[0]"),
        (document(fields=[{"name": "x", "type": "money"}]), "entities.user.fields[0].type"),
        (
            document(fields=[{"name": "s", "case": {"legacy": "lower", "revamp": "shout"}}]),
            "entities.user.fields[0].case",
        ),
        (document(fields=[{"name": "s", "values": ["a", "b"]}]), "entities.user.fields[0].values"),
        (document(fields=[{"type": "string"}]), "entities.user.fields[0]"),
        (document(tables={"legacy": "l_users"}), "entities.user.tables"),
        (
            document(fields=[{"name": "owner_id", "references": "person"}]),
            "user: references unknown entity person",
        ),
    ],
)
def test_a_bad_mapping_names_the_entity_and_field(data: dict[str, Any], named: str) -> None:
    with pytest.raises(MappingError) as raised:
        parse_mapping(data)
    assert named in str(raised.value)


def test_a_reference_cycle_is_refused() -> None:
    data = {
        "entities": {
            "a": {"tables": "a", "fields": [{"name": "b_id", "references": "b"}]},
            "b": {"tables": "b", "fields": [{"name": "a_id", "references": "a"}]},
        }
    }
    with pytest.raises(MappingError, match="cycle"):
        parse_mapping(data).in_dependency_order()


def test_parents_come_before_children(mapping: SchemaMapping) -> None:
    order = [e.entity_type for e in mapping.in_dependency_order()]
    assert order.index("user") < order.index("post") < order.index("like")


def test_a_table_is_found_bare_or_schema_qualified(mapping: SchemaMapping) -> None:
    assert mapping.for_table(LEGACY, "legacy_posts").entity_type == "post"
    assert mapping.for_table(REVAMP, "revamp.revamp_likes").entity_type == "like"
    with pytest.raises(MappingError, match="legacy_posts"):
        mapping.for_table(REVAMP, "legacy_posts")


def test_legacy_rows_map_to_revamp_columns(mapping: SchemaMapping) -> None:
    assert mapping.entity("user").transform(LEGACY_USER, LEGACY) == REVAMP_USER


def test_revamp_rows_map_to_legacy_columns(mapping: SchemaMapping) -> None:
    post = {
        "title": "T",
        "content": None,
        "author_id": 9,
        "status": "Published",
        "created_at": "2026-03-04T05:06:07.890123Z",
        "updated_at": MOMENT,  # decoded by the codec before the mapping sees it
    }
    assert mapping.entity("post").transform(post, REVAMP) == {
        "post_title": "T",
        "post_content": None,
        "user_id": 9,
        "status": "published",
        "created_at": MOMENT,
        "updated_at": MOMENT,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"email": None}, "user.email: is null"),
        ({"username": 42}, "user.username"),
        ({"updated_at": "yesterday"}, "user.updated_at"),
    ],
)
def test_a_row_that_does_not_map_names_entity_and_field(
    mapping: SchemaMapping, change: dict[str, Any], named: str
) -> None:
    with pytest.raises(MappingError, match=named):
        mapping.entity("user").transform(LEGACY_USER | change, LEGACY)


def test_a_missing_column_is_named(mapping: SchemaMapping) -> None:
    row = {k: v for k, v in LEGACY_USER.items() if k != "status"}
    with pytest.raises(MappingError, match=r"user\.status: missing from the legacy row"):
        mapping.entity("user").transform(row, LEGACY)


def test_value_tables_translate_both_ways() -> None:
    data = document(fields=[{"name": "tier", "values": {"G": "gold", "S": "silver"}}])
    user = parse_mapping(data).entity("user")
    assert user.transform({"tier": "G"}, LEGACY) == {"tier": "gold"}
    assert user.transform({"tier": "silver"}, REVAMP) == {"tier": "S"}


def test_an_unreadable_mapping_file_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("entities: [unclosed")
    (tmp_path / "empty.yaml").write_text("entities: {}")
    for name in ("missing.yaml", "bad.yaml", "empty.yaml"):
        with pytest.raises(ConfigurationError, match="SYNC_MAPPING"):
            load_mapping(tmp_path / name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["entities"]["post"]["fields"][2].update(refrences="user"),
            "entities.post.fields[2].refrences: unknown key (did you mean 'references'?)",
        ),
        (
            lambda d: d["entities"]["user"].update(verison="updated_at"),
            "entities.user.verison: unknown key (did you mean 'version'?)",
        ),
        (
            lambda d: d.update(entites={}),
            "mapping.entites: unknown key (did you mean 'entities'?)",
        ),
        (
            lambda d: d["entities"]["user"]["tables"].update(revmap="x"),
            "entities.user.tables.revmap: unknown key (did you mean 'revamp'?)",
        ),
        (
            lambda d: d["entities"]["like"]["fields"][0].update(colour="red"),
            "entities.like.fields[0].colour: unknown key; known:",
        ),
    ],
)
def test_an_unknown_key_of_the_mapping_file_is_named_with_its_likely_meaning(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    document = yaml.safe_load(REFERENCE_MAPPING.read_text())
    change(document)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigurationError) as raised:
        load_mapping(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
