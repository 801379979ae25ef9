"""The operator commands (`tandem ...`, `python -m entrypoints.consumer|cdc`) as real processes
against the local stack, each test with its own topics, state directory and replication slot."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, text

from adapters.capture import pgslot
from adapters.capture.debezium_engine.connector import HEARTBEAT_TABLE
from adapters.capture.debezium_engine.slot import drop_postgres
from adapters.kafka.admin import admin_client, end_offsets, ensure_topics
from adapters.kafka.dead_letters import FIELDS, KafkaDeadLetterQueue
from adapters.kafka.offsets import read_to_end
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from adapters.mapping_file import load_mapping
from adapters.topics import change_topics
from domain.events import Platform
from domain.model import DeadLetter
from tests.support.tcp_forwarder import TcpForwarder, free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cret-pw"


class Tandem:
    """Runs the commands in a subprocess with this test's env file and no inherited SYNC_*."""

    def __init__(self, values: dict[str, str], env_file: Path) -> None:
        self.values, self.env_file = values, env_file
        self.kafka = KafkaSettings((values["SYNC_KAFKA_BOOTSTRAP"],))
        mapping = load_mapping()
        self.topics = {
            origin: change_topics(mapping, origin, values[f"SYNC_{origin.name}_TOPIC_PREFIX"])
            for origin in Platform
        }
        self.dlq = values["SYNC_DLQ_TOPIC"]

    def __call__(
        self,
        *args: str,
        module: str = "entrypoints.cli",
        env: dict[str, str] | None = None,
        env_file: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
        command = [sys.executable, "-m", module, *args]
        command += ["--env-file", str(env_file or self.env_file)]
        return subprocess.run(
            command,
            cwd=REPO,
            env=environ | (env or {}),
            capture_output=True,
            text=True,
            timeout=timeout,  # a guard against a hang, not an assertion on time
        )

    def ok(self, *args: str, **kwargs: Any) -> str:
        done = self(*args, **kwargs)
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-3000:]}"
        return done.stdout

    def create_topics(self) -> None:
        ensure_topics(self.kafka, [*self.topics[Platform.LEGACY], *self.topics[Platform.REVAMP]])
        ensure_topics(self.kafka, [self.dlq])

    def publish(self, topic: str, key: bytes, value: bytes) -> None:
        publisher = KafkaEventPublisher(self.kafka)
        try:
            publisher.publish(topic, key, value)
            publisher.flush()
        finally:
            publisher.close()


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def drop_slot(engine: Engine, slot: str) -> None:
    pgslot.drop_slot_at(engine.url, slot)


@pytest.fixture
def tandem(
    running_stack: dict[str, str], engines: dict[str, Engine], tmp_path: Path
) -> Iterator[Tandem]:
    tag = uuid.uuid4().hex[:10]
    values = {key: running_stack[key] for key in ("SYNC_LEGACY_DSN", "SYNC_REVAMP_DSN")}
    values |= {
        "SYNC_KAFKA_BOOTSTRAP": running_stack["SYNC_KAFKA_BOOTSTRAP"],
        "SYNC_LEGACY_TOPIC_PREFIX": f"cli{tag}l",
        "SYNC_REVAMP_TOPIC_PREFIX": f"cli{tag}r",
        "SYNC_DLQ_TOPIC": f"cli{tag}.dlq",
        "SYNC_STATE_DIR": str(tmp_path / "state"),
        "SYNC_LEGACY_SLOT": f"tandem_cli_{tag}",
        "SYNC_HTTP_PORT": "0",
    }
    yield Tandem(values, write_env(tmp_path / "tandem.env", values))
    drop_slot(engines["legacy"], values["SYNC_LEGACY_SLOT"])


# --- migrate -------------------------------------------------------------------------------


def with_database(dsn: str, database: str) -> str:
    return make_url(dsn).set(database=database).render_as_string(hide_password=False)


