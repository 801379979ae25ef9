"""Catch-up: a backlog of creates, updates and deletes of users, posts and likes, published on
both sides before the consumers start, children's topics first; the same events with parents'
topics first are the reference. Each direction runs as its own `entrypoints.consumer --once`
process, so its peak RSS is its own; batch times and waiting children come from its log.

Size: `TANDEM_BENCH_CATCH_UP_CHANGES` (default 1,000,000 full, 20,000 quick), both sides.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from adapters.debezium import dumps, envelope
from adapters.kafka.admin import ensure_topics
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from adapters.sql.tables import SchemaTables
from adapters.topics import change_topics
from application.reconcile import Reconciler
from benchmarks.report import Result, Target
from benchmarks.stack import bench_container, dispose, empty_databases, engines_of, server_versions
from domain.events import Operation, Platform
from domain.mapping import SchemaMapping

NAME = "catch_up"
CHANGES = {"full": 1_000_000, "quick": 20_000}
DIRECTIONS = ("legacy_to_revamp", "revamp_to_legacy")
TARGETS = [
    t
    for d in DIRECTIONS
    for t in (
        Target(f"{d}.ratio_to_parents_first", ">=", 0.8, "x", f"{d} vs parents first"),
        Target(f"{d}.peak_rss_mb", "<=", 500, "MB", f"{d} consumer peak RSS"),
        Target(f"{d}.batch_ms_growth", "<=", 1.5, "x", f"{d} last vs first batches"),
    )
] + [
    Target("rows_differing", "==", 0, "rows", "rows differing after"),
    Target("dead_letters", "==", 0, "events", "dead letters"),
]
COLUMNS = {  # user name, email, title, content, author
    Platform.LEGACY: ("username", "email", "post_title", "post_content", "user_id"),
    Platform.REVAMP: ("user_name", "email_address", "title", "content", "author_id"),
}
STATUS = {"user": ("active", "inactive"), "post": ("draft", "published")}
PAGE = 5_000


def run(stack: dict[str, str], mode: str) -> Result:
    changes = int(os.environ.get("TANDEM_BENCH_CATCH_UP_CHANGES", CHANGES[mode]))
    kept = max(10, round(changes / 8.4))  # per entity and side: 4.2 changes per kept row
    empty_databases(stack)
    metrics: dict[str, Any] = {}
    with bench_container(stack, NAME) as container, tempfile.TemporaryDirectory() as scratch:
        mapping, dlq = container.core.mapping(), container.core.settings().dlq_topic
        kafka = container.adapters.kafka()
        engines = engines_of(stack)
        try:
            for origin in Platform:
                seed(engines[origin], origin, mapping, kept)
            published = 0
            for order in ("parents_first", "children_first"):
                prefixes = {p: f"cu-{order.replace('_', '-')}-{p.value}" for p in Platform}
                published = publish(kafka, engines, mapping, prefixes, kept, order)
            metrics["events_published"] = published
            runs = {}
            for order in ("parents_first", "children_first"):
                prefixes = {p: f"cu-{order.replace('_', '-')}-{p.value}" for p in Platform}
                if order == "children_first":
                    forget_synced(engines, mapping)
                for origin in Platform:
                    label = f"{origin.value}_to_{origin.other.value}"
                    env = env_file(stack, prefixes, Path(scratch), f"{order}-{label}")
                    env.write_text(env.read_text() + f"SYNC_DLQ_TOPIC={dlq}\n")
                    runs[(order, label)] = consume(env, origin)
            for label in DIRECTIONS:
                reference = runs[("parents_first", label)]
                metrics[label] = summary(runs[("children_first", label)], reference)
            dbs = container.adapters
            report = Reconciler(mapping, dbs.legacy_rows(), dbs.revamp_rows()).run()
            metrics["rows_compared"] = report.compared
            metrics["rows_differing"] = len(report.differences)
            metrics["differences_sample"] = [str(d) for d in report.differences[:5]]
            metrics["dead_letters"] = sum(r["dead_lettered"] for r in runs.values())
        finally:
            dispose(engines)
    return Result(
        name=NAME,
        title="Catch-up of a backlog on both sides, children's topics first",
        parameters={
            "changes": published,
            "kept_rows_per_entity_and_side": kept,
            "batch_size": container.core.settings().batch_size,
            "max_waiting_in_memory": container.core.settings().max_waiting_in_memory,
        },
        metrics=metrics,
        targets=TARGETS,
        notes=[
            "per side: users, posts and likes created; 30% of users and posts updated;"
            " 10% more of each created and deleted",
            "events_per_s: children's topics published first; parents_first_events_per_s: the"
            " same events with parents' topics first, same run",
            "batch_ms_growth: (last quarter / first quarter median batch time) children first,"
            " over the same ratio parents first: 1 when waiting adds no work as the backlog"
            " drains (early batches hold users, late ones likes, so the raw ratio is not 1)",
        ],
        servers=server_versions(stack),
    )


def seed(engine: Engine, platform: Platform, mapping: SchemaMapping, kept: int) -> None:
    """`kept` users, posts (post i by user i) and likes (user i likes post i), as the
    application writes them, ids 1..kept."""
    tables = SchemaTables(mapping, platform)
    name, email, title, content, author = COLUMNS[platform]
    side, legacy = platform.value, platform is Platform.LEGACY
    rows = {
        "user": lambda i: {
            "id": i, name: f"{side}_cu_{i}", email: f"{side}.cu.{i}@example.com",
            "status": _status("user", i, legacy),
        },
        "post": lambda i: {
            "id": i, title: f"Post {i} of {side}", content: "text " * 10, author: i,
            "status": _status("post", i, legacy),
        },
        "like": lambda i: {"id": i, "user_id": i, "post_id": i},
    }  # fmt: skip
    with engine.begin() as conn:
        for kind in ("user", "post", "like"):
            table = tables.of(mapping.entity(kind))
            for start in range(1, kept + 1, PAGE):
                conn.execute(
                    table.insert(),
                    [rows[kind](i) for i in range(start, min(start + PAGE, kept + 1))],
                )
            # the ids of the rows created and deleted in the backlog were taken meanwhile
            taken = kept + kept // 10
            if legacy:
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {taken})")
                )
            else:
                conn.execute(text(f"ALTER TABLE {table.name} AUTO_INCREMENT = {taken + 1}"))


def _status(kind: str, i: int, legacy: bool) -> str:
    status = STATUS[kind][i % 2]
    return status if legacy else status.title()


def publish(
    kafka: KafkaSettings,
    engines: dict[Platform, Engine],
    mapping: SchemaMapping,
    prefixes: dict[Platform, str],
    kept: int,
    order: str,
) -> int:
    topics = [t for p in Platform for t in change_topics(mapping, p, prefixes[p])]
    ensure_topics(kafka, topics, partitions=3)
    publisher = KafkaEventPublisher(kafka)
    count = 0
    try:
        kinds = ["user", "post", "like"]
        for kind in kinds if order == "parents_first" else kinds[::-1]:
            for origin in Platform:
                for topic, key, value in events(
                    engines[origin], origin, mapping, prefixes, kind, kept
                ):
                    publisher.publish(topic, key, value)
                    count += 1
        publisher.flush()
    finally:
        publisher.close()
    return count


def events(
    engine: Engine,
    origin: Platform,
    mapping: SchemaMapping,
    prefixes: dict[Platform, str],
    kind: str,
    kept: int,
) -> Iterator[tuple[str, bytes, bytes]]:
    """One topic's backlog in log order: creates (the updated rows with their first values),
    creates of rows deleted later, updates, deletes."""
    entity = mapping.entity(kind)
    schema, table_name = entity.schemas.on(origin), entity.tables.on(origin)
    topic = f"{prefixes[origin]}.{schema}.{table_name}"
    table = SchemaTables(mapping, origin).of(entity)
    doomed = [_doomed(origin, kind, kept, j) for j in range(1, kept // 10 + 1)]
    position = iter(range(1, 10 * kept + 10))
    base_ms = int(time.time() * 1000)
    source = _source(origin, prefixes[origin], schema, table_name)

    def message(op: Operation, before: Any, after: Any, ts_ms: int) -> tuple[str, bytes, bytes]:
        row_id = (after or before)["id"]
        block = source(next(position), ts_ms)
        return (
            topic,
            json.dumps({"id": row_id}).encode(),
            dumps(envelope(op, before, after, block, ts_ms)),
        )

    updated = kind != "like"
    for row in _pages(engine, table):
        first = _earlier(row, kind, origin) if updated and row["id"] % 10 < 3 else row
        yield message(Operation.CREATE, None, first, base_ms)
    for row in doomed:
        yield message(Operation.CREATE, None, row, base_ms)
    if updated:
        for row in _pages(engine, table):
            if row["id"] % 10 < 3:
                yield message(Operation.UPDATE, None, row, base_ms + 1)
    for row in doomed:
        yield message(Operation.DELETE, row, None, base_ms + 2)


def _pages(engine: Engine, table: Any) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        with engine.connect() as conn:
            query = select(table).where(table.c.id > last).order_by(table.c.id).limit(PAGE)
            rows = [dict(r) for r in conn.execute(query).mappings()]
        if not rows:
            return
        yield from rows
        last = rows[-1]["id"]


def _earlier(row: dict[str, Any], kind: str, origin: Platform) -> dict[str, Any]:
    """The row as it was before its update: another status, one second older."""
    legacy = origin is Platform.LEGACY
    first = {**row, "status": _status(kind, row["id"] + 1, legacy)}
    if isinstance(row.get("updated_at"), datetime):
        first["updated_at"] = row["updated_at"] - timedelta(seconds=1)
    return first


def _doomed(origin: Platform, kind: str, kept: int, j: int) -> dict[str, Any]:
    """Row j of those created then deleted: no children, ids after the kept ones."""
    name, email, title, content, author = COLUMNS[origin]
    side, legacy, now = origin.value, origin is Platform.LEGACY, datetime(2026, 1, 1)
    row_id = kept + j
    if kind == "user":
        row = {name: f"{side}_gone_{j}", email: f"{side}.gone.{j}@example.com"}
        row |= {"status": _status("user", j, legacy), "updated_at": now}
    elif kind == "post":
        row = {title: f"Gone {j}", content: "text", author: j, "status": _status("post", j, legacy)}
        row |= {"updated_at": now}
    else:
        row = {"user_id": j, "post_id": j % kept + 1}
    return {"id": row_id, **row, "source": side, "created_at": now}


def _source(origin: Platform, prefix: str, schema: str, table: str) -> Any:
    connector = "postgresql" if origin is Platform.LEGACY else "mysql"

    def block(position: int, ts_ms: int) -> dict[str, Any]:
        common = {"connector": connector, "name": prefix, "ts_ms": ts_ms, "db": origin.value}
        common |= {"schema": schema, "table": table}
        if origin is Platform.LEGACY:
            return common | {"lsn": position, "txId": position}
        return common | {"file": "mysql-bin.000001", "pos": position, "row": 0}

    return block


def forget_synced(engines: dict[Platform, Engine], mapping: SchemaMapping) -> None:
    """Remove what the sync wrote and its bookkeeping; the application's rows stay."""
    for platform, engine in engines.items():
        tables = SchemaTables(mapping, platform)
        with engine.begin() as conn:
            for kind in ("like", "post", "user"):
                table = tables.of(mapping.entity(kind))
                conn.execute(table.delete().where(table.c.source == "sync_service"))
            for bookkeeping in (tables.links, tables.processed, tables.waiting):
                conn.execute(bookkeeping.delete())


