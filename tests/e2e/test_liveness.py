"""Liveness: crashes in a row, members joining and leaving, a paused broker, one owner per
state, all with real processes, real signals and real servers."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.mapping_file import load_mapping
from adapters.topics import change_topics
from devstack import start_part, stop_part
from domain.events import Platform
from tests.e2e.processes import (
    CDC,
    CONSUMER,
    TANDEM,
    Process,
    execute,
    read_env_file,
    run_command,
    scalar,
    started,
    topic_end_offsets,
    wait_for,
    write_env_file,
)

pytestmark = pytest.mark.chaos


def insert_legacy_users(engine: Engine, prefix: str, count: int, per_txn: int = 10) -> None:
    """`count` users in transactions of `per_txn`, as an application would (no `source`)."""
    for start in range(0, count, per_txn):
        rows = [
            {"n": f"{prefix}{i}", "e": f"{prefix}{i}@example.com"}
            for i in range(start, min(count, start + per_txn))
        ]
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO legacy_users (username, email, status) "
                "VALUES (%(n)s, %(e)s, 'active')",
                rows,
            )


def revamp_users(engine: Engine) -> int:
    return int(scalar(engine, "SELECT count(*) FROM revamp_users"))


def distinct_revamp_emails(engine: Engine) -> int:
    return int(scalar(engine, "SELECT count(DISTINCT email_address) FROM revamp_users"))


def test_two_sigkills_of_tandem_run_within_five_seconds_lose_and_double_nothing(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    total = 3000
    args = [*TANDEM, "run", "--env-file", str(env_file)]
    writer = threading.Thread(target=insert_legacy_users, args=(legacy, "k", total))
    first = Process(args, tmp_path / "run1.log").start()
    execute(
        legacy,
        "INSERT INTO legacy_users (username, email, status) VALUES ('w', 'w@x.org', 'active')",
    )
    wait_for(lambda: revamp_users(revamp) == 1, why="sync runs", watch=first)
    execute(legacy, "DELETE FROM legacy_users")
    wait_for(lambda: revamp_users(revamp) == 0, why="the delete arrives", watch=first)
    writer.start()
    wait_for(lambda: revamp_users(revamp) >= 200, why="sync under way", watch=first)
    first.kill()
    second = Process(args, tmp_path / "run2.log").start()
    time.sleep(3)  # the second dies while joining the group the first never left
    second.kill()
    third = Process(args, tmp_path / "run3.log")
    with started(third):
        writer.join()
        wait_for(
            lambda: revamp_users(revamp) >= total,
            timeout_s=60,
            why=f"{total} users arrive within 60 s of the last restart",
            watch=third,
        )
        time.sleep(1.0)  # a duplicate would have landed by now
        assert revamp_users(revamp) == total
        assert distinct_revamp_emails(revamp) == total
        third.signal(signal.SIGTERM)
        assert third.wait(10) == 0, third.output()[-2000:]
    reconciled = run_command([*TANDEM, "reconcile", "--env-file", str(env_file)])
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def test_a_second_consumer_joining_and_leaving_delays_nothing_beyond_a_rebalance(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path
) -> None:
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    env = ["--env-file", str(env_file)]
    one_way = ["--direction", "legacy-to-revamp"]
    cdc = Process([*CDC, *env], tmp_path / "cdc.log")
    first = Process([*CONSUMER, *one_way, *env], tmp_path / "first.log")
    second = Process([*CONSUMER, *one_way, *env], tmp_path / "second.log")
    writing = threading.Event()

    def write_steadily() -> None:
        batch = 0
        while not writing.is_set():
            insert_legacy_users(legacy, f"s{batch}x", 5, per_txn=5)
            batch += 1
            time.sleep(0.1)

    writer = threading.Thread(target=write_steadily)
    with started(cdc, first):
        insert_legacy_users(legacy, "a", 50)
        wait_for(lambda: revamp_users(revamp) == 50, why="the first 50 arrive", watch=first)
        writer.start()
        try:
            second.start()
            wait_for(lambda: "partitions assigned" in second.output(), why="joins", watch=second)
            wait_for(lambda: "batch handled" in second.output(), why="it works", watch=second)
            second.signal(signal.SIGTERM)  # leaves the group on the way out
            assert second.wait(10) == 0
            time.sleep(2)  # changes keep coming after it left
        finally:
            writing.set()
            writer.join()
        expected = int(scalar(legacy, "SELECT count(*) FROM legacy_users"))
        wait_for(
            lambda: revamp_users(revamp) >= expected,
            timeout_s=30,
            why="every change within a rebalance of the last one",
            watch=first,
        )
        time.sleep(1.0)
        assert revamp_users(revamp) == distinct_revamp_emails(revamp) == expected
    assert "Traceback" not in first.output() + second.output()
    assert first.output().count("partitions assigned") >= 3  # alone, with the second, alone


def readiness(port: int) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refusal:
        return refusal.code, json.loads(refusal.read())
    except OSError:
        return 0, {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_paused_broker_makes_the_service_unready_and_sigterm_still_ends_it(
    running_stack: dict[str, str],
    clean_engines: dict[str, Engine],
    tmp_path: Path,
) -> None:
    stack_dir = running_stack.get("TANDEM_STACK_DIR")
    if not stack_dir:
        pytest.skip("the servers come from SYNC_* settings: not ours to pause")
    port = free_port()
    env_file = write_env_file(
        running_stack, tmp_path, SYNC_HTTP_PORT=str(port), SYNC_STALL_SECONDS="5"
    )
    assert run_command([*TANDEM, "migrate", "--env-file", str(env_file)]).returncode == 0
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    status = [*TANDEM, "status", "--env-file", str(env_file)]
    with started(run):
        wait_for(lambda: readiness(port)[0] == 200, why="ready once started", watch=run)
        again = run_command([*TANDEM, "run", "--env-file", str(env_file)], timeout_s=60)
        assert again.returncode == 1
        assert f"(pid {run.popen.pid}) is already running" in again.stderr  # type: ignore[union-attr]
        assert len(again.stderr.strip().splitlines()) == 1, again.stderr
        broker = stop_part(Path(stack_dir), "broker", signal.SIGSTOP)
        try:
            _code, body = wait_for(
                lambda: (r := readiness(port))[0] == 503 and r, timeout_s=30, why="unready"
            )
            assert "the broker does not answer" in json.dumps(body["failing"])
            told = run_command(status, timeout_s=90)
            assert told.returncode == 1, told.stdout
            assert "not ready" in told.stdout and "healthy: False" in told.stdout
            run.signal(signal.SIGTERM)
            assert run.wait(10) == 0, run.output()[-2000:]
        finally:
            stop_part(Path(stack_dir), "broker", signal.SIGCONT)
    assert broker is not None


def test_a_broker_restart_that_loses_its_topics_is_repaired_once_caught_up(
    running_stack: dict[str, str],
    clean_engines: dict[str, Engine],
    tmp_path: Path,
) -> None:
    stack_dir = running_stack.get("TANDEM_STACK_DIR")
    if not stack_dir:
        pytest.skip("the servers come from SYNC_* settings: not ours to restart")
    legacy, revamp = clean_engines["legacy"], clean_engines["revamp"]
    # one message per batch: what the consumer holds in hand is small, the rest waits in Kafka
    env_file = write_env_file(running_stack, tmp_path, SYNC_BATCH_SIZE="1")
    assert run_command([*TANDEM, "migrate", "--env-file", str(env_file)]).returncode == 0
    users = change_topics(load_mapping(), Platform.LEGACY, read_env_file(env_file)[
        "SYNC_LEGACY_TOPIC_PREFIX"])[0]  # fmt: skip

    def published() -> int:
        ends = topic_end_offsets(env_file)
        return sum(n for (topic, _), n in ends.items() if topic == users)

    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    with started(run):
        insert_legacy_users(legacy, "before", 1)
        wait_for(lambda: revamp_users(revamp) == 1, why="sync runs", watch=run)
        time.sleep(6)  # the watch has seen the topics' ends
        stop_part(Path(stack_dir), "mariadb", signal.SIGSTOP)
        try:
            insert_legacy_users(legacy, "lost", 5, per_txn=1)
            wait_for(lambda: published() >= 6, why="published, not applied", watch=run)
            stop_part(Path(stack_dir), "broker")  # Tansu forgets every topic
            start_part(Path(stack_dir), "broker")
        finally:
            stop_part(Path(stack_dir), "mariadb", signal.SIGCONT)
        wait_for(
            lambda: revamp_users(revamp) == 6,
            timeout_s=120,
            why="what the broker lost is repaired",
            watch=run,
        )
        repairs = [
            json.loads(line)
            for line in run.output().splitlines()
            if "repaired after the broker lost its topics" in line
        ]
        assert repairs and repairs[0]["differences"] >= 1  # the sync alone would not have it
        insert_legacy_users(legacy, "after", 1)
        wait_for(lambda: revamp_users(revamp) == 7, why="sync goes on", watch=run)
    reconciled = run_command([*TANDEM, "reconcile", "--env-file", str(env_file)])
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