@pytest.fixture
def fresh_databases(tandem: Tandem, engines: dict[str, Engine]) -> Iterator[Tandem]:
    """The same stack, but empty databases of this test's own: migrate has everything to do."""
    name = f"cli_{uuid.uuid4().hex[:10]}"
    legacy = engines["legacy"].execution_options(isolation_level="AUTOCOMMIT")
    with legacy.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    with engines["revamp"].begin() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    values = tandem.values | {
        "SYNC_LEGACY_DSN": with_database(tandem.values["SYNC_LEGACY_DSN"], name),
        "SYNC_REVAMP_DSN": with_database(tandem.values["SYNC_REVAMP_DSN"], name),
        "SYNC_TOPIC_PARTITIONS": "2",
    }
    yield Tandem(values, write_env(tandem.env_file, values))
    drop_slot(engines["legacy"], values["SYNC_LEGACY_SLOT"])  # before its database goes
    with legacy.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    with engines["revamp"].begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


def test_migrate_twice_creates_everything_then_is_up_to_date(
    fresh_databases: Tandem, engines: dict[str, Engine]
) -> None:
    tandem = fresh_databases
    first = tandem.ok("migrate")
    assert "legacy: V001__reference_schema" in first
    assert "revamp: V001__reference_schema" in first
    second = tandem.ok("migrate")
    assert "legacy: up to date" in second
    assert "revamp: up to date" in second

    with admin_client(tandem.kafka) as admin:
        topics = set(admin.list_topics())
    wanted = [*tandem.topics[Platform.LEGACY], *tandem.topics[Platform.REVAMP], tandem.dlq]
    assert f"{tandem.values['SYNC_LEGACY_TOPIC_PREFIX']}.public.legacy_users" in wanted
    assert set(wanted) <= topics
    assert len(end_offsets(tandem.kafka, wanted)) == 2 * len(wanted)  # SYNC_TOPIC_PARTITIONS=2

    with engines["legacy"].connect() as conn:
        slots = conn.execute(
            text("SELECT database, plugin FROM pg_replication_slots WHERE slot_name = :s"),
            {"s": tandem.values["SYNC_LEGACY_SLOT"]},
        ).all()
    assert slots == [(make_url(tandem.values["SYNC_LEGACY_DSN"]).database, "pgoutput")]

    checkpoint = Path(tandem.values["SYNC_STATE_DIR"]) / "revamp-binlog.offset"
    position = json.loads(checkpoint.read_text())
    assert position["file"] and position["pos"] > 0
    assert f"binlog position {position['file']}:{position['pos']}" in second


def test_migrate_for_debezium_makes_its_slot_not_the_built_in_one_and_status_warns_of_it(
    tandem: Tandem, engines: dict[str, Engine]
) -> None:
    """SYNC_CAPTURE=debezium: Debezium's publication and slot and the heartbeat tables; no
    built-in slot or binlog checkpoint, which nothing would read. A slot nobody reads keeps
    WAL: `tandem status` says so, whichever capture it belongs to."""
    debezium_slot = f"{tandem.values['SYNC_LEGACY_SLOT']}_dbz"
    env = {"SYNC_CAPTURE": "debezium", "SYNC_DEBEZIUM_SLOT": debezium_slot}
    try:
        said = " ".join(tandem.ok("migrate", env=env).split())  # lines wrapped by the console
        assert f"publication and slot {debezium_slot} at" in said
        with engines["legacy"].connect() as conn:
            slots = dict(
                conn.execute(text("SELECT slot_name, plugin FROM pg_replication_slots")).all()
            )
            published = set(
                conn.execute(
                    text("SELECT tablename FROM pg_publication_tables WHERE pubname = :p"),
                    {"p": debezium_slot},
                ).scalars()
            )
        assert slots.get(debezium_slot) == "pgoutput"
        assert tandem.values["SYNC_LEGACY_SLOT"] not in slots
        assert published == {"legacy_users", "legacy_posts", "legacy_likes", HEARTBEAT_TABLE}
        with engines["revamp"].connect() as conn:
            beats = conn.execute(text(f"SELECT id FROM {HEARTBEAT_TABLE}")).scalars().all()
        assert beats == [1]
        assert not (Path(tandem.values["SYNC_STATE_DIR"]) / "revamp-binlog.offset").exists()

        with engines["legacy"].begin() as conn:  # WAL the unread slot has to keep
            conn.execute(text(f"UPDATE {HEARTBEAT_TABLE} SET beat = beat + 1"))
        report = json.loads(tandem.ok("status", "--json", env=env))
        assert any(
            f"replication slot {debezium_slot} is inactive and retains" in warning
            for warning in report["warnings"]
        ), report["warnings"]
    finally:
        drop_postgres(tandem.values["SYNC_LEGACY_DSN"], debezium_slot, debezium_slot)