def env_file(
    stack: dict[str, str], prefixes: dict[Platform, str], scratch: Path, name: str
) -> Path:
    values = {k: v for k, v in stack.items() if k.startswith("SYNC_")} | {
        "SYNC_LEGACY_TOPIC_PREFIX": prefixes[Platform.LEGACY],
        "SYNC_REVAMP_TOPIC_PREFIX": prefixes[Platform.REVAMP],
        "SYNC_HTTP_PORT": "0",
        "SYNC_LOG_FORMAT": "json",
        "SYNC_LOG_LEVEL": "INFO",
        "SYNC_STATE_DIR": str(scratch / "state"),
    }
    path = scratch / f"{name}.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def consume(env: Path, origin: Platform) -> dict[str, Any]:
    """One direction's consumer process until it has drained its topics."""
    direction = origin.direction
    log_path = env.with_suffix(".log")
    command = [sys.executable, "-m", "entrypoints.consumer", "--once"]
    command += ["--direction", direction, "--env-file", str(env)]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=_env())
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            time.sleep(0.2)
    if process.returncode != 0:
        raise RuntimeError(
            f"{direction} consumer exited {process.returncode}: {log_path.read_text()[-2000:]}"
        )
    batches, stopped = [], {}
    for line in log_path.read_text().splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        if record.get("event") == "batch handled":
            batches.append(record)
        elif record.get("event") == "sync stopped cleanly":
            stopped = record
    events = sum(b["messages"] for b in batches)
    started = _ts(batches[0]) - batches[0]["processing_time_ms"] / 1000
    elapsed = _ts(batches[-1]) - started
    return {
        "events": events,
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(events / elapsed),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "max_waiting_children": max(b["waiting"] for b in batches),
        "batch_ms": [b["processing_time_ms"] for b in batches],
        "batch_sizes": [b["messages"] for b in batches],
        "dead_lettered": sum(v for k, v in stopped.items() if k.endswith(":dead_lettered")),
    }


