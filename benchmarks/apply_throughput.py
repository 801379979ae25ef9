"""Apply throughput on the real databases: Debezium events of users and posts, per direction.

The application rows are written first (as the application would), then each row's create
event is published as Debezium would; the consumer loop of one direction at a time is timed
from its first poll until everything is applied and committed.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from sqlalchemy import Engine, select

from adapters.debezium import dumps, envelope
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.sql.tables import SchemaTables
from application.reconcile import Reconciler
from benchmarks.probes import TimedSource, TimedTarget
from benchmarks.report import Result, Target, percentiles
from benchmarks.stack import bench_container, empty_databases, server_versions
from domain.events import Operation, Platform
from domain.mapping import SchemaMapping
from entrypoints.containers import Container

NAME = "apply_throughput"
ROWS = {"full": 5000, "quick": 1000}  # users, and as many posts, on each side
CAP_S = {"full": 60.0, "quick": 30.0}  # per direction
STATUSES = {"user": ("active", "inactive", "banned"), "post": ("draft", "published", "archived")}
TARGETS = [
    Target(f"{d}.events_per_s", ">=", 500, "events/s", f"{d} apply rate")
    for d in ("legacy_to_revamp", "revamp_to_legacy")
] + [
    Target(f"{d}.batch_ms.p95", "<=", 1000, "ms", f"{d} batch p95")
    for d in ("legacy_to_revamp", "revamp_to_legacy")
]
TARGETS += [
    Target("rows_differing", "==", 0, "rows", "rows differing after"),
    Target("dead_letters", "==", 0, "events", "dead letters"),
]


def run(stack: dict[str, str], mode: str) -> Result:
    count = ROWS[mode]
    empty_databases(stack)
    metrics: dict[str, Any] = {}
    with bench_container(stack, NAME) as container:
        mapping, prefixes = container.core.mapping(), container.core.prefixes()
        dbs = container.adapters
        owned = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        messages = []
        for origin in Platform:
            rows = seed(owned[origin], origin, mapping, count)
            messages += creates(origin, prefixes[origin], mapping, rows)
        metrics["publish"] = publish(container, messages)
        for origin in Platform:
            expected = sum(1 for m in messages if m[0].startswith(f"{prefixes[origin]}."))
            label = f"{origin.value}_to_{origin.other.value}"
            metrics[label] = consume(container, origin, expected, CAP_S[mode])
        report = Reconciler(mapping, dbs.legacy_rows(), dbs.revamp_rows()).run()
        metrics["rows_compared"] = report.compared
        metrics["rows_differing"] = len(report.differences)
        metrics["dead_letters"] = container.core.stats().total("dead_lettered")
    return Result(
        name=NAME,
        title="Apply throughput on PostgreSQL and MariaDB, per direction",
        parameters={
            "users_per_side": count,
            "posts_per_side": count,
            "events_per_direction": 2 * count,
            "batch_size": container.core.settings().batch_size,
            "topic_partitions": container.core.settings().topic_partitions,
            "cap_s_per_direction": CAP_S[mode],
        },
        metrics=metrics,
        targets=TARGETS,
        notes=[
            "batch_ms: one ConsumerLoop.step (poll, apply, database COMMIT, offset commit);"
            " transaction_ms: the target transaction alone"
        ],
        servers=server_versions(stack),
    )


def seed(
    engine: Engine, platform: Platform, mapping: SchemaMapping, count: int
) -> list[tuple[str, dict[str, Any]]]:
    """Write `count` users and `count` posts as the application; return them as stored."""
    tables = SchemaTables(mapping, platform)
    users, posts = tables.of(mapping.entity("user")), tables.of(mapping.entity("post"))
    legacy, side = platform is Platform.LEGACY, platform.value
    names = ("username", "email", "post_title", "post_content", "user_id")
    if not legacy:
        names = ("user_name", "email_address", "title", "content", "author_id")
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {
                    names[0]: f"{side}_bench_{i}",
                    names[1]: f"{side}.bench.{i}@example.com",
                    "status": _status("user", i, legacy),
                }
                for i in range(count)
            ],
        )
        user_ids = list(conn.execute(select(users.c.id).order_by(users.c.id)).scalars())
        conn.execute(
            posts.insert(),
            [
                {
                    names[2]: f"Post {i} of {side}",
                    names[3]: "text " * 20,
                    names[4]: user_ids[i % len(user_ids)],
                    "status": _status("post", i, legacy),
                }
                for i in range(count)
            ],
        )
        return [
            (kind, dict(row))
            for kind, table in (("user", users), ("post", posts))
            for row in conn.execute(select(table).order_by(table.c.id)).mappings()
        ]


def _status(kind: str, i: int, legacy: bool) -> str:
    status = STATUSES[kind][i % 3]
    return status if legacy else status.title()


def creates(
    platform: Platform, prefix: str, mapping: SchemaMapping, rows: list[tuple[str, dict[str, Any]]]
) -> list[tuple[str, bytes, bytes]]:
    """Each row's create event as the Debezium connector of `platform` would publish it."""
    positions = itertools.count(1)
    ts_ms = int(time.time() * 1000)
    connector = "postgresql" if platform is Platform.LEGACY else "mysql"
    messages = []
    for entity_type, row in rows:
        entity = mapping.entity(entity_type)
        schema, table = entity.schemas.on(platform), entity.tables.on(platform)
        position = next(positions)
        source: dict[str, Any] = {
            "connector": connector,
            "name": prefix,
            "ts_ms": ts_ms,
            "db": platform.value,
            "schema": schema,
            "table": table,
        }
        if platform is Platform.LEGACY:
            source |= {"lsn": position, "txId": position}
        else:
            source |= {"file": "mysql-bin.000001", "pos": position, "row": 0}
        messages.append(
            (
                f"{prefix}.{schema}.{table}",
                json.dumps({"id": row["id"]}).encode(),
                dumps(envelope(Operation.CREATE, None, row, source, ts_ms)),
            )
        )
    return messages