_LEGACY_AT = f"postgresql+psycopg://app:{SECRET}@127.0.0.1:{{port}}/x"


@pytest.mark.parametrize(
    ("module", "args", "setting", "value", "named"),
    [
        ("entrypoints.cli", ("migrate",), "SYNC_LEGACY_DSN", _LEGACY_AT, "legacy"),
        ("entrypoints.cli", ("run",), "SYNC_LEGACY_DSN", _LEGACY_AT, "legacy"),
        ("entrypoints.consumer", (), "SYNC_LEGACY_DSN", _LEGACY_AT, "legacy"),
        ("entrypoints.cli", ("run",), "SYNC_KAFKA_BOOTSTRAP", "127.0.0.1:{port}", "Kafka"),
    ],
)
def test_a_server_down_at_start_fails_in_one_line(
    tandem: Tandem, module: str, args: tuple[str, ...], setting: str, value: str, named: str
) -> None:
    environment = {setting: value.format(port=free_port()), "SYNC_START_WAIT_SECONDS": "0"}
    done = tandem(*args, module=module, env=environment, timeout=120)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert named in done.stderr and ("unreachable" in done.stderr or "failed" in done.stderr)
    assert SECRET not in done.stdout + done.stderr


def test_a_database_that_comes_up_during_the_start_wait_is_used(tandem: Tandem) -> None:
    """A restart in the middle of an outage waits for the server instead of exiting."""
    legacy = make_url(tandem.values["SYNC_LEGACY_DSN"])
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")} | {
        "SYNC_LEGACY_DSN": legacy.set(port=port).render_as_string(hide_password=False),
        "SYNC_START_WAIT_SECONDS": "120",
    }
    command = [sys.executable, "-m", "entrypoints.consumer", "--seconds", "2"]
    consumer = subprocess.Popen(
        [*command, "--env-file", str(tandem.env_file)],
        cwd=REPO,
        env=environ,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert consumer.stderr is not None
    forwarder = None
    try:
        seen = [consumer.stderr.readline()]
        while seen[-1] and "waiting up to" not in seen[-1]:
            seen.append(consumer.stderr.readline())
        assert "waiting up to 120 s at start" in seen[-1] and "legacy" in seen[-1], seen
        forwarder = TcpForwarder(port, (legacy.host or "127.0.0.1", legacy.port or 5432))
        rest = consumer.stderr.read()
        assert consumer.wait(timeout=120) == 0, rest
        assert "reached every server" in rest
    finally:
        consumer.kill()
        if forwarder is not None:
            forwarder.close()


def test_a_second_tandem_run_on_the_same_state_exits_naming_the_first(tandem: Tandem) -> None:
    tandem.ok("migrate")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    command = [sys.executable, "-m", "entrypoints.cli", "run", "--seconds", "120"]
    first = subprocess.Popen(
        [*command, "--env-file", str(tandem.env_file)],
        cwd=REPO,
        env=environ,
        stderr=subprocess.DEVNULL,
    )
    lock = Path(tandem.values["SYNC_STATE_DIR"]) / "tandem.lock"
    try:
        for _ in range(600):
            if lock.exists() and "pid" in lock.read_text():
                break
            assert first.poll() is None, "the first run ended"
            time.sleep(0.1)
        second = tandem("run", "--seconds", "5")
        assert second.returncode == 1, second.stderr
        assert len(second.stderr.splitlines()) == 1, second.stderr
        assert f"tandem run (pid {first.pid})" in second.stderr
        assert first.poll() is None  # the first goes on
    finally:
        first.terminate()
        first.wait(timeout=30)


# --- bad settings --------------------------------------------------------------------------

COMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("entrypoints.cli", ("migrate",)),
    ("entrypoints.cli", ("run",)),
    ("entrypoints.cli", ("snapshot", "--from", "legacy")),
    ("entrypoints.cli", ("reconcile",)),
    ("entrypoints.cli", ("dlq", "list")),
    ("entrypoints.cli", ("dlq", "show", "0-0")),
    ("entrypoints.cli", ("dlq", "replay", "--all")),
    ("entrypoints.cli", ("dlq", "purge", "--yes")),
    ("entrypoints.cli", ("status",)),
    ("entrypoints.consumer", ("--once",)),
    ("entrypoints.cdc", ("--once",)),
]


