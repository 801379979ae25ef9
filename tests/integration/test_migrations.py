"""The SQL migrations against real servers, each test run in a throwaway database.

PostgreSQL and MySQL/MariaDB admin DSNs come from TANDEM_TEST_PG_ADMIN_DSN and
TANDEM_TEST_MYSQL_ADMIN_DSN (defaults: the local servers, postgres trust and root without password).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, bindparam, create_engine, inspect, make_url, text
from sqlalchemy.exc import DBAPIError

from adapters.sql_migrations import (
    Platform,
    apply_migrations,
    default_sql_root,
    split_statements,
)

PG_ADMIN_DSN = os.environ.get(
    "TANDEM_TEST_PG_ADMIN_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN_DSN = os.environ.get(
    "TANDEM_TEST_MYSQL_ADMIN_DSN", "mysql+pymysql://root@127.0.0.1:3306/"
)
NAMES = [
    "V001__reference_schema",
    "V002__source_triggers",
    "V003__sync_bookkeeping",
    "V004__waiting_children",
]
WRITTEN = datetime(2001, 2, 3, 4, 5, 6, 123456)  # a version the sync service "wrote"
PLATFORM_TABLES = {
    "legacy": ("legacy_users", "legacy_posts", "legacy_likes"),
    "revamp": ("revamp_users", "revamp_posts", "revamp_likes"),
}
BOOKKEEPING = {
    "entity_mappings",
    "processed_events",
    "schema_migrations",
    "tandem_waiting_children",
}


def _throwaway(admin_dsn: str, platform: str) -> Iterator[Engine]:
    name = f"tandem_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_dsn, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = create_engine(make_url(admin_dsn).set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            force = " WITH (FORCE)" if platform == "legacy" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


@pytest.fixture
def legacy_engine() -> Iterator[Engine]:
    yield from _throwaway(PG_ADMIN_DSN, "legacy")


@pytest.fixture
def revamp_engine() -> Iterator[Engine]:
    yield from _throwaway(MYSQL_ADMIN_DSN, "revamp")


@pytest.fixture(params=["legacy", "revamp"])
def migrated(request: pytest.FixtureRequest) -> tuple[Platform, Engine]:
    platform: Platform = request.param
    engine: Engine = request.getfixturevalue(f"{platform}_engine")
    assert apply_migrations(engine, platform) == NAMES
    return platform, engine


def _mark_sync(conn: Connection, platform: str) -> None:
    if platform == "legacy":
        conn.execute(text("SELECT set_config('tandem.origin', 'sync_service', true)"))
    else:
        conn.execute(text("SET @tandem_origin = 'sync_service'"))


def _unmark(conn: Connection, platform: str) -> None:
    if platform == "revamp":  # the PostgreSQL setting is transaction-local already
        conn.execute(text("SET @tandem_origin = NULL"))


def _insert_user(conn: Connection, platform: str, name: str, **extra: object) -> int:
    cols = {"legacy": ("username", "email"), "revamp": ("user_name", "email_address")}[platform]
    values = {cols[0]: name, cols[1]: f"{name}@example.com", **extra}
    table = PLATFORM_TABLES[platform][0]
    conn.execute(
        text(f"INSERT INTO {table} ({', '.join(values)}) VALUES (:{', :'.join(values)})"),
        values,
    )
    return int(
        conn.execute(text(f"SELECT id FROM {table} WHERE {cols[0]} = :n"), {"n": name}).scalar_one()
    )


def _user_row(conn: Connection, platform: str, user_id: int) -> tuple[str, datetime, datetime]:
    table = PLATFORM_TABLES[platform][0]
    row = conn.execute(
        text(f"SELECT source, created_at, updated_at FROM {table} WHERE id = :id"), {"id": user_id}
    ).one()
    return row[0], row[1], row[2]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _assert_recent(value: datetime) -> None:
    assert abs(value - _utc_now()) < timedelta(minutes=2), value


# --- statement splitting: no database needed ---------------------------------------------------


def test_split_keeps_dollar_quoted_and_trigger_bodies_whole() -> None:
    sql = (
        "-- header comment only\n"
        "-- statement\n"
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN NEW.a := 1; RETURN NEW; END;\n$$;\n"
        "-- statement\n"
        "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW\nBEGIN\n"
        "  IF 1 THEN SET NEW.a = 1; END IF;\nEND;\n"
        "  --   STATEMENT  \n"
        "-- nothing but a comment\n"
    )
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].startswith("CREATE FUNCTION") and statements[0].endswith("$$")
    assert "END IF;\nEND" in statements[1] and not statements[1].endswith(";")


def test_every_migration_file_splits_into_statements() -> None:
    for platform in ("legacy", "revamp"):
        files = sorted((default_sql_root() / platform).glob("V*.sql"))
        assert [Path(f).stem for f in files] == NAMES
        for path in files:
            assert split_statements(path.read_text(encoding="utf-8")), path


# --- against the servers ------------------------------------------------------------------------


@pytest.mark.integration
def test_second_run_is_a_no_op(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    assert apply_migrations(engine, platform) == []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version, name FROM schema_migrations ORDER BY version"))
        assert [tuple(r) for r in rows] == list(enumerate(NAMES, 1))


@pytest.mark.integration
@pytest.mark.parametrize("platform", ["legacy", "revamp"])
def test_concurrent_runs_apply_each_migration_once(
    platform: Platform, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue(f"{platform}_engine")
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda _: apply_migrations(engine, platform), range(3)))
    assert sorted(runs) == [[], [], NAMES]


@pytest.mark.integration
def test_tables_exist(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    tables = set(inspect(engine).get_table_names())
    expected = set(PLATFORM_TABLES[platform]) | BOOKKEEPING
    if platform == "revamp":
        expected.add("tandem_sync_marker")
    assert expected <= tables


@pytest.mark.integration
def test_legacy_capture_prerequisites(legacy_engine: Engine) -> None:
    apply_migrations(legacy_engine, "legacy")
    with legacy_engine.connect() as conn:
        published = conn.execute(
            text("SELECT tablename FROM pg_publication_tables WHERE pubname = 'tandem_legacy'")
        ).scalars()
        assert set(published) == set(PLATFORM_TABLES["legacy"])
        origin = "SELECT count(*) FROM pg_replication_origin WHERE roname = 'tandem_sync'"
        assert conn.execute(text(origin)).scalar_one() == 1
        identity = conn.execute(
            text("SELECT relname, relreplident FROM pg_class WHERE relname IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"names": list(PLATFORM_TABLES["legacy"])},
        ).all()
        assert {name: ident for name, ident in identity} == dict.fromkeys(
            PLATFORM_TABLES["legacy"], "f"
        )


@pytest.mark.integration
def test_application_insert_gets_the_platform_source(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    with engine.begin() as conn:
        user_id = _insert_user(conn, platform, "ann")
        source, created_at, updated_at = _user_row(conn, platform, user_id)
    assert source == platform
    _assert_recent(created_at)
    _assert_recent(updated_at)


@pytest.mark.integration
def test_application_cannot_claim_sync_service(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    with engine.begin() as conn:
        user_id = _insert_user(conn, platform, "eve", source="sync_service")
        assert _user_row(conn, platform, user_id)[0] == platform


@pytest.mark.integration
def test_marked_write_keeps_sync_source_and_written_versions(
    migrated: tuple[Platform, Engine],
) -> None:
    platform, engine = migrated
    with engine.begin() as conn:
        _mark_sync(conn, platform)
        user_id = _insert_user(conn, platform, "bob", created_at=WRITTEN, updated_at=WRITTEN)
        _unmark(conn, platform)
    with engine.begin() as conn:
        assert _user_row(conn, platform, user_id) == ("sync_service", WRITTEN, WRITTEN)
    later = WRITTEN + timedelta(microseconds=1)
    table, name_col = PLATFORM_TABLES[platform][0], _name_column(platform)
    with engine.begin() as conn:
        _mark_sync(conn, platform)
        conn.execute(
            text(f"UPDATE {table} SET {name_col} = 'bobby', updated_at = :v WHERE id = :id"),
            {"v": later, "id": user_id},
        )
        _unmark(conn, platform)
    with engine.begin() as conn:
        assert _user_row(conn, platform, user_id) == ("sync_service", WRITTEN, later)


@pytest.mark.integration
def test_application_update_of_a_synced_row_flips_source_and_bumps_version(
    migrated: tuple[Platform, Engine],
) -> None:
    platform, engine = migrated
    with engine.begin() as conn:
        _mark_sync(conn, platform)
        user_id = _insert_user(conn, platform, "cid", created_at=WRITTEN, updated_at=WRITTEN)
        _unmark(conn, platform)
    table, name_col = PLATFORM_TABLES[platform][0], _name_column(platform)
    with engine.begin() as conn:  # the application does not touch source nor updated_at
        conn.execute(text(f"UPDATE {table} SET {name_col} = 'cyd' WHERE id = :id"), {"id": user_id})
    with engine.begin() as conn:
        source, created_at, updated_at = _user_row(conn, platform, user_id)
    assert (source, created_at) == (platform, WRITTEN)
    assert updated_at > WRITTEN
    _assert_recent(updated_at)


@pytest.mark.integration
def test_update_version_never_goes_backwards(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    future = _utc_now() + timedelta(hours=1)  # written by a sync from a clock that runs ahead
    with engine.begin() as conn:
        _mark_sync(conn, platform)
        user_id = _insert_user(conn, platform, "dan", updated_at=future)
        _unmark(conn, platform)
    table = PLATFORM_TABLES[platform][0]
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET status = status WHERE id = :id"), {"id": user_id})
        source, _, updated_at = _user_row(conn, platform, user_id)
    assert source == platform
    assert updated_at == future + timedelta(microseconds=1)


@pytest.mark.integration
def test_delete_cascades_to_posts_and_likes(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    users, posts, likes = PLATFORM_TABLES[platform]
    title, author = ("post_title", "user_id") if platform == "legacy" else ("title", "author_id")
    with engine.begin() as conn:
        user_id = _insert_user(conn, platform, "fay")
        conn.execute(
            text(f"INSERT INTO {posts} ({title}, {author}) VALUES ('hello', :u)"), {"u": user_id}
        )
        post_id = conn.execute(text(f"SELECT id FROM {posts}")).scalar_one()
        conn.execute(
            text(f"INSERT INTO {likes} (user_id, post_id) VALUES (:u, :p)"),
            {"u": user_id, "p": post_id},
        )
        like = conn.execute(text(f"SELECT source, created_at FROM {likes}")).one()
        assert like[0] == platform
        _assert_recent(like[1])
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {users} WHERE id = :u"), {"u": user_id})
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {posts}")).scalar_one() == 0
        assert conn.execute(text(f"SELECT count(*) FROM {likes}")).scalar_one() == 0


@pytest.mark.integration
def test_status_check_rejects_bad_values(migrated: tuple[Platform, Engine]) -> None:
    platform, engine = migrated
    # 'active' is the legacy spelling: the revamp check is case-sensitive (utf8mb4_bin).
    bad = "deleted" if platform == "legacy" else "active"
    with pytest.raises(DBAPIError), engine.begin() as conn:
        _insert_user(conn, platform, "gus", status=bad)


@pytest.mark.integration
def test_legacy_marker_is_transaction_local(legacy_engine: Engine) -> None:
    apply_migrations(legacy_engine, "legacy")
    with legacy_engine.connect() as conn:
        with conn.begin():
            _mark_sync(conn, "legacy")
            marked = _insert_user(conn, "legacy", "hal")
        with conn.begin():
            unmarked = _insert_user(conn, "legacy", "ida")
        assert _user_row(conn, "legacy", marked)[0] == "sync_service"
        assert _user_row(conn, "legacy", unmarked)[0] == "legacy"


def _name_column(platform: str) -> str:
    return "username" if platform == "legacy" else "user_name"
