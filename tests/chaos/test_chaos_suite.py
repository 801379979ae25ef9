"""Randomized, seeded chaos: application writes on both sides while capture, consumers,
`tandem run`, the databases and the broker are killed, paused, added and removed; afterwards
both databases hold the same rows, each exactly once, and the DLQ is empty.

`make chaos` runs it at CHAOS_OPERATIONS=5000 with CHAOS_FAULTS=8; `make test` at a small
size. The seed is printed; CHAOS_SEED=<seed> replays the same plan; CHAOS_LOG_DIR keeps the
processes' logs."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.events import Platform
from domain.mapping import SchemaMapping
from tests.chaos.faults import Cluster, fault_plan
from tests.chaos.workload import Writer
from tests.e2e.processes import (
    TANDEM,
    read_env_file,
    run_command,
    scalar,
    topic_end_offsets,
    write_env_file,
)

pytestmark = pytest.mark.chaos

OPERATIONS = int(os.environ.get("CHAOS_OPERATIONS", "500"))
FAULTS = int(os.environ.get("CHAOS_FAULTS", "7"))
SEED = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(10**6))
DURATION_S = max(40.0, FAULTS * 11.0)  # of the workload: room for every fault to land in it
TABLES = {
    "legacy": ("legacy_users", "legacy_posts", "legacy_likes"),
    "revamp": ("revamp_users", "revamp_posts", "revamp_likes"),
}


def counts(engines: dict[str, Engine]) -> dict[str, int]:
    return {
        table: int(scalar(engines[side], f"SELECT count(*) FROM {table}"))
        for side, tables in TABLES.items()
        for table in tables
    }


def reconciled(env_file: Path) -> tuple[bool, str]:
    done = run_command([*TANDEM, "reconcile", "--json", "--env-file", str(env_file)], timeout_s=120)
    return done.returncode == 0, done.stdout[-6000:] + done.stderr[-1000:]  # which rows, how


def run_faults(cluster: Cluster, plan: list[str], rng: random.Random) -> None:
    moments = sorted(rng.uniform(0.05, 0.85) * DURATION_S for _ in plan)
    for moment, kind in zip(moments, plan, strict=True):
        wait = cluster.started + moment - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        cluster.inject(kind)


@pytest.mark.timeout(int(DURATION_S + OPERATIONS * 0.1 + 600))
def test_chaos_ends_in_sync_with_every_row_once_and_an_empty_dlq(
    running_stack: dict[str, str],
    clean_engines: dict[str, Engine],
    mapping: SchemaMapping,
    tmp_path: Path,
) -> None:
    stack_dir = running_stack.get("TANDEM_STACK_DIR")
    if not stack_dir:
        pytest.skip("the servers come from SYNC_* settings: not ours to kill")
    print(f"\nchaos seed {SEED}: {OPERATIONS} operations, {FAULTS} faults (CHAOS_SEED={SEED})")
    rng = random.Random(SEED)
    # outages of 10 s on a busy machine: a child may wait long for a parent held elsewhere
    env_file = write_env_file(
        running_stack, tmp_path, SYNC_STALL_SECONDS="20", SYNC_PARENT_WAIT_SECONDS="300"
    )
    migrated = run_command([*TANDEM, "migrate", "--env-file", str(env_file)])
    assert migrated.returncode == 0, migrated.stderr
    logs = Path(os.environ.get("CHAOS_LOG_DIR") or tmp_path)  # kept after the run when given
    logs.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(env_file, Path(stack_dir), logs, rng)
    writers = [
        Writer(clean_engines[p.value], p, mapping, SEED, OPERATIONS // 2, DURATION_S)
        for p in Platform
    ]
    plan = fault_plan(rng, FAULTS)
    cluster.note(f"plan: {', '.join(plan)}")
    cluster.start()
    try:
        faults = threading.Thread(target=run_faults, args=(cluster, plan, rng))
        for writer in writers:
            writer.thread.start()
        faults.start()
        for writer in writers:
            writer.thread.join()
        faults.join()
        cluster.note(
            "workload done: "
            + ", ".join(f"{w.platform.value} {w.done} ok / {w.failed} failed" for w in writers)
        )
        assert not cluster.exited_on_their_own(), cluster.exited_on_their_own()
        deadline, ok, report = time.monotonic() + 300, False, ""
        while not ok and time.monotonic() < deadline:
            time.sleep(5)
            ok, report = reconciled(env_file)
        cluster.note(f"quiescent: reconcile {'exit 0' if ok else 'still differs'}")
        assert ok, f"seed {SEED}: the databases differ:\n{report}"
    finally:
        cluster.stop()
    found = counts(clean_engines)
    cluster.note(f"rows: {found}")
    for legacy, revamp in zip(TABLES["legacy"], TABLES["revamp"], strict=True):
        assert found[legacy] == found[revamp], f"seed {SEED}: {legacy} vs {revamp}: {found}"
    for side, column, table in (("legacy", "post_title", "legacy_posts"),
                                ("revamp", "title", "revamp_posts")):  # fmt: skip
        distinct = scalar(clean_engines[side], f"SELECT count(DISTINCT {column}) FROM {table}")
        assert distinct == found[table], f"seed {SEED}: a post exists twice in {table}"
    dlq = read_env_file(env_file)["SYNC_DLQ_TOPIC"]
    letters = sum(n for (topic, _), n in topic_end_offsets(env_file).items() if topic == dlq)
    if letters:
        listed = run_command([*TANDEM, "dlq", "list", "--env-file", str(env_file)])
        pytest.fail(f"seed {SEED}: {letters} dead letters:\n{listed.stdout[-4000:]}")
    assert sum(found.values()) > 0