def bad_settings(tmp_path: Path) -> list[tuple[str, dict[str, str]]]:
    """(the setting the message must name, the environment that sets it wrong)."""
    (tmp_path / "a-file").write_text("")
    return [
        ("SYNC_STATE_DIR", {"SYNC_STATE_DIR": str(tmp_path / "a-file" / "state")}),
        ("SYNC_LEGACY_DSN", {"SYNC_LEGACY_DSN": f"mysql://app:{SECRET}@db.example/legacy"}),
        ("SYNC_CONFLICT_POLICY", {"SYNC_CONFLICT_POLICY": "sometimes"}),
        ("SYNC_REVAMP_DSN", {"SYNC_REVAMP_DSN": f"postgresql://app:{SECRET}@db.example/r"}),
        ("SYNC_REVAMP_DSN", {"SYNC_REVAMP_DSN": f"mysql://app:{SECRET}@db.example/r"}),
        ("SYNC_HTTP_PORT", {"SYNC_HTTP_PORT": "99999"}),
        ("SYNC_MAPPING", {"SYNC_MAPPING": str(tmp_path / "missing.yaml")}),
        ("SYNC_KAFKA_SECURITY_PROTOCOL", {"SYNC_KAFKA_SECURITY_PROTOCOL": "carrier-pigeon"}),
        ("SYNC_KAFKA_BOOTSTRAP", {"SYNC_KAFKA_BOOTSTRAP": "no-port-here"}),
        ("SYNC_CAPTURE", {"SYNC_CAPTURE": "maxwell"}),
    ]


Case = tuple[str, tuple[str, ...], str, dict[str, str], Path | None]


def test_every_command_stops_on_a_bad_setting_with_one_line(tandem: Tandem, tmp_path: Path) -> None:
    bad = bad_settings(tmp_path)
    cases: list[Case] = [
        (module, args, *bad[i % len(bad)], None) for i, (module, args) in enumerate(COMMANDS)
    ]
    cases += [  # the services, with the settings they used to load only half-way through
        (module, args, *bad[b], None) for module, args in COMMANDS[-2:] for b in (0, 5, 6)
    ]
    for i, (module, args) in enumerate(COMMANDS[::3]):  # missing, or a directory: unreadable
        cases.append((module, args, "--env-file", {}, tmp_path / ("no.env" if i % 2 else "")))

    def run(case: Case) -> str | None:
        module, args, named, env, env_file = case
        done = tandem(*args, module=module, env=env, env_file=env_file, timeout=60)
        lines = done.stderr.strip().splitlines()
        output = done.stdout + done.stderr
        if (
            done.returncode != 2
            or len(lines) != 1
            or named not in lines[0]
            or "Traceback" in output
            or SECRET in output
        ):
            return f"{module} {' '.join(args)} with {named} {env}: exit {done.returncode}\n{output}"
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [f for f in pool.map(run, cases) if f]
    assert not failures, "\n\n".join(failures)


# --- snapshot and reconcile ----------------------------------------------------------------


def seed_legacy(engines: dict[str, Engine]) -> None:
    """Two users, a post by bob and ann's like of it; revamp ids start far from legacy's."""
    with engines["revamp"].begin() as conn:
        for table, start in (("users", 1000), ("posts", 2000), ("likes", 3000)):
            conn.execute(text(f"ALTER TABLE revamp_{table} AUTO_INCREMENT = {start}"))
    with engines["legacy"].begin() as conn:
        conn.execute(
            text(
                "INSERT INTO legacy_users (username, email, status) VALUES"
                " ('ann', 'ann@example.com', 'active'), ('bob', 'bob@example.com', 'banned')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO legacy_posts (post_title, post_content, user_id, status)"
                " SELECT 'Hello', 'first post', id, 'published' FROM legacy_users"
                " WHERE username = 'bob'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO legacy_likes (user_id, post_id) SELECT u.id, p.id"
                " FROM legacy_users u, legacy_posts p WHERE u.username = 'ann'"
            )
        )