def _high_water_kb(pid: int) -> int:
    """The process's peak RSS so far (VmHWM). Not wait4's ru_maxrss: a child forked from this
    process inherits its high-water mark at exec, so it would report this process's size."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}


def _ts(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp()


def full_batches(measured: dict[str, Any]) -> list[float]:
    """Batch times of full batches only: the last ones of a drain are partial."""
    sizes, times = measured.pop("batch_sizes"), measured.pop("batch_ms")
    return [t for n, t in zip(sizes, times, strict=True) if n == max(sizes)]


def quarters(batches: list[float]) -> tuple[float, float]:
    quarter = max(1, len(batches) // 4)
    return statistics.median(batches[:quarter]), statistics.median(batches[-quarter:])


def summary(measured: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Late batches hold likes, early ones users: batch time is compared with the same part
    of the parents-first run, where nothing waits."""
    first, last = quarters(full_batches(measured))
    reference_first, reference_last = quarters(full_batches(reference))
    return measured | {
        "parents_first_events_per_s": reference["events_per_s"],
        "ratio_to_parents_first": round(measured["events_per_s"] / reference["events_per_s"], 2),
        "batch_ms_first_quarter_median": round(first, 1),
        "batch_ms_last_quarter_median": round(last, 1),
        "parents_first_batch_ms_first_quarter_median": round(reference_first, 1),
        "parents_first_batch_ms_last_quarter_median": round(reference_last, 1),
        "batch_ms_growth": round((last / first) / (reference_last / reference_first), 2),
    }
