"""Scaffolding: pairing two catalogs into a mapping, with a note on every guess."""

from __future__ import annotations

import attrs
import pytest
import yaml

from adapters.mapping_file import load_mapping, parse_mapping, render_proposal
from domain.catalog import Catalog, ColumnInfo, ForeignKeyInfo, TableInfo, check_values, type_class
from domain.events import Platform
from domain.names import common_prefix, entity_tokens, singular
from domain.scaffold import propose
from tests.support.reference_catalogs import legacy_catalog, revamp_catalog


def _table(name: str, *columns: ColumnInfo, **more: object) -> TableInfo:
    return TableInfo(name, (ColumnInfo("id", "integer"), *columns), ("id",), **more)  # type: ignore[arg-type]


def _catalogs(legacy: list[TableInfo], revamp: list[TableInfo]) -> tuple[Catalog, Catalog]:
    return (
        Catalog(Platform.LEGACY, "public", tuple(legacy)),
        Catalog(Platform.REVAMP, "app", tuple(revamp)),
    )


def test_the_reference_schemas_give_the_reference_mapping() -> None:
    proposal = propose(legacy_catalog(), revamp_catalog())

    assert parse_mapping(proposal.document()) == load_mapping()


def test_the_rendered_file_reads_back_as_the_same_mapping_and_comments_each_guess() -> None:
    proposal = propose(legacy_catalog(), revamp_catalog())
    text = render_proposal(proposal)

    assert parse_mapping(yaml.safe_load(text)) == load_mapping()
    assert "- {legacy: username, revamp: user_name, type: string}  # guessed:" in text
    assert "- {legacy: user_id, revamp: author_id, type: integer, references: user}  #" in text
    assert "differ only by case (active / Active)" in text
    assert "- {name: created_at, type: timestamp}\n" in text  # sure pairs carry no comment


def test_unpaired_columns_and_tables_are_named_in_comments() -> None:
    legacy, revamp = _catalogs(
        [_table("orders", ColumnInfo("total", "numeric(10,2)"), ColumnInfo("fax", "text")),
         _table("audit_trail")],
        [_table("order", ColumnInfo("total", "decimal(10,2)"), ColumnInfo("qty", "int(11)"))],
    )  # fmt: skip
    proposal = propose(legacy, revamp)

    (order,) = proposal.entities
    assert order.name == "order"
    assert [f.spec for f in order.fields] == [{"name": "total", "type": "decimal", "scale": 2}]
    assert "legacy column fax (text) has no pair: not synced" in order.notes
    assert "revamp column qty (int(11)) has no pair: not synced" in order.notes
    assert "legacy table audit_trail has no pair on revamp: not synced" in proposal.notes


def test_value_sets_differing_by_case_irregularly_become_a_value_map() -> None:
    legacy, revamp = _catalogs(
        [_table("tickets", ColumnInfo("state", "text", values=("open", "on_hold")))],
        [_table("tickets", ColumnInfo("state", "text", values=("OPEN", "On_Hold")))],
    )
    (ticket,) = propose(legacy, revamp).entities

    assert ticket.fields[0].spec["values"] == {"open": "OPEN", "on_hold": "On_Hold"}
    assert "differ only by case" in ticket.fields[0].note


def test_value_sets_that_differ_otherwise_are_left_to_the_reader() -> None:
    legacy, revamp = _catalogs(
        [_table("tickets", ColumnInfo("state", "text", values=("open", "done")))],
        [_table("tickets", ColumnInfo("state", "text", values=("OPEN", "CLOSED")))],
    )
    (ticket,) = propose(legacy, revamp).entities

    assert "case" not in ticket.fields[0].spec and "values" not in ticket.fields[0].spec
    assert "value sets differ" in ticket.fields[0].note