def revamp_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "users": "SELECT id, user_name, email_address, status, source FROM revamp_users",
        "posts": "SELECT id, title, content, author_id, status FROM revamp_posts",
        "likes": "SELECT id, user_id, post_id FROM revamp_likes",
    }
    with engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(text(f"{sql} ORDER BY id"))]
            for name, sql in queries.items()
        }


def test_snapshot_from_legacy_copies_mapped_rows_once(
    tandem: Tandem, clean_engines: dict[str, Engine]
) -> None:
    seed_legacy(clean_engines)
    users_only = tandem.ok("snapshot", "--from", "legacy", "--table", "legacy_users")
    assert "legacy: copied 2, already in sync 0, skipped 0, failed 0" in users_only
    assert "2/2" in users_only and "100%" in users_only  # the table's bar, when it ends
    out = tandem.ok("snapshot", "--from", "legacy")
    assert "copied 2, already in sync 0, skipped 2" in out  # the users: done by the first run
    assert "post" in out and "like" in out
    unknown = tandem("snapshot", "--table", "nope")
    assert unknown.returncode == 2 and "--table: nope not in the mapping" in unknown.stderr
    rows = revamp_rows(clean_engines["revamp"])
    users = {row[2]: (row[0], row[1], row[3], row[4]) for row in rows["users"]}
    assert users == {
        "ann@example.com": (users["ann@example.com"][0], "ann", "Active", "sync_service"),
        "bob@example.com": (users["bob@example.com"][0], "bob", "Banned", "sync_service"),
    }
    ann, bob = users["ann@example.com"][0], users["bob@example.com"][0]
    assert ann >= 1000 and bob >= 1000  # translated, not copied: legacy's ids are 1 and 2
    [(post_id, title, content, author, status)] = rows["posts"]
    assert (title, content, author, status) == ("Hello", "first post", bob, "Published")
    assert post_id >= 2000
    [(like_id, liker, liked)] = rows["likes"]
    assert (liker, liked) == (ann, post_id) and like_id >= 3000

    again = tandem.ok("snapshot", "--from", "legacy")
    assert "copied 0" in again
    assert revamp_rows(clean_engines["revamp"]) == rows

    bogus = tandem("snapshot", "--from", "bogus")
    assert bogus.returncode == 2
    assert len(bogus.stderr.strip().splitlines()) == 1 and "--from" in bogus.stderr


