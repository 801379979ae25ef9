"""`tandem mapping check`: every way a mapping can disagree with the live schemas, one line each."""

from __future__ import annotations

import attrs
import pytest

from adapters.mapping_file import load_mapping, parse_mapping
from domain.catalog import Catalog, ColumnInfo, ForeignKeyInfo, TableInfo
from domain.events import Platform
from domain.mapping_check import check_mapping
from tests.support.reference_catalogs import legacy_catalog, revamp_catalog


def _change(catalog: Catalog, table: str, **changes: object) -> Catalog:
    tables = tuple(
        attrs.evolve(t, **changes) if t.name == table else t  # type: ignore[misc]
        for t in catalog.tables
    )
    return attrs.evolve(catalog, tables=tables)


def _columns(catalog: Catalog, table: str, edit: dict[str, ColumnInfo | None]) -> Catalog:
    found = catalog.table(table)
    assert found is not None
    columns = [edit.get(c.name, c) for c in found.columns]
    extra = [c for n, c in edit.items() if c is not None and found.column(n) is None]
    return _change(catalog, table, columns=tuple(c for c in [*columns, *extra] if c))


def _problems(legacy: Catalog | None = None, revamp: Catalog | None = None) -> list[str]:
    return check_mapping(load_mapping(), legacy or legacy_catalog(), revamp or revamp_catalog())


def test_the_reference_mapping_fits_the_reference_schemas() -> None:
    assert _problems() == []


def test_a_dropped_column_is_named() -> None:
    legacy = _columns(legacy_catalog(), "legacy_posts", {"post_title": None})
    assert _problems(legacy) == ["post.post_title: legacy legacy_posts.post_title does not exist"]


def test_a_retyped_column_is_named() -> None:
    revamp = _columns(revamp_catalog(), "revamp_posts", {"title": ColumnInfo("title", "int(11)")})
    assert _problems(revamp=revamp) == [
        "post.post_title: revamp revamp_posts.title is int(11), not of type string"
    ]


def test_a_missing_table_is_named() -> None:
    legacy = attrs.evolve(
        legacy_catalog(),
        tables=tuple(t for t in legacy_catalog().tables if t.name != "legacy_likes"),
    )
    assert _problems(legacy) == ["like: legacy table public.legacy_likes does not exist"]


def test_a_narrower_column_on_one_side_loses_values() -> None:
    revamp = _columns(
        revamp_catalog(), "revamp_users", {"user_name": ColumnInfo("user_name", "varchar(40)")}
    )
    assert _problems(revamp=revamp) == [
        "user.username: revamp varchar(40) is narrower than legacy character varying(255): "
        "larger values are refused"
    ]


@pytest.mark.parametrize(
    ("revamp", "expected"),
    [
        (
            _change(revamp_catalog(), "revamp_users", unique=()),
            "user: revamp revamp_users: (email_address) is not a unique key",
        ),
        (
            _columns(
                revamp_catalog(), "revamp_users", {"nickname": ColumnInfo("nickname", "text")}
            ),
            "user: revamp revamp_users.nickname is required (NOT NULL, no default) but not "
            "mapped: the sync's inserts would fail",
        ),
        (
            _columns(
                revamp_catalog(),
                "revamp_users",
                {"user_name": ColumnInfo("user_name", "varchar(255)", nullable=True)},
            ),
            "user.username: revamp revamp_users.user_name is nullable but the mapping requires "
            "a value (add nullable: true)",
        ),
        (
            _columns(
                revamp_catalog(),
                "revamp_users",
                {"status": ColumnInfo("status", "varchar(20)", values=("Active", "Blocked"))},
            ),
            "user.status: legacy value 'inactive' becomes 'Inactive', which revamp does not allow",
        ),
        (
            attrs.evolve(revamp_catalog(), server=(("binlog_row_metadata", "MINIMAL"),)),
            "revamp: binlog_row_metadata is MINIMAL, capture needs FULL",
        ),
    ],
    ids=["unique", "unmapped-required", "nullable", "values", "binlog"],
)
def test_each_problem_is_one_line_naming_its_place(revamp: Catalog, expected: str) -> None:
    assert expected in _problems(revamp=revamp)


def test_an_unmapped_foreign_key_and_capture_settings_of_postgres() -> None:
    legacy = _change(
        legacy_catalog(),
        "legacy_users",
        foreign_keys=(ForeignKeyInfo(("created_at",), "legacy_posts"),),
        replica_identity="nothing",
        published=False,
    )
    legacy = attrs.evolve(legacy, server=(("wal_level", "replica"),))
    problems = _problems(legacy)
    assert problems[0] == "legacy: wal_level is replica, capture needs logical"
    assert (
        "user.created_at: legacy legacy_users.created_at references legacy_posts: map it with "
        "'references:' so ids translate"
    ) in problems
    assert any("REPLICA IDENTITY NOTHING" in p for p in problems)
    assert any("not in the capture's publication" in p for p in problems)
    assert check_mapping(load_mapping(), legacy, revamp_catalog(), capture=False) == [problems[1]]


def test_only_the_entities_asked_for() -> None:
    legacy = _columns(legacy_catalog(), "legacy_posts", {"post_title": None})
    assert check_mapping(load_mapping(), legacy, revamp_catalog(), entities=("user",)) == []
    assert TableInfo("t", ()).column("x") is None


@pytest.mark.parametrize(
    ("legacy_type", "revamp_type", "narrower"),
    [
        ("bigint", "int(11)", ["revamp int(11) is narrower than legacy bigint"]),
        (
            "numeric(12,2)",
            "decimal(12,4)",
            [
                "legacy numeric(12,2) is narrower than revamp decimal(12,4)",
                "revamp decimal(12,4) is narrower than legacy numeric(12,2)",
            ],
        ),
        ("numeric", "decimal(30,10)", ["revamp decimal(30,10) is narrower than legacy numeric"]),
        ("integer", "int(11)", []),
        ("numeric(12,2)", "decimal(12,2)", []),
    ],
)
def test_a_narrower_type_on_one_side_is_named(
    legacy_type: str, revamp_type: str, narrower: list[str]
) -> None:
    mapping = parse_mapping({"entities": {"item": {"tables": "items", "fields": [{"name": "n"}]}}})

    def catalog(platform: Platform, raw: str) -> Catalog:
        columns = (ColumnInfo("id", "int"), ColumnInfo("source", "text"), ColumnInfo("n", raw))
        return Catalog(platform, "s", (TableInfo("items", columns, ("id",)),))

    problems = check_mapping(
        mapping, catalog(Platform.LEGACY, legacy_type), catalog(Platform.REVAMP, revamp_type)
    )
    assert problems == [f"item.n: {n}: larger values are refused" for n in narrower]
