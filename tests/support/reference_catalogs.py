"""The reference schemas of CONTRACT.md §4 as catalogs, as the live databases report them."""

from __future__ import annotations

from domain.catalog import Catalog, ColumnInfo, ForeignKeyInfo, TableInfo
from domain.events import Platform

SOURCES = ("legacy", "revamp", "sync_service")


def _col(name: str, raw: str, **more: object) -> ColumnInfo:
    return ColumnInfo(name, raw, **more)  # type: ignore[arg-type]


def legacy_catalog() -> Catalog:
    ts, vc = "timestamp(6) without time zone", "character varying(255)"
    status = "character varying(20)"
    users = TableInfo(
        "legacy_users",
        (
            _col("id", "integer", has_default=True),
            _col("username", vc),
            _col("email", vc),
            _col("status", status, has_default=True, values=("active", "inactive", "banned")),
            _col("source", status, has_default=True, values=SOURCES),
            _col("created_at", ts),
            _col("updated_at", ts),
        ),
        primary_key=("id",),
        unique=(("email",),),
        replica_identity="full",
    )
    posts = TableInfo(
        "legacy_posts",
        (
            _col("id", "integer", has_default=True),
            _col("post_title", vc),
            _col("post_content", "text", nullable=True),
            _col("user_id", "integer"),
            _col("status", status, has_default=True, values=("draft", "published", "archived")),
            _col("source", status, has_default=True, values=SOURCES),
            _col("created_at", ts),
            _col("updated_at", ts),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKeyInfo(("user_id",), "legacy_users"),),
        replica_identity="full",
    )
    likes = TableInfo(
        "legacy_likes",
        (
            _col("id", "integer", has_default=True),
            _col("user_id", "integer"),
            _col("post_id", "integer"),
            _col("source", status, has_default=True, values=SOURCES),
            _col("created_at", ts),
        ),
        primary_key=("id",),
        unique=(("user_id", "post_id"),),
        foreign_keys=(
            ForeignKeyInfo(("post_id",), "legacy_posts"),
            ForeignKeyInfo(("user_id",), "legacy_users"),
        ),
        replica_identity="full",
    )
    bookkeeping = TableInfo("entity_mappings", (_col("entity_type", "varchar(50)"),))
    return Catalog(
        Platform.LEGACY,
        "public",
        (bookkeeping, likes, posts, users),
        (("wal_level", "logical"),),
    )


def revamp_catalog() -> Catalog:
    ts, vc, status = "datetime(6)", "varchar(255)", "varchar(20)"
    users = TableInfo(
        "revamp_users",
        (
            _col("id", "int(11)", has_default=True),
            _col("user_name", vc),
            _col("email_address", vc),
            _col("status", status, has_default=True, values=("Active", "Inactive", "Banned")),
            _col("source", status, has_default=True, values=SOURCES),
            _col("created_at", ts),
            _col("updated_at", ts),
        ),
        primary_key=("id",),
        unique=(("email_address",),),
    )
    posts = TableInfo(
        "revamp_posts",
        (
            _col("id", "int(11)", has_default=True),
            _col("title", vc),
            _col("content", "text", nullable=True, has_default=True),
            _col("author_id", "int(11)"),
            _col("status", status, has_default=True, values=("Draft", "Published", "Archived")),
            _col("source", status, has_default=True, values=SOURCES),
            _col("created_at", ts),
            _col("updated_at", ts),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKeyInfo(("author_id",), "revamp_users"),),
    )
    likes = TableInfo(
        "revamp_likes",
        (
            _col("id", "int(11)", has_default=True),
            _col("user_id", "int(11)"),
            _col("post_id", "int(11)"),
            _col("source", status, has_default=True, values=SOURCES),
            _col("created_at", ts),
        ),
        primary_key=("id",),
        unique=(("user_id", "post_id"),),
        foreign_keys=(
            ForeignKeyInfo(("post_id",), "revamp_posts"),
            ForeignKeyInfo(("user_id",), "revamp_users"),
        ),
    )
    return Catalog(
        Platform.REVAMP,
        "revamp",
        (likes, posts, users),
        (("binlog_format", "ROW"), ("binlog_row_image", "FULL"), ("binlog_row_metadata", "FULL")),
    )