def test_reconcile_finds_a_direct_change_and_repairs_it(
    tandem: Tandem, clean_engines: dict[str, Engine]
) -> None:
    seed_legacy(clean_engines)
    tandem.ok("snapshot", "--from", "legacy")
    assert "in sync" in tandem.ok("reconcile")

    with clean_engines["revamp"].begin() as conn:
        conn.execute(
            text("UPDATE revamp_users SET user_name = 'bobby' WHERE email_address = :e"),
            {"e": "bob@example.com"},
        )
        bob = conn.execute(
            text("SELECT id FROM revamp_users WHERE email_address = 'bob@example.com'")
        ).scalar_one()
    assert tandem("reconcile").returncode == 1
    done = tandem("reconcile", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["in_sync"] is False
    [difference] = report["differences"]
    assert difference["entity_type"] == "user"
    assert difference["revamp_id"] == bob
    assert "user_name" in difference["problem"] and "bobby" in difference["problem"]

    repaired = tandem.ok("reconcile", "--repair")
    assert "repaired: 1, failed: 0" in repaired
    assert f"revamp={bob}: update on legacy, because field" in repaired
    assert "last-writer-wins: revamp is newer" in repaired
    assert json.loads(tandem.ok("reconcile", "--json"))["differences"] == []
    with clean_engines["legacy"].connect() as conn:
        legacy_name = conn.execute(
            text("SELECT username FROM legacy_users WHERE email = 'bob@example.com'")
        ).scalar_one()
    assert legacy_name == "bobby"  # last-writer-wins: the direct change on revamp is newer


def test_repair_after_a_truncate_heals_every_row_and_says_why(
    tandem: Tandem, clean_engines: dict[str, Engine]
) -> None:
    seed_legacy(clean_engines)
    tandem.ok("snapshot", "--from", "legacy")
    with clean_engines["legacy"].begin() as conn:
        conn.execute(text("TRUNCATE legacy_likes, legacy_posts, legacy_users RESTART IDENTITY"))

    plan = json.loads(tandem("reconcile", "--repair", "--dry-run", "--json").stdout)
    assert plan["dry_run"] is True and plan["repaired"] is None
    assert [(a["entity_type"], a["operation"], a["side"]) for a in plan["repairs"]] == [
        ("user", "insert", "legacy"),
        ("user", "insert", "legacy"),
        ("post", "insert", "legacy"),
        ("like", "insert", "legacy"),
    ]
    assert {a["why"] for a in plan["repairs"]} == {"missing on legacy"}
    with clean_engines["legacy"].connect() as conn:  # a dry run writes nothing
        assert conn.execute(text("SELECT count(*) FROM legacy_users")).scalar_one() == 0

    done = tandem("reconcile", "--repair", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0, report
    assert report["repaired"] == 4 and [a["error"] for a in report["repairs"]] == [""] * 4
    assert all(a["healed_links"] == 1 for a in report["repairs"])  # the snapshot made one each
    assert "in sync" in tandem.ok("reconcile")
    with clean_engines["legacy"].connect() as conn:
        names = conn.execute(text("SELECT username FROM legacy_users ORDER BY username"))
        assert [row[0] for row in names] == ["ann", "bob"]


# --- dead letters --------------------------------------------------------------------------


def test_dlq_list_show_replay_purge(tandem: Tandem) -> None:
    tandem.create_topics()
    topic = tandem.topics[Platform.LEGACY][0]
    assert topic.endswith(".public.legacy_users")
    tandem.publish(topic, b'{"id": 7}', b"not json at all")
    tandem.ok("--once", module="entrypoints.consumer")

    queue = KafkaDeadLetterQueue(tandem.kafka, tandem.dlq)
    [letter] = queue.letters()
    listed = tandem.ok("dlq", "list")
    assert "1 dead letters" in listed
    [row] = [line for line in listed.splitlines() if line.startswith(f"│ {letter.id} ")]
    assert topic in row and "InvalidEventError" in row and "not JSON" in row

    shown = json.loads(tandem.ok("dlq", "show", letter.id))
    assert set(FIELDS) <= set(shown)
    assert shown["original_event"] == "not json at all"
    assert (shown["topic"], shown["offset"]) == (topic, 0)
    assert shown["error_type"] == "InvalidEventError"
    assert "not JSON" in shown["error_message"] and "Traceback" in shown["stack_trace"]
    assert isinstance(shown["retry_count"], int)
    assert datetime.fromisoformat(shown["failed_at"]).tzinfo is not None
    assert tandem("dlq", "show", "9-999").returncode == 1
    assert tandem("dlq", "replay").returncode == 2  # neither an ID nor --all

    assert "replayed 1" in tandem.ok("dlq", "replay", "--all")
    again = [r for r in read_to_end(tandem.kafka, [topic]) if r.value == b"not json at all"]
    assert [r.key for r in again] == [b'{"id": 7}', b'{"id": 7}']  # the original, and the replay
    assert "0 dead letters" in tandem.ok("dlq", "list")

    tandem.ok("--once", module="entrypoints.consumer")  # still malformed: dead-lettered again
    [second] = queue.letters()
    assert second.id != letter.id and second.offset == 1
    purging = tandem("dlq", "purge")  # stdin is not a terminal: it will not guess a yes
    assert purging.returncode == 2 and "--yes" in purging.stderr
    assert "purged 1" in tandem.ok("dlq", "purge", "--yes")
    assert "0 dead letters" in tandem.ok("dlq", "list")
    assert queue.letters() == []

    history = tandem.ok("dlq", "list", "--all")
    assert "0 dead letters, 2 resolved" in history
    assert "replayed by" in history and "purged by" in history
    shown_again = json.loads(tandem.ok("dlq", "show", letter.id))
    assert shown_again["resolution"]["how"] == "replayed"
    assert "@" in shown_again["resolution"]["by"]


def test_dlq_replay_one_and_ack_resolve_just_that_letter(tandem: Tandem) -> None:
    tandem.create_topics()
    topic = tandem.topics[Platform.LEGACY][0]
    for n in (1, 2, 3):
        tandem.publish(topic, f'{{"id": {n}}}'.encode(), f"broken {n}".encode())
    tandem.ok("--once", module="entrypoints.consumer")
    queue = KafkaDeadLetterQueue(tandem.kafka, tandem.dlq)
    first, second, third = queue.letters()

    assert "replayed 1" in tandem.ok("dlq", "replay", first.id)
    assert [held.id for held in queue.letters()] == [second.id, third.id]
    assert tandem("dlq", "replay", first.id).returncode == 1  # resolved: no longer held

    assert tandem("dlq", "ack", second.id, "--reason", " ").returncode == 2
    assert "acknowledged" in tandem.ok("dlq", "ack", second.id, "--reason", "test row, ignore")
    assert [held.id for held in queue.letters()] == [third.id]
    listed = tandem.ok("dlq", "list")
    assert "1 dead letters" in listed and second.id not in listed
    [acked] = [x for x in queue.letters(include_resolved=True) if x.id == second.id]
    assert acked.resolution is not None
    assert (acked.resolution.how, acked.resolution.reason) == ("acked", "test row, ignore")
    assert json.loads(tandem("status", "--json").stdout)["dlq_depth"] == 1


def dead_letter(topic: str, offset: int) -> DeadLetter:
    return DeadLetter(
        original_event={"op": "c"},
        key=b"1",
        topic=topic,
        partition=0,
        offset=offset,
        error_type="InvalidEventError",
        error_message="bad",
        stack_trace="",
        retry_count=0,
        failed_at="2026-01-01T00:00:00+00:00",
    )


def test_replay_all_keeps_a_letter_dead_lettered_meanwhile(tandem: Tandem) -> None:
    """`dlq replay --all` purges what it replayed, not a letter the service sent since."""
    tandem.create_topics()
    queue = KafkaDeadLetterQueue(tandem.kafka, tandem.dlq)
    try:
        queue.send(dead_letter("t", 1))
        replayed = queue.letters()
        queue.send(dead_letter("t", 2))  # while the replay runs
        assert queue.purge(replayed) == 1
        assert [held.offset for held in queue.letters()] == [2]
    finally:
        queue.close()


# --- status --------------------------------------------------------------------------------


def test_status_reports_lag_per_direction_and_dlq_depth(tandem: Tandem) -> None:
    tandem.create_topics()
    users = tandem.topics[Platform.LEGACY][0]
    tandem.publish(users, b'{"id": 1}', b"{}")
    tandem.publish(users, b'{"id": 1}', b"{}")  # same key: same partition
    queue = KafkaDeadLetterQueue(tandem.kafka, tandem.dlq)
    try:
        queue.send(dead_letter(users, 0))
    finally:
        queue.close()

    report = json.loads(tandem.ok("status", "--json"))
    assert report["healthy"] is True
    assert report["kafka"] == {"reachable": True}
    assert all(db["reachable"] for db in report["databases"].values())
    directions = report["directions"]
    assert set(directions) == {"legacy-to-revamp", "revamp-to-legacy"}
    forward = directions["legacy-to-revamp"]
    assert len(forward) == 3 * len(tandem.topics[Platform.LEGACY])  # every partition
    assert sum(p["lag"] for p in forward.values()) == 2
    assert sum(p["lag"] for p in directions["revamp-to-legacy"].values()) == 0
    assert report["dlq_depth"] == 1

    text_out = tandem.ok("status")
    assert "legacy-to-revamp" in text_out and "dlq depth: 1" in text_out
    assert "healthy: True" in text_out


def test_status_with_a_silent_broker_is_unhealthy(tandem: Tandem) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        done = tandem("status", "--json", env={"SYNC_KAFKA_BOOTSTRAP": address}, timeout=90)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["healthy"] is False
    assert report["kafka"]["reachable"] is False and address in report["kafka"]["error"]
    assert all(db["reachable"] for db in report["databases"].values())
    assert "Traceback" not in done.stderr