def publish(container: Container, messages: list[tuple[str, bytes, bytes]]) -> dict[str, Any]:
    publisher = KafkaEventPublisher(container.adapters.kafka())
    try:
        started = time.perf_counter()
        for topic, key, value in messages:
            publisher.publish(topic, key, value)
        publisher.flush()
        elapsed = time.perf_counter() - started
    finally:
        publisher.close()
    return {
        "events": len(messages),
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(len(messages) / elapsed),
    }


def consume(container: Container, origin: Platform, expected: int, cap_s: float) -> dict[str, Any]:
    """Run one direction's loop until `expected` events are consumed and none waits."""
    loop = container.services.consumer_loop(origin=origin, assign_all=True)
    target, source = TimedTarget(loop.service.target), TimedSource(loop.source)
    loop.service.target, loop.source = target, source  # type: ignore[assignment]
    stats, direction = container.core.stats(), loop.service.direction
    steps: list[float] = []
    try:
        started = time.perf_counter()
        deadline = started + cap_s
        while True:
            began = time.perf_counter()
            if loop.step():
                steps.append(time.perf_counter() - began)
            done = stats.total(f"{direction}:consumed") >= expected and not loop.service.waiting
            if done or time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - started
    finally:
        loop.close()
    counts = stats.snapshot()
    consumed = counts.get(f"{direction}:consumed", 0)
    return {
        "events": consumed,
        "caught_up": done,
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(consumed / elapsed),
        "batch_ms": percentiles(steps),
        "transaction_ms": percentiles(target.durations),
        "offset_commit_ms": percentiles(source.durations),
        "outcomes": {
            key.split(":", 1)[1]: value
            for key, value in sorted(counts.items())
            if key.startswith(f"{direction}:") and key != f"{direction}:consumed"
        },
    }
