"""`tandem migrate`'s advice on REPLICA IDENTITY and the binlog row settings."""

from __future__ import annotations

from adapters.mapping_file import load_mapping
from domain.capture_advice import capture_advice
from domain.catalog import Catalog, TableInfo
from domain.events import Platform

MAPPING = load_mapping(None)


def catalogs(identity: str, image: str) -> tuple[Catalog, Catalog]:
    tables = tuple(
        TableInfo(e.tables.legacy, (), replica_identity=identity) for e in MAPPING.entities
    )
    legacy = Catalog(Platform.LEGACY, "public", tables)
    server = (("binlog_row_image", image), ("binlog_row_metadata", "FULL"))
    return legacy, Catalog(Platform.REVAMP, "revamp", (), server)


def test_full_identity_and_full_row_images_need_nothing() -> None:
    assert capture_advice(MAPPING, *catalogs("full", "FULL")) == []


def test_each_table_at_default_identity_is_named_with_the_statement_that_fixes_it() -> None:
    advice = capture_advice(MAPPING, *catalogs("default", "FULL"))
    assert len(advice) == len(MAPPING.entities)
    assert advice[0].startswith("legacy public.legacy_users: REPLICA IDENTITY DEFAULT")
    assert advice[0].endswith("ALTER TABLE public.legacy_users REPLICA IDENTITY FULL")


def test_a_minimal_row_image_is_named_with_its_fix() -> None:
    [advice] = capture_advice(MAPPING, *catalogs("full", "MINIMAL"))
    assert "binlog_row_image is MINIMAL, capture needs FULL" in advice
    assert "SET PERSIST binlog_row_image = 'FULL'" in advice