def test_parents_come_first_and_foreign_keys_become_references() -> None:
    legacy_fk = (ForeignKeyInfo(("customer_id",), "tbl_customers"),)
    revamp_fk = (ForeignKeyInfo(("client",), "customer"),)
    legacy, revamp = _catalogs(
        [_table("tbl_invoices", ColumnInfo("customer_id", "integer"), foreign_keys=legacy_fk),
         _table("tbl_customers", ColumnInfo("full_name", "text"))],
        [_table("invoice", ColumnInfo("client", "int"), foreign_keys=revamp_fk),
         _table("customer", ColumnInfo("fullName", "varchar(80)"))],
    )  # fmt: skip
    proposal = propose(legacy, revamp)

    assert [e.name for e in proposal.entities] == ["customer", "invoice"]
    invoice = proposal.entities[1]
    assert invoice.fields[0].spec == {
        "legacy": "customer_id", "revamp": "client", "type": "integer", "references": "customer"
    }  # fmt: skip
    customer_name = proposal.entities[0].fields[0]
    assert customer_name.spec["revamp"] == "fullName" and "guessed" in customer_name.note


def test_tables_without_a_single_column_key_are_left_out_with_a_note() -> None:
    legacy, revamp = _catalogs(
        [TableInfo("pairs", (ColumnInfo("a", "int"), ColumnInfo("b", "int")), ("a", "b"))],
        [TableInfo("pairs", (ColumnInfo("a", "int"), ColumnInfo("b", "int")), ("a", "b"))],
    )
    proposal = propose(legacy, revamp)

    assert proposal.entities == []
    assert "legacy table pairs has no single-column primary key: not synced" in proposal.notes


def test_names_and_types() -> None:
    assert common_prefix(["legacy_users", "legacy_posts"]) == "legacy_"
    assert common_prefix(["users", "user_roles"]) == ""
    assert entity_tokens("legacy_order_items", "legacy_") == ("order", "item")
    assert [singular(w) for w in ("categories", "boxes", "status", "news")] == [
        "category", "box", "status", "new"
    ]  # fmt: skip
    assert type_class("timestamp(6) without time zone") == type_class("datetime(6)") == "timestamp"
    assert type_class("tinyint(1)") == type_class("boolean") == "boolean"
    assert type_class("int(11)") == type_class("bigint") == "integer"
    assert type_class("enum('a','b')") == type_class("character varying(20)") == "string"


def test_check_constraints_of_both_platforms_give_their_value_sets() -> None:
    pg = (
        "CHECK (((status)::text = ANY ((ARRAY['active'::character varying, "
        "'inactive'::character varying])::text[])))"
    )
    mysql = "`status` in (_utf8mb4'Active',_utf8mb4'Inactive')"
    assert check_values(pg, ["id", "status"]) == ("status", ("active", "inactive"))
    assert check_values(mysql, ["id", "status"]) == ("status", ("Active", "Inactive"))
    assert check_values("CHECK ((price > (0)::numeric))", ["price"]) is None
    assert check_values("CHECK (a IN ('x') OR b = 'y')", ["a", "b"]) is None


def test_the_catalog_is_plain_data() -> None:
    users = legacy_catalog().table("legacy_users")
    assert users is not None and users.is_unique(("email",)) and not users.is_unique(("status",))
    assert attrs.evolve(users, unique=()).is_unique(("id",))


def test_the_added_types_convert_both_platforms_values() -> None:
    from datetime import date
    from decimal import Decimal

    from domain.coercions import COERCIONS

    assert COERCIONS["boolean"](1) is True and COERCIONS["boolean"]("f") is False
    assert COERCIONS["decimal"]("12.50") == Decimal("12.50")
    assert COERCIONS["date"](19_000) == date(2022, 1, 8) == COERCIONS["date"]("2022-01-08")
    assert COERCIONS["float"](Decimal("1.5")) == 1.5
    for kind, bad in (("boolean", 2), ("decimal", "NaN"), ("date", 1.5), ("float", True)):
        with pytest.raises(ValueError):
            COERCIONS[kind](bad)


def test_every_bookkeeping_table_of_the_sync_is_left_out_of_the_catalog() -> None:
    from adapters.capture.debezium_engine.connector import HEARTBEAT_TABLE
    from adapters.mapping_file import load_mapping
    from adapters.sql.tables import SchemaTables
    from domain.catalog import SYNC_TABLES
    from domain.events import Platform

    tables = SchemaTables(load_mapping(), Platform.LEGACY)
    bookkeeping = {t.name for t in tables.metadata.tables.values()} - {
        t.name for t in tables.by_entity.values()
    }
    assert bookkeeping and bookkeeping <= SYNC_TABLES
    assert HEARTBEAT_TABLE in SYNC_TABLES  # the Debezium capture's own table
